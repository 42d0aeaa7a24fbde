package golden

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/emit"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/golden/goldentest"
	"github.com/rivven/rivven-connect/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden outputs and generated packages")

// known are the sections a case may have. Section servers lists the
// servers the harness runs for the case (goldentest.NewRun); out/objects
// is what server s3 holds after the run (goldentest.RenderObjects).
var known = map[string]bool{
	"pipeline.yaml": true, "pipeline.lock.yaml": true, "env": true, "servers": true,
	"out/errors": true, "out/plan": true, "out/records": true, "out/run-error": true,
	"out/gen.go": true, "out/compile-error": true, "out/objects": true,
}

// inputs are the sections a rewritten case keeps as they are.
var inputs = map[string]bool{"pipeline.yaml": true, "pipeline.lock.yaml": true, "env": true, "servers": true}

// outputOrder is the order of the output sections in a rewritten case.
var outputOrder = []string{"out/errors", "out/plan", "out/compile-error", "out/gen.go", "out/run-error", "out/records", "out/objects"}

// TestMain stops the servers golden cases started (goldentest.Main).
func TestMain(m *testing.M) { goldentest.Main(m) }

func TestGolden(t *testing.T) {
	cases, err := goldentest.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	var generated []string
	ran := map[string]bool{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			hasGen := runCase(t, c)
			ran[c.Name] = true // not reached when the case failed fatally
			if hasGen {
				generated = append(generated, c.Name)
			}
		})
	}
	// Under a -run filter the cases left out keep their generated
	// packages: -update of one case rewrites the registry for all. So do
	// the cases that failed before saying (a server did not start).
	for _, c := range cases {
		if fi, err := os.Stat(filepath.Join("gen", goldentest.PkgName(c.Name))); !ran[c.Name] && err == nil && fi.IsDir() {
			generated = append(generated, c.Name)
		}
	}
	if *update {
		if err := writeRegistry(generated); err != nil {
			t.Fatal(err)
		}
		return
	}
	checkOrphans(t, generated)
}

// runCase checks (or with -update rewrites) one case; it reports whether
// the case has generated code. The differential run of that code is in
// package gen's tests, so that -update never needs it to compile.
func runCase(t *testing.T, c *goldentest.Case) bool {
	for name := range c.Sections {
		if !known[name] {
			t.Fatalf("unknown section %q", name)
		}
	}
	cfg, ok := c.Sections["pipeline.yaml"]
	if !ok {
		t.Fatal("case has no pipeline.yaml section")
	}
	run := goldentest.NewRun(t, c)
	got, embeds := outputs(t, c, run, cfg)
	for name, v := range got {
		if leaks := run.Leaks(v); len(leaks) > 0 {
			t.Fatalf("%s shows the value of %v, which must never appear in a golden output", name, leaks)
		}
	}
	_, hasGen := got["out/gen.go"]
	if *update {
		var files []txtar.File
		for _, f := range c.Archive.Files {
			if inputs[f.Name] {
				files = append(files, f)
			}
		}
		for _, name := range outputOrder {
			if v, ok := got[name]; ok {
				files = append(files, txtar.File{Name: name, Data: []byte(v)})
			}
		}
		c.Archive.Files = files
		if err := os.WriteFile(c.File, txtar.Format(c.Archive), 0o644); err != nil {
			t.Fatal(err)
		}
		if hasGen {
			if err := writeGen(c.Name, got["out/gen.go"], embeds); err != nil {
				t.Fatal(err)
			}
		}
		return hasGen
	}
	for name, want := range c.Sections {
		if len(name) < 4 || name[:4] != "out/" {
			continue
		}
		if g, ok := got[name]; !ok {
			t.Errorf("%s: the case expects this output but none was produced (run go test ./golden -update)", name)
		} else if g != want {
			t.Errorf("%s differs (run go test ./golden -update and review the diff)\n--- got ---\n%s\n--- want ---\n%s", name, g, want)
		}
	}
	for name := range got {
		if _, ok := c.Sections[name]; !ok {
			t.Errorf("%s: produced but not in the golden file (run go test ./golden -update)", name)
		}
	}
	if hasGen {
		path := filepath.Join("gen", goldentest.PkgName(c.Name), "pipelines.go")
		if have, err := os.ReadFile(path); err != nil || string(have) != got["out/gen.go"] {
			t.Errorf("%s is stale (run go test ./golden -update)", path)
		}
		for name, data := range embeds {
			path := filepath.Join("gen", goldentest.PkgName(c.Name), name)
			if have, err := os.ReadFile(path); err != nil || !bytes.Equal(have, data) {
				t.Errorf("%s is stale (run go test ./golden -update)", path)
			}
		}
	}
	return hasGen
}

