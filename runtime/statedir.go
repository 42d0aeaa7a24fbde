package runtime

import (
	"errors"
	"fmt"

	"github.com/rivven/rivven-connect/runtime/state"
)

// loadState hands a Stateful source its blob, and resumes a Resumable
// source at the position saved for it (its Offset and Token, as
// Position's JSON form). Both live in state_dir on a single node, and in
// the lease under a cluster's lease (a singleton's, a scalable task's):
// the cluster's, not one node's disk, so that the node that takes over
// reads them. The resumed position is the pipeline's acknowledged
// position (Status.Acked) until the run acknowledges one of its own.
func (d *driver) loadState() error {
	sf, stateful := d.p.Source.(Stateful)
	rs, resumable := d.p.Source.(Resumable)
	var posBlob StateBlob
	switch {
	case d.lease != nil:
		if stateful {
			sf.UseState(d.lease.Blob("source"))
		}
		if resumable {
			posBlob = d.lease.Blob("position")
		}
	case d.p.Settings.StateDir == "":
		if stateful {
			sf.UseState(nil)
		}
	case stateful || resumable:
		st, err := state.Open(d.p.Settings.StateDir)
		if err != nil {
			return d.wrap("state", err)
		}
		if stateful {
			sf.UseState(stateBlob{st, d.p.Name + "\x00source"}) // file "<name>%00source.state": no pipeline key maps there
		}
		if resumable {
			posBlob = stateBlob{st, d.p.Name}
		}
	}
	if posBlob == nil {
		return nil
	}
	v, ok, err := posBlob.Get()
	if err != nil {
		return d.wrap("load state", err)
	}
	d.store, d.resumes = posBlob, true
	if !ok {
		return nil
	}
	pos, err := decodePosition(v)
	if err != nil {
		return d.wrap("load state", fmt.Errorf("%s: %w", posBlob.Where(), err))
	}
	if err := rs.Resume(pos); err != nil {
		return d.wrap("resume source at position "+pos.String()+" ("+posBlob.Where()+")", err)
	}
	d.p.acked.Store(&pos)
	return nil
}

// savePosition makes pos the pipeline's durable position.
func (d *driver) savePosition(pos Position) error {
	v, err := encodePosition(pos)
	if err != nil {
		return fmt.Errorf("%s: %w", d.store.Where(), err)
	}
	return d.store.Put(v)
}

// stateBlob is a StateBlob over one key of a state.Store.
type stateBlob struct {
	st  *state.Store
	key string
}

func (b stateBlob) Get() ([]byte, bool, error) { return b.st.Get(b.key) }
func (b stateBlob) Put(v []byte) error         { return b.st.Put(b.key, v) }
func (b stateBlob) Where() string              { return b.st.Path(b.key) }

// encodePosition returns the payload of a pipeline's state file:
// Position's JSON form, {"offset":N} or {"offset":N,"token":"…"}.
func encodePosition(p Position) ([]byte, error) { return p.MarshalJSON() }

// decodePosition reads a state file's payload: Position's JSON form, which
// includes the {"offset":N} of every earlier version.
func decodePosition(b []byte) (Position, error) {
	var p Position
	if err := p.UnmarshalJSON(b); err != nil {
		why := "state holds no position"
		if !errors.Is(err, errNoOffset) {
			why += " (" + err.Error() + ")"
		}
		return Position{}, fmt.Errorf("%s: %q", why, b)
	}
	return p, nil
}
