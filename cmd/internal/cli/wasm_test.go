package cli

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/stdlib/wasm/wasmtest"
)

// copyExample copies examples/wasm/<name>.yaml into dir, next to the
// modules it names (built with the example's build commands), and returns
// its path.
func copyExample(t *testing.T, dir, name string, modules map[string]string) string {
	t.Helper()
	for file, src := range modules {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(wasmtest.Root(t), "examples", "wasm", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The example pipeline (datagen → the Go SDK's mask plugin → stdout) runs,
// and its compiled binary, which embeds the module, gives the same
// records with the module gone.
func TestWasmExamplePipelineRunAndCompile(t *testing.T) {
	dir := t.TempDir()
	cfg := copyExample(t, dir, "pipeline", map[string]string{"mask.wasm": wasmtest.Go(t, "examples/wasm/mask")})
	t.Setenv("RIVVEN_CONNECT_NOW", "2026-03-04T05:06:07Z")
	want, errs, code := mainOut(t, "run", "-c", cfg)
	if code != 0 {
		t.Fatalf("run exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(want), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], `"email":"****`) {
		t.Fatalf("run gave:\n%s", want)
	}
	bin := filepath.Join(dir, "masked")
	if out, errs, code := mainOut(t, "compile", "-c", cfg, "-o", bin); code != 0 {
		t.Fatalf("compile exit %d: %s%s", code, out, errs)
	}
	if err := os.Remove(filepath.Join(dir, "mask.wasm")); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(bin, "run").Output()
	if err != nil {
		t.Fatalf("the compiled binary: %v", err)
	}
	if string(got) != want {
		t.Fatalf("compiled binary and run differ:\n--- compiled ---\n%s--- run ---\n%s", got, want)
	}
}

// examples/wasm/spin.yaml finishes with every record skipped and the
// reason logged.
func TestWasmExampleSpinSkips(t *testing.T) {
	dir := t.TempDir()
	cfg := copyExample(t, dir, "spin", map[string]string{"spin.wasm": wasmtest.WAT(t, "examples/wasm/spin.wat")})
	start := time.Now()
	out, errs, code := mainOut(t, "run", "-c", cfg)
	t.Logf("spin.yaml ran in %v (3 records, timeout_ms 200)", time.Since(start))
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if !strings.Contains(errs, `record skipped (on_error: skip)`) || !strings.Contains(errs, `did not return within timeout_ms 200`) || !strings.Contains(errs, "failed=3") {
		t.Fatalf("the log does not show the records skipped and why:\n%s", errs)
	}
}

// A plugin's config is checked against its manifest's config_schema, each
// problem at its key.
func TestWasmConfigSchemaErrors(t *testing.T) {
	dir := t.TempDir()
	mask := wasmtest.Go(t, "examples/wasm/mask")
	cfg := filepath.Join(dir, "p.yaml")
	conf := `version: "1.0"
plugins:
  m:
    path: ` + mask + `
    config:
      fields: email
      keep_lots: 3
sources:
  s: {connector: datagen}
transforms:
  t: {type: m}
sinks:
  o: {connector: stdout}
pipelines:
  p: {source: s, transforms: [t], sink: o}
`
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := mainOut(t, "check", "-c", cfg)
	if code != 2 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"p.yaml:6:15: invalid-value: plugins.m.config.fields: plugin \"m\"'s config_schema: type:",
		"p.yaml:7:7: invalid-value: plugins.m.config.keep_lots: plugin \"m\"'s config_schema: additionalProperties: additional properties 'keep_lots' not allowed",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing %q in:\n%s", want, errs)
		}
	}
}

// A plugin source killed -9 and started again goes on from its
// acknowledged position: every n appears, none is skipped.
func TestWasmSourceKill9Resumes(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "rivven-connect")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/rivven/rivven-connect/cmd/rivven-connect").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	counter := wasmtest.Go(t, "examples/wasm/counter")
	cfg := filepath.Join(dir, "p.yaml")
	conf := `version: "1.0"
plugins:
  counter: {path: ` + counter + `}
sources:
  c: {connector: counter}
sinks:
  o: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: c, sink: o}
settings: {state_dir: ` + filepath.Join(dir, "state") + `}
`
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	var max int64 = -1
	for cycle := range 3 {
		cmd := exec.Command(bin, "run", "-c", cfg)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		first := int64(-1)
		for n := 0; n < 2000 && sc.Scan(); n++ {
			line := sc.Text()
			i := strings.Index(line, `"n":`)
			if i < 0 {
				t.Fatalf("cycle %d: line %q", cycle, line)
			}
			v, err := strconv.ParseInt(strings.TrimRight(strings.SplitN(line[i+4:], ",", 2)[0], "}"), 10, 64)
			if err != nil {
				t.Fatalf("cycle %d: line %q: %v", cycle, line, err)
			}
			if first < 0 {
				first = v
			}
			seen[v]++
			max = maxInt(max, v)
		}
		_ = cmd.Process.Kill() // kill -9
		_ = cmd.Wait()
		t.Logf("cycle %d started at n=%d", cycle, first)
		if cycle > 0 && first < 0 {
			t.Fatalf("cycle %d printed nothing: %s", cycle, stderr.String())
		}
	}
	for n := int64(0); n <= max; n++ {
		if seen[n] == 0 {
			t.Fatalf("n=%d was never delivered (max %d): the restart skipped records", n, max)
		}
	}
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
