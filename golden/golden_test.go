package golden

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden outputs")

// fixedNow is the clock of every golden run.
var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// known are the sections a case may have.
var known = map[string]bool{
	"pipeline.yaml": true, "env": true,
	"out/errors": true, "out/plan": true, "out/records": true, "out/run-error": true,
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases found: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runCase(t, file)
		})
	}
}

func runCase(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, f := range ar.Files {
		if !known[f.Name] {
			t.Fatalf("unknown section %q (known: %s)", f.Name, keys(known))
		}
		sections[f.Name] = string(f.Data)
	}
	cfg, ok := sections["pipeline.yaml"]
	if !ok {
		t.Fatal("case has no pipeline.yaml section")
	}
	env := parseEnv(sections["env"])
	got := outputs(t, cfg, env)

	if *update {
		var files []txtar.File
		for _, f := range ar.Files {
			if f.Name == "pipeline.yaml" || f.Name == "env" {
				files = append(files, f)
			}
		}
		for _, name := range []string{"out/errors", "out/plan", "out/run-error", "out/records"} {
			if v, ok := got[name]; ok {
				files = append(files, txtar.File{Name: name, Data: []byte(v)})
			}
		}
		ar.Files = files
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for name, want := range sections {
		if !strings.HasPrefix(name, "out/") {
			continue
		}
		if g, ok := got[name]; !ok {
			t.Errorf("%s: the case expects this output but none was produced (stale golden? run go test ./golden -update)", name)
		} else if g != want {
			t.Errorf("%s differs (run go test ./golden -update and review the diff)\n--- got ---\n%s\n--- want ---\n%s", name, g, want)
		}
	}
	for name := range got {
		if _, ok := sections[name]; !ok {
			t.Errorf("%s: produced but not in the golden file (run go test ./golden -update)", name)
		}
	}
}

// outputs compiles and runs a config the way `rivven-connect run` does,
// with a fixed clock, and returns every output section.
func outputs(t *testing.T, cfg string, env map[string]string) map[string]string {
	out := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	p, errs := compiler.Compile("pipeline.yaml", []byte(cfg), lookup)
	if len(errs) > 0 {
		out["out/errors"] = errs.Error() + "\n"
		return out
	}
	out["out/plan"] = p.Dump()
	var stdout bytes.Buffer
	pipes, err := compiler.Interpret(p, runtime.Env{Now: func() time.Time { return fixedNow }, Stdout: &stdout, Stderr: &stdout})
	if err != nil {
		out["out/run-error"] = err.Error() + "\n"
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, rp := range pipes { // one at a time, so output order is fixed
		if err := rp.Run(ctx); err != nil {
			out["out/run-error"] += err.Error() + "\n"
		}
	}
	if ctx.Err() != nil {
		t.Fatal("golden run did not finish in 20s: set max_events on every source")
	}
	out["out/records"] = stdout.String()
	return out
}

func parseEnv(s string) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	return env
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}
