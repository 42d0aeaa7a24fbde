package gen_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/golden/gen"
	"github.com/rivven/rivven-connect/golden/goldentest"
	"github.com/rivven/rivven-connect/runtime"
)

// TestLockedStreamsTypedEqualsByName feeds change events of both streams
// of the lock-multi-stream case through three programs: the interpreter
// with the schema lock (typed, one scoped stage per stream), the compiled
// code of the same plan, and the interpreter without the lock (by name,
// expr's VM, scoped by stream name). All three keep, drop and mask the
// same records.
func TestLockedStreamsTypedEqualsByName(t *testing.T) {
	cases, err := goldentest.Load("..")
	if err != nil {
		t.Fatal(err)
	}
	var c *goldentest.Case
	for _, x := range cases {
		if x.Name == "lock-multi-stream" {
			c = x
		}
	}
	if c == nil {
		t.Fatal("no golden case lock-multi-stream")
	}
	cfg := []byte(c.Sections["pipeline.yaml"])
	env := runtime.Env{Now: goldentest.Clock, Stdout: io.Discard, Stderr: io.Discard}
	program := func(lf *compiler.LockFile) runtime.Program {
		p, errs := compiler.CompileLocked("pipeline.yaml", cfg, c.Lookup, lf)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		pipes, err := compiler.Interpret(p, env)
		if err != nil {
			t.Fatal(err)
		}
		return pipes[0].Program
	}
	typed := program(&compiler.LockFile{Name: "pipeline.lock.yaml", Data: []byte(c.Sections["pipeline.lock.yaml"])})
	byName := program(nil)
	compiled, err := gen.Cases["lock-multi-stream"].Build(env, c.Lookup)
	if err != nil {
		t.Fatal(err)
	}

	field := func(name string, k runtime.Kind) runtime.Field {
		return runtime.Field{Name: name, Type: runtime.Type{Kind: k}, Nullable: true}
	}
	orders := runtime.NewSchema(field("id", runtime.KindInt), field("total", runtime.KindFloat), field("email", runtime.KindString))
	users := runtime.NewSchema(field("id", runtime.KindInt), field("email", runtime.KindString), field("age", runtime.KindInt))
	records := func() []runtime.Record {
		var out []runtime.Record
		for i := range 60 {
			email := runtime.String(fmt.Sprintf("p%d@example.com", i))
			if i%7 == 0 {
				email = runtime.Null()
			}
			out = append(out,
				runtime.Record{Stream: "orders", Namespace: "sales", Op: runtime.OpInsert, Schema: orders,
					After: []runtime.Value{runtime.Int(int64(i)), runtime.Float(float64(i) * 4.5), email}},
				runtime.Record{Stream: "users", Namespace: "public", Op: runtime.OpUpdate, Schema: users,
					Before: []runtime.Value{runtime.Int(int64(i)), email, runtime.Int(int64(i % 30))},
					After:  []runtime.Value{runtime.Int(int64(i)), email, runtime.Int(int64(i%30 + 1))}},
			)
		}
		return out
	}
	run := func(prog runtime.Program) string {
		var out []byte
		for _, r := range records() {
			keep, err := prog.Process(&r)
			out = fmt.Appendf(out, "%s.%s keep=%v err=%v", r.Namespace, r.Stream, keep, err)
			for _, row := range [][]runtime.Value{r.Before, r.After} {
				for _, v := range row {
					out = fmt.Appendf(out, " %s", runtime.AppendJSON(nil, v))
				}
				out = append(out, " |"...)
			}
			out = append(out, '\n')
		}
		return string(out)
	}
	want := run(byName)
	for name, prog := range map[string]runtime.Program{"typed": typed, "compiled": compiled[0].Program} {
		if got := run(prog); got != want {
			t.Errorf("%s differs from by-name:\n%s\n--- by name ---\n%s", name, got, want)
		}
	}
	if n := countKept(want); n == 0 || n == 120 {
		t.Errorf("kept %d of 120: the filters decide nothing\n%s", n, want)
	}
}

func countKept(s string) int {
	n := 0
	for i := 0; i+9 <= len(s); i++ {
		if s[i:i+9] == "keep=true" {
			n++
		}
	}
	return n
}
