package enrich

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// Step is one enrich transform of one pipeline at run time. Prepare and
// Apply are called from one goroutine at a time (the pipeline's, as
// runtime.Program's contract says); Lookup is safe for concurrent use, and
// concurrent lookups of one key share one back-end call (single-flight).
type Step struct {
	cfg     Config
	now     func() time.Time
	sleep   func(time.Duration) // the wait between retries (tests replace it)
	rowType runtime.Type
	keyPath []string // the key's field, then the object keys below it
	backend backend
	// initErr is a config error New found: every lookup fails with it
	// (check refuses such configs; a hand-built one fails at run time).
	initErr error
	calls   atomic.Int64 // back-end calls (queries, requests)

	mu      sync.Mutex
	cache   *cache
	flights map[string]*flight
	waiting int // callers waiting on another's flight (tests poll it)

	// The current batch's results by key text (Prepare), so that a batch
	// never asks twice for a key however small the cache.
	batch    map[string]result
	batchErr map[string]error

	// The layout of the last schema seen and of the schema leaving the
	// step (records of one stream share one *Schema).
	layouts map[*runtime.Schema]*layout
	last    *layout
}

// layout is where the key and the into field sit in records of one schema.
type layout struct {
	in, out *runtime.Schema
	key     int // index of the key's top-level field; -1: the record lacks it
	into    int // index of the into field in out
}

// flight is one back-end call in progress; done closes when res and err
// are set.
type flight struct {
	done chan struct{}
	res  map[string]result
	err  error
}

// New returns the step of cfg, reading the time from now (nil:
// time.Now). It does not connect: the back end connects at the first
// lookup. A cfg that Validate refuses gives a step whose every lookup
// fails with that error.
func New(cfg Config, now func() time.Time) *Step {
	if now == nil {
		now = time.Now
	}
	s := &Step{
		cfg: cfg, now: now, sleep: time.Sleep,
		cache: newCache(cfg.Cache), flights: map[string]*flight{},
		batch: map[string]result{}, batchErr: map[string]error{},
		layouts: map[*runtime.Schema]*layout{},
		keyPath: strings.Split(cfg.Key, "."),
	}
	if err := cfg.Validate(); err != nil {
		s.initErr = fmt.Errorf("enrich: %w", err)
		return s
	}
	s.rowType, _ = cfg.RowType()
	if cfg.UsesPostgres() {
		s.backend = newPostgres(cfg.Postgres, s.rowType, len(cfg.Schema) > 0, &s.calls)
	} else {
		s.backend = newHTTP(cfg.HTTP, s.rowType, len(cfg.Schema) > 0, &s.calls)
	}
	return s
}

// Close releases the back end's connection. The step may be used again
// (it reconnects).
func (s *Step) Close() {
	if s.backend != nil {
		s.backend.close()
	}
}

// Calls returns the number of back-end calls so far: PostgreSQL queries,
// or HTTP requests (retries included).
func (s *Step) Calls() int64 { return s.calls.Load() }

