package datagen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/time/rate"

	"github.com/rivven/rivven-connect/runtime"
)

// Source is a datagen source. It implements runtime.Source and
// runtime.Schemaed.
//
// Concurrency: as runtime.Source requires, Read is called from one
// goroutine at a time; Ack (a no-op) and Schema may be called from any
// goroutine concurrently with Read. Open and Close do nothing.
//
// Datagen keeps no position: Ack commits nothing, and a restarted source
// regenerates the same records from the start of its seed (sequence 0).
type Source struct {
	gen    *generator
	schema *runtime.Schema
	stream string
	ns     string
	width  int // len(schema.Fields)
	seqPos int // position of _sequence, or -1
	tsPos  int // position of _timestamp, or -1
	custom []runtime.Value
	now    func() time.Time

	max     uint64 // 0 = unlimited
	emitted uint64 // records emitted so far
	none    bool   // a task whose share of max is empty (Split)
	seed    uint64
	pat     pattern
	eps     int // events_per_second
	// A task (Split) emits sequence numbers first, first+step, …; the
	// whole source 0, 1, ….
	first, step uint64

	cdc   *cdcState // nil outside CDC mode
	lim   *rate.Limiter
	timer *time.Timer // reused by acquire
}

var (
	_ runtime.Source   = (*Source)(nil)
	_ runtime.Schemaed = (*Source)(nil)
	_ runtime.Bounded  = (*Source)(nil)
	_ runtime.Splitter = (*Source)(nil)
)

// New returns a source for cfg, or Validate's error. now is the clock: every
// time the source produces (created_at, signup_date, the metrics timestamp,
// _timestamp, Record.Time) derives from now() and the seeded RNG, so a fixed
// clock and a fixed seed give identical records; nil means time.Now. When
// cfg.HasSeed is false the seed is now().UnixNano() at construction. Rate
// limiting uses the real clock regardless of now.
func New(cfg Config, now func() time.Time) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	p, _ := parsePattern(cfg.Pattern)
	seed := uint64(cfg.Seed)
	if !cfg.HasSeed {
		seed = uint64(now().UnixNano())
	}
	s := &Source{
		gen:    newGenerator(p, seed),
		schema: buildSchema(p, cfg),
		stream: cfg.StreamName,
		ns:     cfg.Namespace,
		seqPos: -1,
		tsPos:  -1,
		now:    now,
		max:    uint64(cfg.MaxEvents),
		seed:   seed,
		pat:    p,
		eps:    cfg.EventsPerSecond,
		step:   1,
	}
	if s.stream == "" {
		s.stream = DefaultStreamName
	}
	s.width = len(s.schema.Fields)
	pos := len(patternFields[p])
	if cfg.IncludeSequence {
		s.seqPos = pos
		pos++
	}
	if cfg.IncludeTimestamp {
		s.tsPos = pos
	}
	for _, cf := range cfg.CustomFields {
		s.custom = append(s.custom, cf.Value)
	}
	if cfg.CDCMode {
		s.cdc = &cdcState{}
	}
	if cfg.EventsPerSecond > 0 {
		// A burst of 50 ms worth of events lets high rates be met with
		// batches despite timer granularity; slow rates get burst 1.
		s.lim = rate.NewLimiter(rate.Limit(cfg.EventsPerSecond), max(1, cfg.EventsPerSecond/20))
	}
	return s, nil
}

// Expected returns MaxEvents, a task's share of it (Split), 0 =
// unbounded; it implements runtime.Bounded.
func (s *Source) Expected() uint64 { return s.max }

// Split implements runtime.Splitter: task index of count emits the
// sequence numbers index, index+count, index+2·count, … below
// max_events (together the tasks emit each sequence number once), at
// events_per_second/count, its values drawn from a stream of the seed of
// its own (so the tasks' records differ from one another's, and from
// those a single source would give the same numbers).
func (s *Source) Split(index, count int) error {
	if count < 1 || index < 0 || index >= count {
		return fmt.Errorf("datagen: task %d of %d does not exist", index, count)
	}
	if s.emitted > 0 {
		return errors.New("datagen: Split after Read")
	}
	s.first, s.step = uint64(index), uint64(count)
	if s.max > 0 {
		if s.max <= s.first {
			s.none = true
		} else {
			s.max = (s.max - s.first + s.step - 1) / s.step
		}
	}
	if count > 1 {
		s.gen = newGeneratorStream(s.pat, s.seed, uint64(index))
	}
	if s.eps > 0 {
		r := float64(s.eps) / float64(count)
		s.lim = rate.NewLimiter(rate.Limit(r), max(1, int(r/20)))
	}
	return nil
}

