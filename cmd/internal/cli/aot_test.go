package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const aotConfig = `version: "1.0"
sources:
  orders:
    connector: datagen
    config: {pattern: orders, events_per_second: 0, max_events: "${MAX_EVENTS:-40}", seed: 42}
transforms:
  big: {type: filter, config: {condition: 'total_amount > 100 && upper(status) != "CANCELLED"'}}
  pii: {type: field-mask, config: {fields: [customer_id], strategy: hash, salt: "${CANARY_SALT}"}}
sinks:
  out: {connector: stdout, config: {format: json, include_metadata: true}}
pipelines:
  demo: {source: orders, transforms: [big, pii], sink: out}
`

const canary = "canary-salt-7Hq2Zx9"

func mainOut(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// TestCompileEndToEnd compiles a config into a binary once and checks
// what a user relies on: the same records as `run`, no secret in the
// generated source or binary, start-up reads of ${VAR}, and the binary's
// own commands.
func TestCompileEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("these tests need the Go toolchain on PATH, as compile does")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(cfg, []byte(aotConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CANARY_SALT", canary)
	t.Setenv("RIVVEN_CONNECT_NOW", "2026-03-04T05:06:07Z")
	bin, gen := filepath.Join(dir, "demo"), filepath.Join(dir, "gen")
	out, errs, code := mainOut(t, "compile", "-c", cfg, "-o", bin, "--emit-dir", gen)
	if code != 0 {
		t.Fatalf("compile exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(out, "built "+bin) || !strings.Contains(out, "MiB") {
		t.Errorf("compile output should say what it built and its size: %q", out)
	}

	// The secret is in neither the generated source nor the binary.
	filepath.Walk(gen, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(canary)) {
				t.Errorf("generated file %s contains the secret", p)
			}
		}
		return nil
	})
	if b, _ := os.ReadFile(bin); bytes.Contains(b, []byte(canary)) {
		t.Error("the compiled binary contains the secret")
	}
	src, _ := os.ReadFile(filepath.Join(gen, "pipelines.go"))
	if !strings.Contains(string(src), `e.String("`) || !strings.Contains(string(src), "${CANARY_SALT}") {
		t.Error("the generated code should read ${CANARY_SALT} at start-up")
	}
	if !strings.Contains(string(src), "exprcond.Compile") || !strings.Contains(string(src), "mask.HashValue") {
		t.Error("upper() should fall back to the expr VM and the hash mask be called directly")
	}

	// Same records as the interpreter.
	want, _, code := mainOut(t, "run", "-c", cfg)
	if code != 0 || want == "" {
		t.Fatalf("run exit %d", code)
	}
	run := func(env []string, args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	env := []string{"CANARY_SALT=" + canary, "RIVVEN_CONNECT_NOW=2026-03-04T05:06:07Z"}
	got, stderr, code := run(env, "run")
	if code != 0 {
		t.Fatalf("binary run exit %d: %s", code, stderr)
	}
	if got != want {
		t.Errorf("the compiled binary and `run` disagree\n--- binary ---\n%s\n--- run ---\n%s", got, want)
	}
	if strings.Contains(stderr, canary) {
		t.Error("the binary logged the secret")
	}

	// A variable read at start-up: a different salt gives different hashes;
	// a missing one is reported like `run` reports it.
	other, _, _ := run([]string{"CANARY_SALT=other", "RIVVEN_CONNECT_NOW=2026-03-04T05:06:07Z"}, "run")
	if other == got {
		t.Error("the salt was baked in: changing CANARY_SALT did not change the output")
	}
	_, stderr, code = run([]string{}, "run")
	if code != 2 || !strings.Contains(stderr, "CANARY_SALT") || !strings.Contains(stderr, "pipeline.yaml:8:") {
		t.Errorf("missing variable: exit %d, stderr %q; want exit 2 naming CANARY_SALT and its line", code, stderr)
	}
	got, _, code = run(append(env, "MAX_EVENTS=5"), "run")
	if n := strings.Count(got, "\n"); code != 0 || n > 5 {
		t.Errorf("MAX_EVENTS=5 at start-up gave %d records (exit %d)", n, code)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "ok"},
		{[]string{"explain"}, `stage 0 filter ["big"]: keep where expr-vm`},
		{[]string{"version"}, "compiled from " + cfg},
	} {
		out, stderr, code := run(env, c.args...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, out, stderr, c.want)
		}
		if strings.Contains(out+stderr, canary) {
			t.Errorf("%v printed the secret", c.args)
		}
	}
}

func TestCompileRefusesWhatCheckRefuses(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfg, []byte(strings.Replace(aotConfig, "pattern: orders", "pattern: ordrs", 1)), 0o644)
	t.Setenv("CANARY_SALT", "x")
	_, checkErr, checkCode := mainOut(t, "check", "-c", cfg)
	_, compileErr, compileCode := mainOut(t, "compile", "-c", cfg, "-o", filepath.Join(dir, "bin"))
	if checkCode != 2 || compileCode != 2 || checkErr != compileErr {
		t.Errorf("check (exit %d) and compile (exit %d) should fail alike:\n%s\n%s", checkCode, compileCode, checkErr, compileErr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bin")); err == nil {
		t.Error("a binary was written for an invalid config")
	}
}

