package gen_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/golden/gen"
	"github.com/rivven/rivven-connect/golden/goldentest"
	"github.com/rivven/rivven-connect/runtime"
)

// TestRuntimeSchemaStreams runs the postgres-unreachable case's programs
// (a stream whose schema is known only at run time) on records carrying
// their own schema: masks must find their fields by name and conditions
// must see every field, in both back ends — never a silent pass-through.
func TestRuntimeSchemaStreams(t *testing.T) {
	cases, err := goldentest.Load("..")
	if err != nil {
		t.Fatal(err)
	}
	var c *goldentest.Case
	for _, x := range cases {
		if x.Name == "postgres-unreachable" {
			c = x
		}
	}
	p, errs := compiler.Compile("pipeline.yaml", []byte(c.Sections["pipeline.yaml"]), c.Lookup)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	env := runtime.Env{Now: goldentest.Clock, Stdout: io.Discard, Stderr: io.Discard}
	ip, err := compiler.Interpret(p, env)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := gen.Cases["postgres-unreachable"].Build(env, c.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	str := runtime.Type{Kind: runtime.KindString}
	schema := runtime.NewSchema(
		runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}},
		runtime.Field{Name: "status", Type: str},
		runtime.Field{Name: "email", Type: str},
		runtime.Field{Name: "address", Type: runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{{Name: "street", Type: str}, {Name: "city", Type: str}}}},
		runtime.Field{Name: "name", Type: str},
		runtime.Field{Name: "tier", Type: str},
	)
	row := func(status, tier string) []runtime.Value {
		addr := runtime.NewObject(2).Set("street", runtime.String("1 Main St")).Set("city", runtime.String("Oslo"))
		return []runtime.Value{runtime.Int(7), runtime.String(status), runtime.String("ann@example.com"),
			runtime.ObjectValue(addr), runtime.String("Ann"), runtime.String(tier)}
	}
	hash := func(s string) string { h := sha256.Sum256([]byte("s4lt" + s)); return hex.EncodeToString(h[:]) }
	for _, back := range []struct {
		name string
		prog runtime.Program
	}{{"interp", ip[0].Program}, {"compiled", cp[0].Program}} {
		t.Run(back.name, func(t *testing.T) {
			upd := runtime.Record{Op: runtime.OpUpdate, Schema: schema, Before: row("active", "vip"), After: row("active", "vip")}
			keep, err := back.prog.Process(&upd)
			if err != nil || !keep {
				t.Fatalf("keep=%v err=%v", keep, err)
			}
			for _, r := range [][]runtime.Value{upd.Before, upd.After} {
				got := fmt.Sprint(r[2].AsString(), " ", r[3].AsObject().Values[0].AsString(), " ", r[3].AsObject().Values[1].AsString(), " ", r[4].AsString())
				want := fmt.Sprint(hash("ann@example.com"), " ", hash("1 Main St"), " Oslo ***")
				if got != want {
					t.Errorf("masked row = %q, want %q", got, want)
				}
			}
			plain := runtime.Record{Op: runtime.OpInsert, Schema: schema, After: row("active", "basic")}
			if keep, err := back.prog.Process(&plain); err != nil || !keep || plain.After[4].AsString() != "Ann" {
				t.Errorf("a non-vip keeps its name: keep=%v err=%v name=%q", keep, err, plain.After[4].AsString())
			}
			gone := runtime.Record{Op: runtime.OpInsert, Schema: schema, After: row("deleted", "vip")}
			if keep, err := back.prog.Process(&gone); err != nil || keep {
				t.Errorf("status deleted should be filtered out: keep=%v err=%v", keep, err)
			}
		})
	}
}
