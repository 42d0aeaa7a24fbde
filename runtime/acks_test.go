package runtime

import (
	"math/rand/v2"
	"testing"
)

func TestAckTrackerContiguousPrefix(t *testing.T) {
	notified := 0
	tr := NewAckTracker(func() { notified++ })
	seg := func(first, last uint64) SegmentID {
		for o := first; o <= last; o++ {
			tr.Extend(Position{Offset: o})
		}
		id := tr.Current()
		tr.Hold(id)
		tr.Close()
		return id
	}
	a, b, c := seg(0, 9), seg(10, 19), seg(20, 29)
	if tr.Release(c) {
		t.Fatal("a later segment moved the position past two pending ones")
	}
	if _, ok := tr.Acked(); ok {
		t.Fatal("acked before anything completed")
	}
	if !tr.Release(a) {
		t.Fatal("the first segment completing must advance")
	}
	if p, _ := tr.Acked(); p.Offset != 9 {
		t.Fatalf("acked %d, want 9 (b is still pending)", p.Offset)
	}
	tr.Release(b)
	if p, _ := tr.Acked(); p.Offset != 29 {
		t.Fatalf("acked %d, want 29 once the gap closed", p.Offset)
	}
	if notified != 2 {
		t.Errorf("notify called %d times, want 2", notified)
	}
	if tr.Pending() != 1 {
		t.Errorf("%d segments kept, want only the open one", tr.Pending())
	}
	// A sealed segment without holds (only dropped records) completes at once.
	tr.Extend(Position{Offset: 30})
	if _, moved := tr.Close(); !moved {
		t.Error("a sealed segment with no outstanding work must complete")
	}
	// An empty segment never moves the position backwards or forwards.
	if _, moved := tr.Close(); moved {
		t.Error("an empty segment advanced the position")
	}
	if p, _ := tr.Acked(); p.Offset != 30 {
		t.Errorf("acked %d, want 30", p.Offset)
	}
}

func TestAckTrackerOpenSegmentHoldsThePosition(t *testing.T) {
	tr := NewAckTracker(nil)
	tr.Extend(Position{Offset: 1})
	id := tr.Current()
	tr.Hold(id) // e.g. a dead letter written while the segment is still open
	tr.Release(id)
	if _, ok := tr.Acked(); ok {
		t.Fatal("an open segment was acknowledged: records may still join it")
	}
	tr.Close()
	if p, ok := tr.Acked(); !ok || p.Offset != 1 {
		t.Fatalf("acked %v %v, want 1", p, ok)
	}
}

// TestAckTrackerRandomOrder releases holds in random order and checks the
// invariant after every step: the acknowledged position never passes a
// record whose segment is incomplete, and it reaches the end.
func TestAckTrackerRandomOrder(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		tr := NewAckTracker(nil)
		type held struct {
			id    SegmentID
			first uint64
		}
		var outstanding []held
		pending := map[SegmentID]int{}
		firstOf := map[SegmentID]uint64{}
		off := uint64(0)
		for range 200 {
			if rng.IntN(3) > 0 || len(outstanding) == 0 {
				// a segment of 1..5 records with 0..2 holds
				id := tr.Current()
				firstOf[id] = off
				for range 1 + rng.IntN(5) {
					tr.Extend(Position{Offset: off})
					off++
				}
				for range rng.IntN(3) {
					tr.Hold(id)
					pending[id]++
					outstanding = append(outstanding, held{id, firstOf[id]})
				}
				tr.Close()
			} else {
				i := rng.IntN(len(outstanding))
				h := outstanding[i]
				outstanding = append(outstanding[:i], outstanding[i+1:]...)
				pending[h.id]--
				tr.Release(h.id)
			}
			acked, ok := tr.Acked()
			for _, h := range outstanding {
				if ok && acked.Offset >= h.first {
					t.Fatalf("seed %d: acked %d past incomplete segment starting at %d", seed, acked.Offset, h.first)
				}
			}
		}
		for _, h := range outstanding {
			tr.Release(h.id)
		}
		if p, ok := tr.Acked(); !ok || p.Offset != off-1 {
			t.Fatalf("seed %d: final ack %d, want %d", seed, p.Offset, off-1)
		}
	}
}
