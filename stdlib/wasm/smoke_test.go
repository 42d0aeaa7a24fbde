package wasm_test

import (
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm"
	"github.com/rivven/rivven-connect/stdlib/wasm/wasmtest"
)

func TestEchoSmoke(t *testing.T) {
	p := wasm.Plugin{Name: "echo", Module: runtime.File{Path: wasmtest.WAT(t, "examples/wasm/echo.wat"), Name: "echo.wasm"}, TimeoutMs: 1000}
	tr, err := wasm.NewTransform(p)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	s := runtime.NewSchema(runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}}, runtime.Field{Name: "name", Type: runtime.Type{Kind: runtime.KindString}})
	recs := []*runtime.Record{
		{Stream: "s", Schema: s, After: []runtime.Value{runtime.Int(1), runtime.String("a")}, Time: time.Unix(5, 0)},
		{Stream: "s", Schema: s, After: []runtime.Value{runtime.Int(2), runtime.String("b")}},
	}
	tr.Prepare(recs)
	for _, r := range recs {
		keep, err := tr.Apply(r)
		if err != nil || !keep {
			t.Fatalf("keep=%v err=%v", keep, err)
		}
	}
	if recs[1].After[1].AsString() != "b" || recs[0].Schema != s {
		t.Fatalf("got %+v", recs)
	}
}
