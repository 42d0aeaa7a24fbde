package runtime

// Activity says what a source is doing now, for progress displays.
type Activity struct {
	// Doing is a short phrase: "snapshotting public.users", "streaming from LSN 0/16B3748",
	// "connecting to 127.0.0.1:5432", "waiting for a partition assignment".
	Doing string
	// Done and Total count the current step's progress when known; Total 0 = unknown.
	Done, Total int64
}

// Active is implemented by sources that can say what they are doing. Activity
// must be safe to call from any goroutine at any time, also before Open returns.
type Active interface{ Activity() Activity }

// step is what the driver itself is doing while it is not moving records.
type step struct {
	doing string
	// own: the step wins over the source's Activity (the driver is busy
	// with a sink, not with the source).
	own bool
}

func (p *Pipeline) setStep(what, name string, own bool) {
	doing := what
	if name != "" {
		doing += " " + name
	}
	p.step.Store(&step{doing: doing, own: own})
}

// Activity returns what p is doing now, for progress displays: the
// source's own Activity (see Active) while the source is what p waits for
// and has something to say, else the driver's step — "starting", "opening
// source pg", "opening sink out", "waiting for records" (running, nothing
// read yet), "retrying a failing sink write", "draining in-flight records"
// (stopping). It is empty while records flow and the source says nothing,
// and once p has ended. Safe for concurrent use.
func (p *Pipeline) Activity() Activity {
	st := State(p.state.Load())
	switch st {
	case StateStopped, StateFailed:
		return Activity{}
	case StateStopping:
		return Activity{Doing: "draining in-flight records"}
	}
	if st == StateRunning && p.retry.Load() {
		return Activity{Doing: "retrying a failing sink write"}
	}
	s := p.step.Load()
	if s != nil && s.own {
		return Activity{Doing: s.doing}
	}
	if a, ok := p.Source.(Active); ok {
		if act := a.Activity(); act.Doing != "" {
			return act
		}
	}
	switch {
	case s != nil:
		return Activity{Doing: s.doing}
	case st == StateStarting:
		return Activity{Doing: "starting"}
	case p.stats().In.Load() == 0:
		return Activity{Doing: "waiting for records"}
	}
	return Activity{}
}
