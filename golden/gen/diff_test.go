package gen_test

import (
	"bytes"
	"testing"

	"github.com/rivven/rivven-connect/golden/gen"
	"github.com/rivven/rivven-connect/golden/goldentest"
	"github.com/rivven/rivven-connect/runtime"
)

// TestGeneratedMatchesInterpreter runs the generated code of every golden
// case and compares its records and errors byte for byte with the
// interpreter's, which the golden files pin, and what it left in the
// servers the case lists (out/objects: the same keys with the same bytes),
// each run with servers of its own (a fresh bucket).
func TestGeneratedMatchesInterpreter(t *testing.T) {
	cases, err := goldentest.Load("..")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cases {
		if _, ok := c.Sections["out/gen.go"]; !ok {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			spec, ok := gen.Cases[c.Name]
			if !ok {
				t.Fatalf("gen/cases.go does not register %s (run go test ./golden -update)", c.Name)
			}
			run := goldentest.NewRun(t, c)
			var stdout bytes.Buffer
			pipes, err := spec.Build(runtime.Env{Now: goldentest.Clock, Stdout: &stdout, Stderr: &stdout}, run.Lookup)
			if err != nil {
				t.Fatalf("generated build: %v", err)
			}
			runErr, err := goldentest.RunAll(pipes)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := stdout.String(), c.Sections["out/records"]; got != want {
				t.Errorf("records differ from the interpreter's\n--- generated ---\n%s\n--- interpreter ---\n%s", got, want)
			}
			if got, want := runErr, c.Sections["out/run-error"]; got != want {
				t.Errorf("errors differ from the interpreter's\n--- generated ---\n%s\n--- interpreter ---\n%s", got, want)
			}
			for name, got := range run.Outputs(t) {
				if want, ok := c.Sections[name]; !ok {
					t.Errorf("%s: the generated code's run produced it, the golden file has none (run go test ./golden -update)", name)
				} else if got != want {
					t.Errorf("%s differs from the interpreter's\n--- generated ---\n%s\n--- interpreter ---\n%s", name, got, want)
				}
			}
		})
	}
	if n != len(gen.Cases) {
		t.Errorf("gen/cases.go registers %d cases, the golden files have %d with generated code", len(gen.Cases), n)
	}
	if n == 0 {
		t.Fatal("no golden case has generated code")
	}
}