// Prepare looks up, in one back-end call, the keys of recs that are
// neither cached nor being looked up already; Apply then reads the
// results. A failed lookup is remembered for the keys it concerned:
// Apply fails the records that have them.
func (s *Step) Prepare(recs []*runtime.Record) {
	clear(s.batch)
	clear(s.batchErr)
	var keys []runtime.Value
	seen := map[string]bool{}
	for _, r := range recs {
		k, ok := s.keyOf(r)
		if !ok {
			continue
		}
		t := keyText(k)
		if !seen[t] {
			seen[t] = true
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	res, errs := s.lookup(keys)
	for t, r := range res {
		s.batch[t] = r
	}
	for t, err := range errs {
		s.batchErr[t] = err
	}
}

// Apply merges the row found for r's key under the into field (null on a
// miss with on_miss keep), or drops r on a miss with on_miss drop. A
// failed lookup of r's key, or a miss with on_miss error, is an error
// (the caller wraps it as the stage's failure). A key not prepared is
// looked up on its own.
func (s *Step) Apply(r *runtime.Record) (keep bool, err error) {
	l := s.layout(r.Schema)
	k, ok := s.key(r, l)
	var res result
	if ok {
		t := keyText(k)
		if err := s.batchErr[t]; err != nil {
			return false, err
		}
		var prepared bool
		if res, prepared = s.batch[t]; !prepared {
			out, errs := s.lookup([]runtime.Value{k})
			if err := errs[t]; err != nil {
				return false, err
			}
			res = out[t]
		}
	}
	if !res.found {
		switch s.cfg.OnMiss {
		case OnMissDrop:
			return false, nil
		case OnMissError:
			return false, fmt.Errorf("enrich: no row for the record's key (field %s)%s", s.cfg.Key, s.nullKey(ok))
		}
	}
	v := res.row
	if !res.found {
		v = runtime.Null()
	}
	r.Schema = l.out
	if r.After != nil {
		r.After = setField(r.After, l.into, v)
	}
	if r.Before != nil {
		r.Before = setField(r.Before, l.into, v)
	}
	return true, nil
}

func (s *Step) nullKey(present bool) string {
	if present {
		return ""
	}
	return ": the key is null or missing"
}

// Process looks up r's key and applies it: Prepare and Apply for one
// record.
func (s *Step) Process(r *runtime.Record) (bool, error) {
	s.Prepare([]*runtime.Record{r})
	return s.Apply(r)
}

// Lookup returns the rows of keys (found or not) by key text, and the
// error of each key whose lookup failed. Cached keys are answered from
// the cache; a key another caller is looking up waits for that call; the
// rest go to the back end in one call.
func (s *Step) Lookup(keys []runtime.Value) (map[string]Result, map[string]error) {
	res, errs := s.lookup(keys)
	out := make(map[string]Result, len(res))
	for t, r := range res {
		out[t] = Result{Row: r.row, Found: r.found}
	}
	return out, errs
}

// Result is what a lookup found for one key.
type Result struct {
	Row   runtime.Value
	Found bool
}

func (s *Step) lookup(keys []runtime.Value) (map[string]result, map[string]error) {
	out := make(map[string]result, len(keys))
	var errs map[string]error
	fail := func(t string, err error) {
		if errs == nil {
			errs = map[string]error{}
		}
		errs[t] = err
	}
	if s.initErr != nil {
		for _, k := range keys {
			fail(keyText(k), s.initErr)
		}
		return out, errs
	}
	s.mu.Lock()
	now := s.now()
	var need []runtime.Value
	var needText []string
	wait := map[string]*flight{}
	mine := &flight{done: make(chan struct{})}
	for _, k := range keys {
		t := keyText(k)
		if _, dup := out[t]; dup || wait[t] != nil {
			continue
		}
		if r, ok := s.cache.get(t, now); ok {
			out[t] = r
			continue
		}
		if f := s.flights[t]; f != nil && f != mine {
			wait[t] = f
			continue
		}
		if s.flights[t] == mine {
			continue // a repeated key
		}
		s.flights[t] = mine
		need, needText = append(need, k), append(needText, t)
	}
	s.waiting += len(wait)
	s.mu.Unlock()

	if len(need) > 0 {
		mine.res, mine.err = s.fetch(need, needText)
		s.mu.Lock()
		now := s.now()
		for _, t := range needText {
			delete(s.flights, t)
			if mine.err == nil {
				s.cache.put(t, mine.res[t], now)
			}
		}
		s.mu.Unlock()
		close(mine.done)
		for _, t := range needText {
			if mine.err != nil {
				fail(t, mine.err)
			} else {
				out[t] = mine.res[t]
			}
		}
	}
	for t, f := range wait {
		<-f.done
		if f.err != nil {
			fail(t, f.err)
		} else {
			out[t] = f.res[t]
		}
	}
	if len(wait) > 0 {
		s.mu.Lock()
		s.waiting -= len(wait)
		s.mu.Unlock()
	}
	return out, errs
}

// fetch asks the back end for keys, retrying transient failures; a key
// the back end did not return has no row.
func (s *Step) fetch(keys []runtime.Value, texts []string) (map[string]result, error) {
	out := make(map[string]result, len(keys))
	pending, pendingText := keys, texts
	backoff := time.Duration(s.cfg.Retry.InitialBackoffMs) * time.Millisecond
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(s.cfg.TimeoutMs, 1))*time.Millisecond)
		res, err := s.backend.fetch(ctx, pending, pendingText)
		cancel()
		for t, r := range res {
			out[t] = r
		}
		if err == nil {
			for _, t := range pendingText {
				if _, ok := out[t]; !ok {
					out[t] = result{}
				}
			}
			return out, nil
		}
		var tr *transientError
		if !errors.As(err, &tr) {
			return nil, err
		}
		if attempt >= s.cfg.Retry.MaxRetries {
			if attempt == 0 {
				return nil, err
			}
			return nil, fmt.Errorf("%w (gave up after %d %s)", err, attempt, plural(attempt, "retry", "retries"))
		}
		// Ask again only for the keys without an answer.
		pending, pendingText = nil, nil
		for i, t := range texts {
			if _, ok := out[t]; !ok {
				pending, pendingText = append(pending, keys[i]), append(pendingText, t)
			}
		}
		s.sleep(backoff)
		backoff = min(backoff*2, time.Duration(max(s.cfg.Retry.MaxBackoffMs, s.cfg.Retry.InitialBackoffMs))*time.Millisecond)
	}
}