func TestCompileNeedsToolchain(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(cfg, []byte(aotConfig), 0o644)
	t.Setenv("CANARY_SALT", "x")
	t.Setenv("PATH", dir)
	t.Setenv("GOROOT", "")
	_, stderr, code := mainOut(t, "compile", "-c", cfg, "-o", filepath.Join(dir, "bin"))
	if code != 2 || !strings.Contains(stderr, "Go toolchain") {
		t.Errorf("exit %d, stderr %q; want 2 and a message about the Go toolchain", code, stderr)
	}
}

func TestCompilePostgresCDC(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pg.yaml")
	os.WriteFile(cfg, []byte(`sources:
  pg: {connector: postgres-cdc, config: {database: d, user: u}}
sinks:
  out: {connector: stdout}
pipelines:
  p: {source: pg, sink: out}
`), 0o644)
	_, stderr, code := mainOut(t, "compile", "-c", cfg, "--emit-dir", filepath.Join(dir, "gen"))
	if code != 0 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "gen", "pipelines.go")); err != nil {
		t.Error(err)
	}
}

// TestCompiledSaltOrigins: two masks whose salts are equal at compile time,
// one from ${SALT} and one literal, each keep their own origin in a
// compiled binary: run with another SALT, the binary hashes last_name with
// the literal, as `run` does (the optimiser once fused them and the binary
// read ${SALT} for both).
func TestCompiledSaltOrigins(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pipeline.yaml")
	writeFile(t, cfg, `version: "1.0"
sources:
  gen: {connector: datagen, config: {pattern: users, events_per_second: 0, max_events: 3, seed: 5}}
transforms:
  a: {type: field-mask, config: {fields: [email], strategy: hash, salt: "${SALT}"}}
  b: {type: field-mask, config: {fields: [last_name], strategy: hash, salt: "s4lt"}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: gen, transforms: [a, b], sink: out}
`)
	t.Setenv("RIVVEN_CONNECT_NOW", "2026-03-04T05:06:07Z")
	t.Setenv("SALT", "s4lt")
	bin := filepath.Join(dir, "p")
	if out, errs, code := mainOut(t, "compile", "-c", cfg, "-o", bin); code != 0 {
		t.Fatalf("compile exit %d: %s%s", code, out, errs)
	}
	t.Setenv("SALT", "other")
	want, errs, code := mainOut(t, "run", "-c", cfg)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errs)
	}
	got, err := exec.Command(bin, "run").Output()
	if err != nil {
		t.Fatalf("binary: %v", err)
	}
	if string(got) != want {
		t.Fatalf("the compiled binary and run disagree with SALT=other\n--- binary ---\n%s--- run ---\n%s", got, want)
	}
}

// TestCompiledSchemaRegistry: a compiled binary opens the schema registry
// as `run` does (the embedded one under state_dir, an external one with
// the password read from the environment at start-up) and writes the same
// Confluent-framed records, byte for byte.
func TestCompiledSchemaRegistry(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("RIVVEN_CONNECT_NOW", "2026-03-04T05:06:07Z")
	for _, format := range []string{"avro", "protobuf", "json_schema"} {
		t.Run(format, func(t *testing.T) {
			cfg := filepath.Join(dir, format+".yaml")
			writeFile(t, cfg, `version: "1.0"
settings: {state_dir: "${STATE}"}
sources:
  gen: {connector: datagen, config: {pattern: orders, events_per_second: 0, max_events: 4, seed: 9, cdc_mode: true}}
sinks:
  out: {connector: stdout, config: {format: `+format+`}}
pipelines:
  p: {source: gen, sink: out}
`)
			// state_dir from a variable cannot be re-read by a binary yet:
			// each run gets its own directory through the config instead.
			run := func(state string) string {
				t.Setenv("STATE", state)
				out, errs, code := mainOut(t, "run", "-c", cfg)
				if code != 0 {
					t.Fatalf("run: exit %d: %s", code, errs)
				}
				return out
			}
			want := run(filepath.Join(dir, format+"-run"))
			if !strings.HasPrefix(want, "AAAAAA") {
				t.Fatalf("run did not write Confluent-framed records:\n%s", want)
			}
			writeFile(t, cfg, strings.Replace(readFile(t, cfg), `"${STATE}"`, `"`+filepath.Join(dir, format+"-bin")+`"`, 1))
			bin := filepath.Join(dir, format+"-p")
			if out, errs, code := mainOut(t, "compile", "-c", cfg, "-o", bin); code != 0 {
				t.Fatalf("compile: exit %d: %s%s", code, out, errs)
			}
			cmd := exec.Command(bin, "run")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("binary: %v\n%s", err, stderr.String())
			}
			if string(got) != want {
				t.Fatalf("binary and run differ\n--- binary ---\n%s--- run ---\n%s", got, want)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