// outputs compiles and runs a config the way `rivven-connect run` does,
// with a fixed clock and run's environment and servers, and emits its Go
// code; it returns every output, and the files the generated code embeds
// (a plugin's module). What the servers hold is an output once the config
// compiled, whether the run failed or not.
func outputs(t *testing.T, c *goldentest.Case, run *goldentest.Run, cfg string) (map[string]string, map[string][]byte) {
	out := map[string]string{}
	embeds := map[string][]byte{}
	p, errs := compiler.CompileLocked("pipeline.yaml", []byte(cfg), run.Lookup, lockOf(c))
	if len(errs) > 0 {
		out["out/errors"] = errs.Error() + "\n"
		return out, embeds
	}
	out["out/plan"] = p.Dump()
	files, err := emit.Go(p, emit.Options{Package: goldentest.PkgName(c.Name), Compiler: "golden"})
	if err != nil {
		out["out/compile-error"] = err.Error() + "\n"
	} else {
		out["out/gen.go"] = string(files["pipelines.go"])
		for name, data := range files {
			if name != "pipelines.go" && name != "main.go" {
				embeds[name] = data
			}
		}
	}
	interpret(t, p, out)
	maps.Copy(out, run.Outputs(t))
	return out, embeds
}

// interpret runs plan p with the interpreter and a fixed clock, and
// stores its records and errors in out.
func interpret(t *testing.T, p *plan.Plan, out map[string]string) {
	var stdout bytes.Buffer
	pipes, err := compiler.Interpret(p, runtime.Env{Now: goldentest.Clock, Stdout: &stdout, Stderr: &stdout})
	if err != nil {
		out["out/run-error"] = err.Error() + "\n"
		return
	}
	runErr, err := goldentest.RunAll(pipes)
	if err != nil {
		t.Fatal(err)
	}
	if runErr != "" {
		out["out/run-error"] = runErr
	}
	out["out/records"] = stdout.String()
}

func writeGen(caseName, src string, embeds map[string][]byte) error {
	dir := filepath.Join("gen", goldentest.PkgName(caseName))
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range embeds {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "pipelines.go"), []byte(src), 0o644)
}

// writeRegistry rewrites gen/cases.go for the cases with generated code
// and removes generated packages of cases that no longer exist.
func writeRegistry(cases []string) error {
	sort.Strings(cases)
	var b bytes.Buffer
	b.WriteString("// Code generated by go test ./golden -update. DO NOT EDIT.\n\n")
	b.WriteString("// Package gen registers the generated code of every golden case; its\n// tests run each one against the interpreter.\npackage gen\n\nimport (\n")
	b.WriteString("\t\"github.com/rivven/rivven-connect/runtime/app\"\n\n")
	keep := map[string]bool{}
	for _, c := range cases {
		keep[goldentest.PkgName(c)] = true
		fmt.Fprintf(&b, "\t%q\n", "github.com/rivven/rivven-connect/golden/gen/"+goldentest.PkgName(c))
	}
	b.WriteString(")\n\n// Cases maps a golden case name to its compiled Spec.\nvar Cases = map[string]*app.Spec{\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "\t%q: &%s.Spec,\n", c, goldentest.PkgName(c))
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join("gen", "cases.go"), src, 0o644); err != nil {
		return err
	}
	dirs, _ := filepath.Glob(filepath.Join("gen", "*"))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && !keep[filepath.Base(d)] && filepath.Base(d) != "fuzzconds" {
			if err := os.RemoveAll(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkOrphans fails on generated packages without a golden case.
func checkOrphans(t *testing.T, cases []string) {
	keep := map[string]bool{}
	for _, c := range cases {
		keep[goldentest.PkgName(c)] = true
	}
	dirs, _ := filepath.Glob(filepath.Join("gen", "*"))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && !keep[filepath.Base(d)] && filepath.Base(d) != "fuzzconds" {
			t.Errorf("%s has no golden case (run go test ./golden -update)", d)
		}
	}
}

// lockOf is a case's schema lock (section pipeline.lock.yaml), or nil.
func lockOf(c *goldentest.Case) *compiler.LockFile {
	l, ok := c.Sections["pipeline.lock.yaml"]
	if !ok {
		return nil
	}
	return &compiler.LockFile{Name: "pipeline.lock.yaml", Data: []byte(l)}
}
