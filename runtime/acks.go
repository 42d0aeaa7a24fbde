package runtime

import "sync"

// AckTracker computes the position a pipeline may acknowledge to its
// source when the work covering its records completes out of order.
//
// Records are assigned, in the order the source produced them, to
// segments. Exactly one segment is open at a time: Extend adds a record's
// position to it, Close seals it and opens the next. Work that must finish
// before a segment's records count as delivered (a sink write, a dead
// letter) holds the segment (Hold) and releases it when it is done
// (Release). A segment is complete when it is sealed and holds nothing.
//
// The acknowledged position is the last position of the longest prefix of
// complete segments: a later segment that completes early never moves it
// past an earlier incomplete one. Segments without records are skipped.
// The tracker never looks inside a Position: it returns the one Extend
// was given, Token included, so a source gets back its own resume point.
//
// All methods are safe for concurrent use; Release is typically called
// from a sink's completion goroutine.
type AckTracker struct {
	mu    sync.Mutex
	segs  []ackSeg // segs[0] is the oldest incomplete (or open) segment
	base  SegmentID
	acked Position
	any   bool // acked is valid
	// notify, when set, is called (without the lock) after a call that
	// advanced the acknowledged position.
	notify func()
}

// SegmentID names a segment of an AckTracker.
type SegmentID uint64

type ackSeg struct {
	last    Position
	records bool
	holds   int
	sealed  bool
}

// NewAckTracker returns a tracker with one open, empty segment. notify (may
// be nil) is called whenever the acknowledged position advances.
func NewAckTracker(notify func()) *AckTracker {
	return &AckTracker{segs: []ackSeg{{}}, notify: notify}
}

// Current returns the open segment.
func (t *AckTracker) Current() SegmentID {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.base + SegmentID(len(t.segs)-1)
}

// Extend adds a record at pos to the open segment. Positions must be
// added in source order.
func (t *AckTracker) Extend(pos Position) {
	t.mu.Lock()
	s := &t.segs[len(t.segs)-1]
	s.last, s.records = pos, true
	t.mu.Unlock()
}

// Hold marks work outstanding on segment id, which must not be complete.
func (t *AckTracker) Hold(id SegmentID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := int(id - t.base)
	if id < t.base || i >= len(t.segs) {
		panic("runtime: AckTracker.Hold of a completed segment")
	}
	t.segs[i].holds++
}

// Release ends one Hold of segment id. It reports whether the
// acknowledged position advanced.
func (t *AckTracker) Release(id SegmentID) bool {
	t.mu.Lock()
	i := int(id - t.base)
	if id < t.base || i >= len(t.segs) || t.segs[i].holds == 0 {
		t.mu.Unlock()
		panic("runtime: AckTracker.Release without Hold")
	}
	t.segs[i].holds--
	return t.advance()
}

// Close seals the open segment and opens a new one, returning the sealed
// segment's id. It reports whether the acknowledged position advanced
// (the sealed segment held nothing and everything before it was complete).
func (t *AckTracker) Close() (SegmentID, bool) {
	t.mu.Lock()
	id := t.base + SegmentID(len(t.segs)-1)
	t.segs[len(t.segs)-1].sealed = true
	t.segs = append(t.segs, ackSeg{})
	return id, t.advance()
}

// advance pops complete segments off the front; called with t.mu held, it
// unlocks it.
func (t *AckTracker) advance() bool {
	moved := false
	n := 0
	for n < len(t.segs)-1 && t.segs[n].sealed && t.segs[n].holds == 0 {
		if t.segs[n].records {
			t.acked, t.any, moved = t.segs[n].last, true, true
		}
		n++
	}
	if n > 0 {
		// Shift in place; the slice stays as short as the in-flight work.
		k := copy(t.segs, t.segs[n:])
		clear(t.segs[k:])
		t.segs = t.segs[:k]
		t.base += SegmentID(n)
	}
	notify := t.notify
	t.mu.Unlock()
	if moved && notify != nil {
		notify()
	}
	return moved
}

// Acked returns the acknowledged position and whether any record has been
// acknowledged yet.
func (t *AckTracker) Acked() (Position, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.acked, t.any
}

// Pending reports the number of segments not yet complete, the open one
// included.
func (t *AckTracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.segs)
}
