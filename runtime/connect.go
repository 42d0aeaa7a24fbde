package runtime

import (
	"context"
	"io"
)

// component is a source or sink the driver opens and closes.
type component struct {
	c interface {
		Open(ctx context.Context) error
		Close() error
	}
	what string // "source", "sink", "dead-letter sink"
	name string // its config name
	own  bool   // its opening step wins over the source's Activity
}

// open opens the source, the sink and (on_error: dead_letter) the
// dead-letter sink, in that order, and returns the ones it opened, which
// close must close whatever open returns. A component whose Open fails is
// closed at once and not returned. When that failure comes once ctx is
// done, it is a stop before the component connected: open logs it and
// returns stopped (the run ends cleanly); otherwise it returns the error.
func (d *driver) open(ctx context.Context) (opened []component, stopped bool, err error) {
	p := d.p
	all := []component{{p.Source, "source", p.SourceName, false}, {p.Sink, "sink", p.SinkName, true}}
	if p.Settings.OnError == OnErrorDeadLetter {
		all = append(all, component{p.DeadLetter, "dead-letter sink", p.Settings.DeadLetterSink, true})
	}
	for _, c := range all {
		p.setStep("opening "+c.what, c.name, c.own)
		if e := c.c.Open(ctx); e != nil {
			_ = c.c.Close()
			if ctx.Err() != nil {
				d.stoppedBeforeConnected(c.what, c.name, e)
				return opened, true, nil
			}
			return opened, false, d.wrap("open "+c.what, e)
		}
		opened = append(opened, c)
	}
	return opened, false, nil
}

// close closes opened in reverse order and returns err, or when err is
// nil the first failure to close (naming the component).
func (d *driver) close(opened []component, err error) error {
	for i := len(opened) - 1; i >= 0; i-- {
		if e := opened[i].c.Close(); e != nil && err == nil {
			err = d.wrap("close "+opened[i].what, e)
		}
	}
	if c, ok := d.p.Program.(io.Closer); ok {
		if e := c.Close(); e != nil && err == nil {
			err = d.wrap("close the transforms", e)
		}
	}
	return err
}
