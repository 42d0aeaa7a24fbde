package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/envsubst"
)

// EnvError reports an environment variable that a generated binary needs
// at start-up and cannot use: where the config referenced it and why.
type EnvError struct {
	Pos string // file:line:col of the reference in the compiled config
	Msg string
}

func (e *EnvError) Error() string { return e.Pos + ": " + e.Msg }

// Env expands config values that came from ${VAR} references when the
// config was compiled; generated code calls it at start-up so that no such
// value is baked into the binary. The first failure is kept in Err and
// later calls return zero values.
type Env struct {
	Lookup func(string) (string, bool)
	Err    error
}

// String expands raw (the scalar as written, e.g. "${SALT}") at pos.
func (e *Env) String(pos, raw string) string {
	if e.Err != nil {
		return ""
	}
	out, _, _, errs := envsubst.Expand(raw, e.Lookup)
	if len(errs) > 0 {
		e.Err = &EnvError{Pos: pos, Msg: errs[0].Message}
		return ""
	}
	return out
}

// Int expands raw and parses the result as an integer.
func (e *Env) Int(pos, raw string) int64 {
	s := e.String(pos, raw)
	if e.Err != nil {
		return 0
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil {
		e.Err = &EnvError{Pos: pos, Msg: fmt.Sprintf("%s must be an integer, got %q", raw, s)}
	}
	return i
}

// Float expands raw and parses the result as a number.
func (e *Env) Float(pos, raw string) float64 {
	s := e.String(pos, raw)
	if e.Err != nil {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		e.Err = &EnvError{Pos: pos, Msg: fmt.Sprintf("%s must be a number, got %q", raw, s)}
	}
	return f
}

// Bool expands raw and parses the result as a boolean.
func (e *Env) Bool(pos, raw string) bool {
	s := e.String(pos, raw)
	if e.Err != nil {
		return false
	}
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false":
		return false
	}
	e.Err = &EnvError{Pos: pos, Msg: fmt.Sprintf("%s must be true or false, got %q", raw, s)}
	return false
}

// Value expands raw into a value of the kind the config had when compiled.
func (e *Env) Value(pos, raw string, kind runtime.Kind) runtime.Value {
	switch kind {
	case runtime.KindInt:
		return runtime.Int(e.Int(pos, raw))
	case runtime.KindFloat:
		return runtime.Float(e.Float(pos, raw))
	case runtime.KindBool:
		return runtime.Bool(e.Bool(pos, raw))
	case runtime.KindNull:
		return runtime.Null()
	}
	return runtime.String(e.String(pos, raw))
}

// Step returns s, keeping err (a batch step's constructor failed: a
// plugin's module missing or changed) in Err when it is the first
// failure; generated code checks Err before it runs anything.
func (e *Env) Step(s runtime.BatchStep, err error) runtime.BatchStep {
	if err != nil {
		if e.Err == nil {
			e.Err = err
		}
		return nil
	}
	return s
}
