package cdc

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// A snapshot whose connection is lost mid-way (the server ended it) is
// taken again from the start in the same run: every row arrives, those
// already delivered again with the same tokens, and the stream then
// starts at the new snapshot's position.
func TestSnapshotConnectionLossTakesTheSnapshotAgain(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	const rows = 3*snapshotChunk + 17
	var vals []string
	for i := 1; i <= rows; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'v%d')", i, i))
	}
	server.Exec(t, db, "INSERT INTO t VALUES "+strings.Join(vals, ","))
	s := open(t, config(db, "t"), nil)
	first := read(t, s, snapshotChunk/2)
	tokens := map[int64]string{}
	for _, r := range first {
		tokens[r.After[0].AsInt()] = r.Position.Token
	}
	server.Exec(t, db, fmt.Sprintf("KILL CONNECTION %d", s.snap.connID))
	server.Exec(t, db, "INSERT INTO t VALUES (100000, 'after the loss')")

	seen := map[int64]int{}
	for _, r := range first {
		seen[r.After[0].AsInt()]++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	batch := make([]runtime.Record, 64)
	for seen[100000] == 0 {
		n, err := s.Read(ctx, batch)
		if err != nil {
			t.Fatalf("after %d distinct rows: %v", len(seen), err)
		}
		for _, r := range batch[:n] {
			id := r.After[0].AsInt()
			seen[id]++
			if tok, ok := tokens[id]; ok && seen[id] == 2 && r.Position.Token != tok {
				t.Errorf("row %d came again with token %q, first %q", id, r.Position.Token, tok)
			}
		}
	}
	for i := int64(1); i <= rows; i++ {
		if seen[i] == 0 {
			t.Fatalf("row %d never arrived", i)
		}
	}
	again := 0
	for _, c := range seen {
		again += c - 1
	}
	if again == 0 {
		t.Error("nothing came twice: the snapshot was not taken again")
	}
	if seen[100000] != 1 {
		t.Errorf("the row inserted after the loss arrived %d times", seen[100000])
	}
}
