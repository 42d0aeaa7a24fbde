package s3sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rivven/rivven-connect/runtime"
)

// Sink writes records to S3 objects. It is a runtime.HoldingSink: records
// gather in a unit of open objects (one per stream, time partition and
// schema); the unit ends where Rotate says — decided by the records alone —
// and its objects are then stored together, each written once, complete
// (multipart when larger than PartSize); only then are its records
// reported durable, so the source's acknowledged position is always the
// end of a stored unit. A restart replays from there and, for a source
// that replays the same records, produces the same units: the same keys
// and the same bytes. An object whose key exists already is left alone
// when its content is the same (compared by the SHA-256 kept in its
// metadata) and is an error otherwise, so a key is never overwritten with
// other records.
type Sink struct {
	cfg      Config
	tmpl     []tmplPart
	interval time.Duration
	now      func() time.Time
	c        *codecs
	cl       *s3.Client
	target   string      // the bucket (and endpoint) as messages name it
	retried  func(error) // runtime.RetryReported; nil: not reported
	cond     condPut     // whether the server honours conditional PUTs
	log      atomic.Pointer[slog.Logger]

	// the open unit; used by the Hold goroutine only
	objs      map[group]*object
	order     []*object
	pieces    []runtime.HeldPiece
	unitStart time.Time
	scratch   []encoded
	groups    []group
	keys      groupKeys

	// storing
	ctx      context.Context // ends at Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	inflight atomic.Int32
	freed    chan struct{}
	mu       sync.Mutex
	err      error // the first unit lost
}

// object is one open object of the unit.
type object struct {
	key    string
	n      int    // records
	size   int    // encoded bytes
	data   []byte // jsonl: the lines; avro: the rows' encodings
	blocks []avroBlock
	pw     *pqWriter // parquet: the file
	avro   *avroSchema
	pq     *parquetSchema
}

type avroBlock struct{ count, end int }

// group identifies the object of the open unit a record goes to: the key
// template rendered for it without {position} and, for avro and parquet,
// its schema (nil for jsonl).
type group struct {
	key    string
	schema *runtime.Schema
}

// unit is a set of objects stored together, and the pieces of the
// driver's writes they hold.
type unit struct {
	objs   []*object
	pieces []runtime.HeldPiece
}

// maxUnits is how many units may be storing at once before Hold blocks.
const maxUnits = 2

var _ runtime.HoldingSink = (*Sink)(nil)
var _ runtime.Prober = (*Sink)(nil)
var _ runtime.RetryReported = (*Sink)(nil)

// New returns an s3 sink; now is the clock of check --connect's clock
// skew finding (nil = time.Now). It connects to nothing before Open.
func New(cfg Config, now func() time.Time) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	if cfg.Compression == "snappy" && cfg.Format == FormatJSONL {
		return nil, errors.New("s3 sink: " + SnappyJSONL) // the compiler refuses it at its position
	}
	tmpl, _ := parseTemplate(cfg.KeyTemplate)
	iv, _ := cfg.interval()
	c, err := newCodecs(&cfg)
	if err != nil {
		return nil, fmt.Errorf("s3 sink: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	target := "bucket " + cfg.Bucket
	if cfg.Endpoint != "" {
		target += " at " + cfg.Endpoint
	}
	return &Sink{cfg: cfg, tmpl: tmpl, interval: iv, now: now, c: c, target: target,
		objs: map[group]*object{}, keys: newGroupKeys(tmpl), freed: make(chan struct{}, 1)}, nil
}

// Open connects and checks that the bucket exists and answers.
func (s *Sink) Open(ctx context.Context) error {
	cl, err := newClient(ctx, &s.cfg, s.retried)
	if err != nil {
		return fmt.Errorf("s3 sink: %w", err)
	}
	s.cl = cl
	if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.cfg.Bucket}); err != nil {
		return fmt.Errorf("s3 sink: %s: %s", s.target, reason(err))
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return nil
}

