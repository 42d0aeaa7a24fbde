package wasm_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm"
	"github.com/rivven/rivven-connect/stdlib/wasm/wasmtest"
)

func counter(t *testing.T, limit int) wasm.Plugin {
	o := runtime.NewObject(1).Set("limit", runtime.Int(int64(limit)))
	return wasm.Plugin{Name: "counter", Module: runtime.File{Path: wasmtest.Go(t, "examples/wasm/counter"), Name: "counter.wasm"},
		Config: runtime.ObjectValue(o), TimeoutMs: 20000, CacheDir: cacheDir(t), StateDir: t.TempDir()}
}

func read(t *testing.T, s *wasm.Source, n int) []runtime.Record {
	t.Helper()
	var out []runtime.Record
	buf := make([]runtime.Record, 4)
	for len(out) < n {
		k, err := s.Read(context.Background(), buf[:min(len(buf), n-len(out))])
		out = append(out, buf[:k]...)
		if err != nil {
			if err == io.EOF {
				return out
			}
			t.Fatal(err)
		}
	}
	return out
}

// A plugin source's records carry the plugin's positions; after an
// acknowledgement and a restart (Resume, as the driver does with the
// state file), it goes on after the acknowledged record.
func TestSourceResumesAfterAck(t *testing.T) {
	p := counter(t, 0)
	s, err := wasm.NewSource(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := read(t, s, 10)
	for i, r := range recs {
		if r.Stream != "counter" || r.After[0].AsInt() != int64(i) || r.Position.Token != strings.TrimSpace(string(rune('0'+i))) {
			t.Fatalf("record %d: %s %v %v", i, r.Stream, r.After, r.Position)
		}
		if r.Schema.Fields[0].Type.Kind != runtime.KindInt || len(r.Schema.Key) != 1 {
			t.Fatalf("record %d has schema %v key %v; want the manifest's", i, r.Schema.Names(), r.Schema.Key)
		}
	}
	acked := recs[5].Position
	if err := s.Ack(context.Background(), acked); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(p.StateDir, "plugins", "counter.state.json"))
	if err != nil || !strings.Contains(string(b), "last_acked") {
		t.Fatalf("the plugin's state: %s %v", b, err)
	}

	s2, err := wasm.NewSource(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Resume(acked); err != nil {
		t.Fatal(err)
	}
	if err := s2.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := read(t, s2, 1)
	if got := next[0].After[0].AsInt(); got != 6 {
		t.Fatalf("after a restart at position %s the source gave n=%d; want 6", acked.Token, got)
	}
	if !acked.Less(next[0].Position) {
		t.Fatalf("offsets went back: %v then %v", acked, next[0].Position)
	}
}

// A source with a limit ends (io.EOF) after its last record.
func TestSourceEnds(t *testing.T) {
	s, err := wasm.NewSource(counter(t, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, 100); len(got) != 3 {
		t.Fatalf("%d records; want 3", len(got))
	}
}

// A plugin used in a role its manifest does not say is refused.
func TestKindMismatchRefused(t *testing.T) {
	_, err := wasm.NewTransform(counter(t, 0))
	if err == nil || !strings.Contains(err.Error(), `plugin "counter" is a source`) {
		t.Fatalf("%v", err)
	}
}

// The sink plugin writes what the host sends, through its mount.
func TestSinkWritesThroughMount(t *testing.T) {
	dir := t.TempDir()
	o := runtime.NewObject(1).Set("path", runtime.String("/out/records.jsonl"))
	p := wasm.Plugin{Name: "jsonl", Module: runtime.File{Path: wasmtest.Go(t, "examples/wasm/jsonl"), Name: "jsonl.wasm"},
		Config: runtime.ObjectValue(o), TimeoutMs: 20000, CacheDir: cacheDir(t), Mounts: []wasm.Mount{{Host: dir, Guest: "/out"}}}
	s, err := wasm.NewSink(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var recs []runtime.Record
	for _, r := range records(3) {
		recs = append(recs, *r)
	}
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%q", b)
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &row); err != nil || row["id"] != float64(2) || row["name"] != "name-2" {
		t.Fatalf("line %q: %v", lines[2], err)
	}
}

// A plugin that exchanges JSON batches (manifest encoding json) gives the
// same records as the same plugin on binary batches.
func TestJSONEncodingMatchesBinary(t *testing.T) {
	cfg := runtime.ObjectValue(runtime.NewObject(2).Set("from", runtime.String("name")).Set("to", runtime.String("label")))
	var outs [2][]*runtime.Record
	for i, pkg := range []string{"examples/wasm/rename", "stdlib/wasm/testdata/jsonrename"} {
		p := wasm.Plugin{Name: "r", Module: runtime.File{Path: wasmtest.Go(t, pkg), Name: pkg}, Config: cfg, TimeoutMs: 20000, CacheDir: cacheDir(t)}
		tr, err := wasm.NewTransform(p)
		if err != nil {
			t.Fatal(err)
		}
		recs := records(3)
		_, errs := batch(tr, recs)
		tr.Close()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		outs[i] = recs
	}
	for i := range outs[0] {
		a, b := outs[0][i], outs[1][i]
		an, bn := strings.Join(a.Schema.Names(), ","), strings.Join(b.Schema.Names(), ",")
		aj := string(runtime.AppendJSONRow(nil, a.Schema, a.After, "", 0))
		bj := string(runtime.AppendJSONRow(nil, b.Schema, b.After, "", 0))
		if an != "id,label" || an != bn || aj != bj {
			t.Fatalf("record %d: binary %s %s, json %s %s", i, an, aj, bn, bj)
		}
	}
}

// A source whose manifest says splits (the counter example) reads only
// its task's share: the tasks' shares together are the whole count, each
// number once; a task resumes within its share.
func TestSplitSourceReadsItsTasksShare(t *testing.T) {
	p := counter(t, 10)
	seen := map[int64]int{}
	for i := range 3 {
		s, err := wasm.NewSource(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Split(i, 3); err != nil {
			t.Fatal(err)
		}
		if err := s.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		last := int64(-1)
		for _, r := range read(t, s, 100) {
			n := r.After[0].AsInt()
			if n%3 != int64(i) || n <= last {
				t.Fatalf("task %d read %d after %d", i, n, last)
			}
			last = n
			seen[n]++
		}
		s.Close()
	}
	for n := range int64(10) {
		if seen[n] != 1 {
			t.Fatalf("number %d read %d times by the tasks (all: %v)", n, seen[n], seen)
		}
	}
	s, err := wasm.NewSource(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Split(1, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Resume(runtime.Position{Token: "4"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range read(t, s, 100) {
		got = append(got, r.After[0].AsInt())
	}
	if len(got) != 1 || got[0] != 7 {
		t.Fatalf("task 1 resumed after 4 read %v, want [7]", got)
	}
}
