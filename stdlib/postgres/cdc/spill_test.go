package cdc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pglogrepl"
)

// TestSpillSubtransactionAbort replays a spill whose subtransactions were
// rolled back (one nested in another, and one whose child's first change
// precedes its own): their changes are dropped, relation messages kept.
func TestSpillSubtransactionAbort(t *testing.T) {
	sp := newSpill(t.TempDir(), 1)
	defer func() { _ = sp.close() }()
	add := func(xid uint32, typ byte, tag string) {
		t.Helper()
		if err := sp.add(xid, pglogrepl.LSN(sp.n+1), append([]byte{typ, 0, 0, 0, byte(xid)}, tag...)); err != nil {
			t.Fatal(err)
		}
	}
	add(1, 'R', "r1")
	add(1, 'I', "a")
	add(2, 'I', "b") // SAVEPOINT s2
	add(3, 'I', "c") //   SAVEPOINT s3
	add(3, 'R', "r2")
	add(2, 'I', "d") //   RELEASE s3
	sp.abortSub(3)   // ROLLBACK TO s2: child first, as the server sends them
	sp.abortSub(2)
	add(1, 'I', "e")
	add(5, 'I', "f") // SAVEPOINT s4, SAVEPOINT s5 (s4 has no change yet)
	add(4, 'I', "g")
	sp.abortSub(5) // ROLLBACK TO s4
	sp.abortSub(4)
	add(1, 'U', "h")
	sp.abortSub(9) // never seen: nothing to drop
	var got []string
	if err := sp.replay(func(lsn pglogrepl.LSN, data []byte) error {
		got = append(got, fmt.Sprintf("%d:%c%s", lsn, data[0], data[5:]))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if g, w := strings.Join(got, " "), "1:Rr1 2:Ia 5:Rr2 7:Ie 10:Uh"; g != w {
		t.Fatalf("replayed %s, want %s", g, w)
	}
}

func TestMergeSpans(t *testing.T) {
	got := mergeSpans([]span{{5, 9}, {1, 3}, {2, 4}, {9, 10}, {12, 13}})
	if g, w := fmt.Sprint(got), "[{1 4} {5 10} {12 13}]"; g != w {
		t.Fatalf("merged %s, want %s", g, w)
	}
}
