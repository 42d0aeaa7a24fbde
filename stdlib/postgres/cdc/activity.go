package cdc

import (
	"fmt"
	"sync/atomic"

	"github.com/rivven/rivven-connect/runtime"
)

// progress is what the source is doing, for runtime.Active.
type progress struct {
	doing       atomic.Pointer[string]
	done, total atomic.Int64
}

var _ runtime.Active = (*Source)(nil)

// Activity implements runtime.Active: "connecting to host:port", "creating
// replication slot s", "snapshotting public.users" with rows read and the
// server's estimate of the table's rows, "streaming from LSN 0/16B3748".
func (s *Source) Activity() runtime.Activity {
	d := s.prog.doing.Load()
	if d == nil {
		return runtime.Activity{Doing: fmt.Sprintf("connecting to %s:%d", s.cfg.Host, s.cfg.Port)}
	}
	return runtime.Activity{Doing: *d, Done: s.prog.done.Load(), Total: s.prog.total.Load()}
}

// setDoing starts a step of total units (0 unknown).
func (s *Source) setDoing(doing string, total int64) {
	s.prog.done.Store(0)
	s.prog.total.Store(total)
	s.prog.doing.Store(&doing)
}
