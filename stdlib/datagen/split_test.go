package datagen

import (
	"context"
	"io"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// The tasks of a split source emit every sequence number below
// max_events exactly once between them, each in increasing order.
func TestSplitTasksEmitEachSequenceNumberOnce(t *testing.T) {
	for _, c := range []struct{ max, tasks int }{{10, 3}, {9, 3}, {2, 4}, {1000, 7}, {5, 1}} {
		seen := map[int64]int{}
		for i := range c.tasks {
			s, err := New(Config{Pattern: "sequence", MaxEvents: int64(c.max), HasSeed: true, Seed: 1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Split(i, c.tasks); err != nil {
				t.Fatal(err)
			}
			var last int64 = -1
			batch := make([]runtime.Record, 64)
			for {
				n, err := s.Read(context.Background(), batch)
				for _, r := range batch[:n] {
					v := r.After[0].AsInt()
					if v%int64(c.tasks) != int64(i) || v <= last || int64(r.Position.Offset) != v {
						t.Fatalf("max %d tasks %d: task %d emitted %d (position %d) after %d", c.max, c.tasks, i, v, r.Position.Offset, last)
					}
					last = v
					seen[v]++
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		for v := range int64(c.max) {
			if seen[v] != 1 {
				t.Fatalf("max %d tasks %d: sequence number %d emitted %d times", c.max, c.tasks, v, seen[v])
			}
		}
		if len(seen) != c.max {
			t.Fatalf("max %d tasks %d: %d numbers emitted", c.max, c.tasks, len(seen))
		}
	}
}

func TestSplitRefusesATaskOutOfRange(t *testing.T) {
	s, err := New(Config{Pattern: "sequence"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]int{{3, 3}, {-1, 2}, {0, 0}} {
		if err := s.Split(c[0], c[1]); err == nil {
			t.Errorf("Split(%d, %d) accepted", c[0], c[1])
		}
	}
}