// Schema returns the schema shared by every record of s (see the package
// function Schema). The caller must not modify it.
func (s *Source) Schema() *runtime.Schema { return s.schema }

// Open does nothing; a datagen source needs no connection.
func (s *Source) Open(ctx context.Context) error { return nil }

// Close does nothing. It is safe to call more than once.
func (s *Source) Close() error { return nil }

// Ack does nothing: datagen keeps no position, so a restart regenerates the
// records from the seed, starting again at sequence 0.
func (s *Source) Ack(ctx context.Context, pos runtime.Position) error { return nil }

// Read fills batch[0:n] with the next n records and returns n.
//
// Without a rate limit it fills the whole batch (or up to MaxEvents). With
// one it waits for the first token, then fills further slots only while
// tokens are immediately available, so a slow rate yields small batches
// promptly. It returns ctx.Err() if ctx is done before any record is
// produced, and io.EOF once MaxEvents records have been emitted — together
// with the last records (n > 0) and on every later call (n = 0).
//
// All records of one call carry the same time, read from the clock once
// after any rate-limit wait. Read reuses the capacity of batch[i].After and
// Before. In CDC mode the
// rows kept in the live pool are copies, so the driver may reuse the slots'
// slices freely; slices of distinct slots must not alias each other.
func (s *Source) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	want := len(batch)
	if s.none {
		return 0, io.EOF
	}
	if s.max > 0 {
		left := s.max - s.emitted
		if left == 0 {
			return 0, io.EOF
		}
		if uint64(want) > left {
			want = int(left)
		}
	}
	if want == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.lim != nil {
		var err error
		if want, err = s.acquire(ctx, want); err != nil {
			return 0, err
		}
	}
	// One clock read per call: time.Now costs more than generating a
	// simple record, and a batch is generated within microseconds.
	t := s.now()
	for i := range want {
		s.fill(&batch[i], t)
	}
	if s.max > 0 && s.emitted >= s.max {
		return want, io.EOF
	}
	return want, nil
}

// acquire waits for one token of the limiter, honouring ctx, then takes up
// to want-1 more tokens that are available without waiting. It returns the
// number of tokens taken.
func (s *Source) acquire(ctx context.Context, want int) (int, error) {
	now := time.Now()
	res := s.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		if s.timer == nil {
			s.timer = time.NewTimer(d)
		} else {
			s.timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			s.timer.Stop()
			res.CancelAt(time.Now())
			return 0, ctx.Err()
		case <-s.timer.C:
		}
		now = time.Now()
	}
	n := 1
	if want > 1 {
		if extra := min(int(s.lim.TokensAt(now)), want-1); extra > 0 && s.lim.AllowN(now, extra) {
			n += extra
		}
	}
	return n, nil
}

// fill writes the next record, observed at t, into r.
func (s *Source) fill(r *runtime.Record, t time.Time) {
	seq := s.first + s.emitted*s.step
	s.emitted++
	sec := t.Unix()
	r.Stream = s.stream
	r.Namespace = s.ns
	r.Schema = s.schema
	r.Time = t
	r.Position = runtime.Position{Offset: seq}
	if s.cdc != nil {
		s.fillCDC(r, seq, sec)
		return
	}
	r.Op = runtime.OpRecord
	r.After = s.row(s.take(r.After), seq, sec)
	r.Before = nil
	r.Meta = nil
}

// row appends the full row of record seq (pattern fields, then _sequence,
// _timestamp and custom fields as configured) to dst.
func (s *Source) row(dst []runtime.Value, seq uint64, sec int64) []runtime.Value {
	dst = s.gen.row(dst, seq, sec)
	if s.seqPos >= 0 {
		dst = append(dst, runtime.Int(int64(seq)))
	}
	if s.tsPos >= 0 {
		dst = append(dst, runtime.String(s.gen.nowString(sec)))
	}
	return append(dst, s.custom...)
}
