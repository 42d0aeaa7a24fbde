package runtime

import (
	"sync"
)

// startAcker starts the goroutine that hands acknowledged positions to the
// source: the AckTracker's notify wakes it (ackCh), so Source.Ack and the
// state file write run off the processing path, one at a time. stopAcker
// stops it and waits for it; the final acknowledgement (drain) follows.
func (d *driver) startAcker() {
	done, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-d.ackCh:
				d.ack()
			case <-stop:
				return
			}
		}
	}()
	d.stopAcker = sync.OnceFunc(func() { close(stop); <-done })
}

// ack hands the tracker's acknowledged position to the source (and the
// state store) if it advanced since the last one this run sent. Only
// positions of this run are compared (by Offset, Position.Less): a
// position resumed from state_dir may come from another numbering.
func (d *driver) ack() {
	d.ackMu.Lock()
	defer d.ackMu.Unlock()
	pos, ok := d.tr.Acked()
	if !ok || (d.sent != nil && !d.sent.Less(pos)) || d.abort.Err() != nil {
		return
	}
	if d.lease != nil && d.lease.Err() != nil {
		return // lost: the run is being aborted; the new leader reads these again
	}
	if err := d.p.Source.Ack(d.wctx, pos); err != nil {
		d.fail(d.wrap("ack position "+pos.String(), err))
		return
	}
	if d.resumes {
		if err := d.savePosition(pos); err != nil {
			d.fail(d.wrap("save state", err))
			return
		}
		if sv, ok := d.p.Source.(Saver); ok {
			if err := sv.Saved(pos); err != nil {
				d.fail(d.wrap("saved position "+pos.String(), err))
				return
			}
		}
	}
	d.sent = &pos
	d.p.acked.Store(&pos)
}