// transientError marks a failure worth retrying: no connection, a lost
// connection, a timeout, a server error.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(err error) error { return &transientError{err} }

// layout returns the layout of records of schema in.
func (s *Step) layout(in *runtime.Schema) *layout {
	if s.last != nil && s.last.in == in {
		return s.last
	}
	l := s.layouts[in]
	if l == nil {
		l = &layout{in: in, key: -1}
		var fields []runtime.Field
		if in != nil {
			l.key = in.Index(s.keyPath[0])
			fields = append(fields, in.Fields...)
		}
		f := runtime.Field{Name: s.cfg.Into, Type: s.rowType, Nullable: s.cfg.OnMiss == OnMissKeep}
		l.into = -1
		for i := range fields {
			if fields[i].Name == s.cfg.Into {
				fields[i], l.into = f, i
			}
		}
		if l.into < 0 {
			l.into = len(fields)
			fields = append(fields, f)
		}
		l.out = &runtime.Schema{Fields: fields}
		if in != nil {
			l.out.Key = in.Key
		}
		s.layouts[in] = l
	}
	s.last = l
	return l
}

// keyOf returns r's key; false when it is null or missing.
func (s *Step) keyOf(r *runtime.Record) (runtime.Value, bool) {
	return s.key(r, s.layout(r.Schema))
}

func (s *Step) key(r *runtime.Record, l *layout) (runtime.Value, bool) {
	row := r.Row()
	if l.key < 0 || l.key >= len(row) {
		return runtime.Value{}, false
	}
	v := row[l.key]
	for _, k := range s.keyPath[1:] {
		o := v.AsObject()
		if o == nil {
			return runtime.Value{}, false
		}
		v, _ = o.Get(k)
	}
	if v.IsNull() {
		return runtime.Value{}, false
	}
	return v, true
}

// keyText is the text a key is matched and cached by: a string itself,
// any other value its compact JSON (so the int 42 matches a row whose
// key column holds 42 or '42').
func keyText(v runtime.Value) string {
	switch v.Kind() {
	case runtime.KindString:
		return v.AsString()
	case runtime.KindInt:
		return strconv.FormatInt(v.AsInt(), 10) // AppendJSON's text, without its buffer
	}
	return string(runtime.AppendJSON(nil, v))
}

// setField sets row[i] = v, growing row with absent fields when it is
// shorter.
func setField(row []runtime.Value, i int, v runtime.Value) []runtime.Value {
	for len(row) <= i {
		row = append(row, runtime.Absent())
	}
	row[i] = v
	return row
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