// Hold implements runtime.HoldingSink: it encodes recs into the open
// unit's objects, ending the unit where Rotate says (see rotation.go).
// A record that cannot be encoded fails the whole call, taking nothing:
// every record is checked (prepare) before the first is taken.
func (s *Sink) Hold(ctx context.Context, recs []runtime.Record, piece func(int) runtime.HeldPiece) error {
	if err := s.failure(); err != nil {
		return err
	}
	for s.inflight.Load() >= maxUnits {
		select {
		case <-s.freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.prepare(recs); err != nil {
		return err
	}
	next := 0        // first record of recs not yet in a piece
	var last *object // the object of record i-1
	for i := range recs {
		r := &recs[i]
		if len(s.order) > 0 && s.interval > 0 && !r.Time.Truncate(s.interval).Equal(s.unitStart) {
			if i > next {
				s.pieces = append(s.pieces, piece(i-1))
				next = i
			}
			s.cut()
		}
		if len(s.order) == 0 {
			s.unitStart = r.Time.Truncate(s.interval)
		}
		o := last
		if o == nil || len(s.order) == 0 || s.groups[i] != s.groups[i-1] {
			if o = s.objs[s.groups[i]]; o == nil {
				o = s.newObject(r, s.groups[i])
			}
		}
		last = o
		s.add(o, r, &s.scratch[i])
		if o.n >= s.cfg.Rotate.MaxRecords || o.size >= s.cfg.Rotate.MaxBytes {
			s.pieces = append(s.pieces, piece(i))
			next = i + 1
			s.cut()
		}
	}
	if next < len(recs) {
		s.pieces = append(s.pieces, piece(len(recs)-1))
	}
	return nil
}

// prepare checks recs and readies them for their objects (see
// codecs.prepare) into s.scratch, and their objects' groups into
// s.groups, changing nothing else.
func (s *Sink) prepare(recs []runtime.Record) error {
	for len(s.scratch) < len(recs) {
		s.scratch = append(s.scratch, encoded{})
	}
	s.groups = s.groups[:0]
	for i := range recs {
		r := &recs[i]
		if r.Time.IsZero() {
			return fmt.Errorf("s3 sink: record at position %s of stream %s has no event time: objects are partitioned by event time", r.Position, r.Stream)
		}
		if err := s.c.prepare(r, &s.scratch[i]); err != nil {
			return fmt.Errorf("s3 sink: record at position %s of stream %s: %w", r.Position, r.Stream, err)
		}
		g := group{key: s.keys.of(s.tmpl, r)}
		if s.cfg.Format != FormatJSONL {
			g.schema = s.scratch[i].schema
		}
		s.groups = append(s.groups, g)
	}
	return nil
}

func (s *Sink) newObject(r *runtime.Record, g group) *object {
	key := joinKey(s.cfg.Prefix, string(render(nil, s.tmpl, r, s.c.ext(), true, r.Position)))
	o := &object{key: key}
	switch s.cfg.Format {
	case FormatAvro:
		o.avro = s.c.avro[g.schema]
		o.data = s.c.bufs.get()
	case FormatParquet:
		o.pq = s.c.parquet[g.schema]
		o.pw = o.pq.writer(bytes.NewBuffer(s.c.bufs.get()))
	default:
		o.data = s.c.bufs.get()
	}
	s.objs[g] = o
	s.order = append(s.order, o)
	return o
}

// add appends r, prepared into e, to o.
func (s *Sink) add(o *object, r *runtime.Record, e *encoded) {
	o.n++
	switch s.cfg.Format {
	case FormatParquet:
		o.size += o.pw.append(r)
	case FormatAvro:
		if len(o.blocks) == 0 || o.blockFull() {
			o.blocks = append(o.blocks, avroBlock{end: len(o.data)})
		}
		o.data = append(o.data, e.data...)
		o.size += len(e.data)
		b := &o.blocks[len(o.blocks)-1]
		b.count++
		b.end = len(o.data)
	default:
		n := len(o.data)
		o.data = s.c.appendLine(o.data, r)
		o.size += len(o.data) - n
	}
}

// blockFull reports whether the last Avro block reached avroBlockBytes.
func (o *object) blockFull() bool {
	n := len(o.blocks)
	start := 0
	if n > 1 {
		start = o.blocks[n-2].end
	}
	return o.blocks[n-1].end-start >= avroBlockBytes
}

// cut ends the open unit and starts storing it.
func (s *Sink) cut() {
	if len(s.order) == 0 {
		return
	}
	u := &unit{objs: s.order, pieces: s.pieces}
	s.order, s.pieces = nil, nil
	clear(s.objs)
	s.inflight.Add(1)
	s.wg.Add(1)
	go s.store(u)
}

// store stores every object of u, then reports u's pieces.
func (s *Sink) store(u *unit) {
	defer s.wg.Done()
	err := s.storeObjects(u.objs)
	if err != nil {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
	runtime.HeldStored(u.pieces, err)
	s.inflight.Add(-1)
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// objectsAtOnce bounds the objects of one unit uploading at once.
const objectsAtOnce = 4

func (s *Sink) storeObjects(objs []*object) error {
	errs := make([]error, len(objs))
	sem := make(chan struct{}, objectsAtOnce)
	var wg sync.WaitGroup
	for i, o := range objs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			body, err := s.c.finish(o, o.key)
			if err != nil {
				errs[i] = fmt.Errorf("s3 sink: encode s3://%s/%s: %w", s.cfg.Bucket, o.key, err)
				s.c.recycle(o, nil)
				return
			}
			errs[i] = s.put(s.ctx, o.key, body, s.c.contentType())
			if errs[i] == nil {
				// Only a stored body is surely read no more: after a
				// failure, net/http may still be writing a request's body
				// (RoundTrip returns on an early answer).
				s.c.recycle(o, body)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Sink) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Settle implements runtime.HoldingSink: it stores the open unit and
// waits until every unit is stored.
func (s *Sink) Settle(ctx context.Context) error {
	s.cut()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.failure()
}

// Write stores recs at once: it ends the open unit after them and waits
// until it is stored. The driver calls it only for dead letters and for
// on_error's record-by-record isolation after a failed Hold; such a write
// ends a unit where a replay may not, the one case where objects after a
// restart may differ from the first run's.
func (s *Sink) Write(ctx context.Context, recs []runtime.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := s.Hold(ctx, recs, func(int) runtime.HeldPiece { return runtime.HeldPiece{} }); err != nil {
		return err
	}
	return s.Settle(ctx)
}

// Close stops storing: units not yet stored are abandoned (their records
// were not acknowledged and are replayed on the next start), the open
// unit is discarded.
func (s *Sink) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.order, s.pieces = nil, nil
	clear(s.objs)
	return nil
}

// UseLogger implements runtime.Logged: the sink logs what it learns of
// the server (conditional PUTs). Called before Open.
func (s *Sink) UseLogger(l *slog.Logger) { s.log.Store(l) }

// logger is the pipeline's logger, or slog's default before UseLogger.
func (s *Sink) logger() *slog.Logger {
	if l := s.log.Load(); l != nil {
		return l
	}
	return slog.Default()
}
