package runtime

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// sinkFailed applies on_error to a sink write of recs (segment id) that
// failed with err after its retries.
func (d *driver) sinkFailed(id SegmentID, recs []Record, err error) error {
	p := d.p
	if d.abort.Err() != nil {
		return d.aborted() // the write failed because the run was aborted
	}
	if p.Observer != nil {
		p.Observer.StageFailed(p.Name, "")
	}
	// A fenced write is no record's fault: no policy skips it.
	if p.Settings.OnError == OnErrorStop || errors.Is(err, ErrAborted) || errors.Is(err, ErrFenced) || d.asyncErr() != nil {
		return &RecordError{Pipeline: p.Name, Stream: recs[0].Stream, Position: recs[0].Position,
			Err: fmt.Errorf("sink write of %d records: %w", len(recs), err)}
	}
	// Isolate the records that fail: write them one at a time.
	if len(recs) > 1 {
		for i := range recs {
			one := recs[i : i+1]
			e := d.withRetry(func() error { return d.timedWrite(p.Sink, one) })
			if e == nil {
				p.stats().Out.Add(1)
				continue
			}
			if ferr := d.recordFailed(id, &recs[i], "", e, false); ferr != nil {
				return ferr
			}
		}
	} else if ferr := d.recordFailed(id, &recs[0], "", err, false); ferr != nil {
		return ferr
	}
	d.tr.Release(id)
	return nil
}

// programFailed applies on_error to a record the program failed on.
func (d *driver) programFailed(r *Record, err error) error {
	stage := ""
	var se *StageError
	if errors.As(err, &se) {
		stage = se.Stage
	}
	if d.p.Observer != nil {
		d.p.Observer.StageFailed(d.p.Name, stage)
	}
	if d.p.Settings.OnError == OnErrorStop {
		return &RecordError{Pipeline: d.p.Name, Stream: r.Stream, Position: r.Position, Err: err}
	}
	return d.recordFailed(d.tr.Current(), r, stage, err, true)
}

// recordFailed skips or dead-letters r, which belongs to segment id.
func (d *driver) recordFailed(id SegmentID, r *Record, stage string, err error, inProgram bool) error {
	p := d.p
	where := "sink"
	if stage != "" {
		where = "transform " + stage
	}
	if p.Settings.OnError == OnErrorSkip {
		p.stats().Failed.Add(1)
		if ok, suppressed := d.skipLog.allow(where); ok {
			p.logger().Warn("record skipped (on_error: skip)", "pipeline", p.Name, "where", where,
				"stream", r.Stream, "position", r.Position, "error", p.redact(err.Error()),
				"similar_suppressed", suppressed)
		}
		return nil
	}
	dl := DeadLetterRecord(r, DeadLetterInfo{
		Pipeline: p.Name, Stage: stage, Error: p.redact(err.Error()), Time: p.now(),
		Mask: maskIf(inProgram, p.Settings.DeadLetterMask),
	})
	d.tr.Hold(id)
	recs := []Record{dl}
	stream, pos := r.Stream, r.Position // r's slot may be refilled before lost runs
	werr := d.submit(p.DeadLetter, recs, func() {
		p.stats().Failed.Add(1)
		p.stats().DeadLettered.Add(1)
		d.tr.Release(id)
	}, func(e error) {
		d.fail(&RecordError{Pipeline: p.Name, Stream: stream, Position: pos, Err: fmt.Errorf("dead-letter sink %q lost the dead letter: %w", p.Settings.DeadLetterSink, e)})
	})
	if werr != nil {
		if d.abort.Err() != nil {
			return d.aborted()
		}
		return &RecordError{Pipeline: p.Name, Stream: r.Stream, Position: r.Position,
			Err: fmt.Errorf("dead-letter sink %q failed: %w (the record failed with: %v)", p.Settings.DeadLetterSink, werr, err)}
	}
	return nil
}

func maskIf(ok bool, m []string) []string {
	if ok {
		return m
	}
	return nil
}

// logLimiter lets a message of each kind through once per interval.
type logLimiter struct {
	mu         sync.Mutex
	last       map[string]time.Time
	suppressed map[string]int
}

const logInterval = 10 * time.Second

func (l *logLimiter) allow(kind string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.suppressed = map[string]time.Time{}, map[string]int{}
	}
	now := time.Now()
	if t, ok := l.last[kind]; ok && now.Sub(t) < logInterval {
		l.suppressed[kind]++
		return false, 0
	}
	n := l.suppressed[kind]
	l.last[kind], l.suppressed[kind] = now, 0
	return true, n
}
