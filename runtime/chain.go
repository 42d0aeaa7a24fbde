package runtime

import "log/slog"

// BatchStep is a transform that needs a whole batch before its records
// go on (enrich: one lookup for the batch's keys; a WASM plugin: one call
// per batch). Prepare gets the batch's records that reach the step, then
// Apply gets each of them in order; Process is the step on one record
// alone (a batch of one). Steps are called from one goroutine at a time;
// Close is called once, when the pipeline ends.
type BatchStep interface {
	Prepare(recs []*Record)
	Apply(r *Record) (keep bool, err error)
	Process(r *Record) (keep bool, err error)
	Close()
}

// Chain is a pipeline's program when it has batch stages (BatchStep):
// the fused per-record function split at each of them. Both back ends build one —
// the interpreter from closures, generated code from methods — so a batch
// runs the same way in both: Segments[0] over every record, then
// Steps[0].Prepare over the records still kept (enrich: one lookup for
// the keys not cached) and Steps[0].Apply on each, then Segments[1], and so on.
// A record dropped or failed in one part goes no further.
type Chain struct {
	// Segments are the per-record functions between the steps:
	// len(Steps)+1 of them, nil where no stage is. Each returns keep=false
	// when a filter dropped the record, and failures as
	// *StageError.
	Segments []func(r *Record) (keep bool, err error)
	// Steps are the batch steps, in order.
	Steps []BatchStep
	// Names are the steps' transform names, for their failures.
	Names []string
	// Scopes[i] lists the streams Steps[i] applies to; nil (or a nil
	// Scopes) means every record. Records of other streams pass it
	// unchanged.
	Scopes [][]StreamRef

	out  []Outcome
	live []*Record
	idx  []int
}

// StreamRef is a stream and its namespace ("" when none).
type StreamRef struct{ Name, Namespace string }

var _ BatchProgram = (*Chain)(nil)

// Process runs r alone through the chain (its key looked up on its own
// unless cached): the same result as a batch of one.
func (c *Chain) Process(r *Record) (bool, error) {
	for i, seg := range c.Segments {
		if seg != nil {
			if keep, err := seg(r); err != nil || !keep {
				return keep, err
			}
		}
		if i == len(c.Steps) || !c.inScope(i, r) {
			continue
		}
		keep, err := c.Steps[i].Process(r)
		if err != nil {
			return false, &StageError{Stage: c.Names[i], Err: err}
		}
		if !keep {
			return false, nil
		}
	}
	return true, nil
}

// ProcessBatch runs recs through the chain, part by part, and returns
// each record's outcome (valid until the next call): what Process would
// have returned for it.
func (c *Chain) ProcessBatch(recs []Record) []Outcome {
	if cap(c.out) < len(recs) {
		c.out = make([]Outcome, len(recs))
	}
	out := c.out[:len(recs)]
	c.idx = c.idx[:0]
	for i := range recs {
		out[i] = Outcome{Keep: true}
		c.idx = append(c.idx, i)
	}
	for s, seg := range c.Segments {
		alive := c.idx[:0]
		for _, i := range c.idx {
			if seg != nil {
				keep, err := seg(&recs[i])
				if err != nil || !keep {
					out[i] = Outcome{Keep: keep, Err: err}
					continue
				}
			}
			alive = append(alive, i)
		}
		c.idx = alive
		if s == len(c.Steps) {
			break
		}
		step := c.Steps[s]
		c.live = c.live[:0]
		for _, i := range c.idx {
			if c.inScope(s, &recs[i]) {
				c.live = append(c.live, &recs[i])
			}
		}
		step.Prepare(c.live)
		alive = c.idx[:0]
		for _, i := range c.idx {
			r := &recs[i]
			if !c.inScope(s, r) {
				alive = append(alive, i)
				continue
			}
			keep, err := step.Apply(r)
			if err != nil {
				out[i] = Outcome{Err: &StageError{Stage: c.Names[s], Err: err}}
				continue
			}
			if !keep {
				out[i] = Outcome{}
				continue
			}
			alive = append(alive, i)
		}
		c.idx = alive
	}
	return out
}

// UseLogger hands the pipeline's logger to the steps that log (Logged).
func (c *Chain) UseLogger(l *slog.Logger) {
	for _, s := range c.Steps {
		if lg, ok := s.(Logged); ok {
			lg.UseLogger(l)
		}
	}
}

// Close closes every step (Program: the driver closes the program when
// the pipeline ends).
func (c *Chain) Close() error {
	for _, s := range c.Steps {
		s.Close()
	}
	return nil
}

func (c *Chain) inScope(i int, r *Record) bool {
	if i >= len(c.Scopes) || c.Scopes[i] == nil {
		return true
	}
	for _, s := range c.Scopes[i] {
		if s.Name == r.Stream && s.Namespace == r.Namespace {
			return true
		}
	}
	return false
}
