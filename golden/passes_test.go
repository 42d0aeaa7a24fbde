package golden

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/interp"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/golden/goldentest"
	"github.com/rivven/rivven-connect/runtime"
)

// TestPassesChangeNothing runs every golden case with the optimisation
// passes on and off: the records and the errors (dead letters name the
// failing transform) must be the same byte for byte.
func TestPassesChangeNothing(t *testing.T) {
	cases, err := goldentest.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range cases {
		on, ok := passesOutput(t, c, plan.Options{})
		if !ok {
			continue
		}
		off, _ := passesOutput(t, c, plan.Options{NoPasses: true})
		if on != off {
			t.Errorf("%s: the passes change the output\n--- with ---\n%s\n--- without ---\n%s", c.Name, on, off)
		}
		ran++
	}
	if ran < 20 {
		t.Fatalf("only %d golden cases ran", ran)
	}
}

// passesOutput checks and runs c's config with opts (a fresh run: the
// servers c lists get an empty bucket) and returns its records, errors and
// what the servers hold; false when the config has errors.
func passesOutput(t *testing.T, c *goldentest.Case, opts plan.Options) (string, bool) {
	cfg, ok := c.Sections["pipeline.yaml"]
	if !ok {
		return "", false
	}
	run := goldentest.NewRun(t, c)
	f, errs := config.Parse("pipeline.yaml", []byte(cfg), run.Lookup)
	if f == nil || len(errs) > 0 {
		return "", false
	}
	var l *lock.Lock
	if lf := lockOf(c); lf != nil {
		if l, errs = lock.Parse(lf.Name, lf.Data); len(errs) > 0 {
			return "", false
		}
	}
	checked, errs := check.Check(f, l)
	if len(errs) > 0 {
		return "", false
	}
	out := runPlan(t, plan.Build(checked, opts))
	servers := run.Outputs(t)
	for _, k := range slices.Sorted(maps.Keys(servers)) {
		out += "-- " + k + " --\n" + servers[k]
	}
	return out, true
}

// runPlan runs p with the interpreter and returns its records and errors.
func runPlan(t *testing.T, p *plan.Plan) string {
	var out bytes.Buffer
	pipes, err := interp.New(p, runtime.Env{Now: goldentest.Clock, Stdout: &out, Stderr: &out})
	if err != nil {
		return "instantiate: " + err.Error()
	}
	runErr, err := goldentest.RunAll(pipes)
	if err != nil {
		t.Fatal(err)
	}
	return out.String() + runErr
}
