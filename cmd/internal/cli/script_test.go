package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rivven/rivven-connect/cmd/internal/cli"
)

// TestMain lets the test binary double as the rivven-connect program:
// scripts run it with `exec rivven-connect ...` as a separate process, with
// real argv, stdio, environment, working directory and exit code.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rivven-connect": func() {
			os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs testdata/script/*.txtar. Besides testscript's builtins,
// scripts may use:
//
//	exitcode N PROG [ARGS...]   run PROG like exec; its exit code must be N
//	json FILE [EXPR...]         FILE (or stdout/stderr) is one JSON value;
//	                            each expr-lang EXPR must be true with `doc`
//	                            bound to the value (and, for an object, its
//	                            keys bound as variables)
//	jsonl [-count=N] FILE [EXPR...]
//	                            every line of FILE is a JSON value; each EXPR
//	                            must be true for every line; -count=N also
//	                            checks the number of lines
//	replace FILE OLD NEW        replace every OLD in FILE with NEW (OLD must
//	                            occur)
//	waitfile FILE REGEXP        wait (up to 10 s) until FILE matches REGEXP
//
// The condition [knownbugs] is true when RIVVEN_CONNECT_KNOWN_BUGS is set;
// knownbug-*.txtar use it to keep reproductions of open bugs runnable
// without failing the suite. $EXAMPLES is the repository's examples/
// directory.
func TestScripts(t *testing.T) {
	examples, err := filepath.Abs(filepath.Join("..", "..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("EXAMPLES", examples)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "knownbugs" {
				return os.Getenv("RIVVEN_CONNECT_KNOWN_BUGS") != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitcode,
			"json":     cmdJSON,
			"jsonl":    cmdJSONL,
			"replace":  cmdReplace,
			"waitfile": cmdWaitfile,
		},
	})
}

func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %q is not a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: json FILE [EXPR...]")
	}
	data := ts.ReadFile(args[0])
	var doc any
	if err := strictUnmarshal([]byte(data), &doc); err != nil {
		if neg && len(args) == 1 {
			return
		}
		ts.Fatalf("%s is not one JSON value: %v", args[0], err)
	}
	if len(args) == 1 {
		if neg {
			ts.Fatalf("%s is valid JSON", args[0])
		}
		return
	}
	if neg {
		ts.Fatalf("unsupported: ! json FILE EXPR")
	}
	for _, code := range args[1:] {
		evalTrue(ts, code, doc, args[0])
	}
}

func cmdJSONL(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! jsonl")
	}
	count := -1
	if len(args) > 0 && strings.HasPrefix(args[0], "-count=") {
		n, err := strconv.Atoi(strings.TrimPrefix(args[0], "-count="))
		if err != nil {
			ts.Fatalf("jsonl: bad %s", args[0])
		}
		count, args = n, args[1:]
	}
	if len(args) < 1 {
		ts.Fatalf("usage: jsonl [-count=N] FILE [EXPR...]")
	}
	data := ts.ReadFile(args[0])
	if data != "" && !strings.HasSuffix(data, "\n") {
		ts.Fatalf("%s: last line is not terminated", args[0])
	}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	if data == "" {
		lines = nil
	}
	for i, line := range lines {
		var doc any
		if err := strictUnmarshal([]byte(line), &doc); err != nil {
			ts.Fatalf("%s:%d is not a JSON value: %v\n\t%s", args[0], i+1, err, line)
		}
		for _, code := range args[1:] {
			evalTrue(ts, code, doc, fmt.Sprintf("%s:%d", args[0], i+1))
		}
	}
	if count >= 0 && len(lines) != count {
		ts.Fatalf("%s has %d lines, want %d", args[0], len(lines), count)
	}
}

// strictUnmarshal decodes exactly one JSON value.
func strictUnmarshal(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(v); err != nil {
		return err
	}
	var extra any
	if err := d.Decode(&extra); err != io.EOF {
		return errors.New("data after the first JSON value")
	}
	return nil
}

func evalTrue(ts *testscript.TestScript, code string, doc any, where string) {
	env := map[string]any{}
	if m, ok := doc.(map[string]any); ok {
		for k, v := range m {
			env[k] = v
		}
	}
	env["doc"] = doc
	out, err := expr.Eval(code, env)
	if err != nil {
		ts.Fatalf("%s: %s: %v", where, code, err)
	}
	if out != true {
		ts.Fatalf("%s: %s is %v, want true", where, code, out)
	}
}

func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: replace FILE OLD NEW")
	}
	data := ts.ReadFile(args[0])
	if !strings.Contains(data, args[1]) {
		ts.Fatalf("replace: %s does not contain %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.ReplaceAll(data, args[1], args[2])), 0o666))
}

func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfile FILE REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(ts.MkAbs(args[0]))
		if re.Match(data) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not match %q within 10s; it holds:\n%s", args[0], args[1], data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
