package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/schemaformat"
)

// probeTimeout bounds each component's probe.
const probeTimeout = 20 * time.Second

// probeReport is one component's outcome of `check --connect`.
type probeReport struct {
	Kind      string            `json:"kind"` // source, sink or registry
	Name      string            `json:"name"`
	Connector string            `json:"connector"`
	Findings  []runtime.Finding `json:"findings"`
	// Offline: the connector has no server to check.
	Offline bool   `json:"offline,omitempty"`
	Error   string `json:"error,omitempty"`
}

// probe runs `check --connect` over the enabled pipelines' sources and
// sinks and prints their findings. It returns exitFailure when a check
// failed or a component could not be reached.
func (e *env) probe(p *plan.Plan, format string) int {
	redact := runtime.Redactor(p.Secrets)
	rtEnv := runtime.Env{Now: time.Now, Stdout: io.Discard, Stderr: io.Discard}
	var reports []probeReport
	seen := map[string]bool{}
	for _, pp := range p.Pipelines {
		if !pp.Enabled {
			continue
		}
		for _, c := range []struct {
			kind string
			c    plan.Component
		}{{"source", pp.Source}, {"sink", pp.Sink}} {
			key := c.kind + "\x00" + c.c.Name
			if seen[key] {
				continue
			}
			seen[key] = true
			reports = append(reports, probeOne(c.kind, c.c, rtEnv, redact))
		}
		for _, st := range pp.Stages {
			if r, ok := probeStage(st, redact, seen); ok {
				reports = append(reports, r)
			}
		}
	}
	if reg, stateDir := registryOf(p); reg.Configured() {
		r := probeReport{Kind: "registry", Name: "schema_registry", Connector: reg.Mode, Findings: []runtime.Finding{}}
		if r.Connector == "" {
			r.Connector = "embedded"
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		fs, err := schemaformat.Probe(ctx, reg, stateDir, p.Broker)
		cancel()
		for i := range fs {
			fs[i].Detail = redact(fs[i].Detail)
		}
		r.Findings = append(r.Findings, fs...)
		if err != nil {
			r.Error = redact(err.Error())
		}
		reports = append(reports, r)
	}
	fails, warns := 0, 0
	for _, r := range reports {
		if r.Error != "" {
			fails++
		}
		for _, f := range r.Findings {
			switch f.Level {
			case runtime.FindingFail:
				fails++
			case runtime.FindingWarn:
				warns++
			}
		}
	}
	if format == "json" {
		out, _ := json.MarshalIndent(map[string]any{"components": reports}, "", "  ")
		fmt.Fprintln(e.stdout, string(out))
	} else {
		for _, r := range reports {
			fmt.Fprintf(e.stdout, "%s %q (%s):", r.Kind, r.Name, r.Connector)
			switch {
			case r.Offline:
				fmt.Fprintln(e.stdout, " nothing to connect to")
				continue
			case r.Error != "":
				fmt.Fprintf(e.stdout, "\n  FAIL  %s\n", r.Error)
			default:
				fmt.Fprintln(e.stdout)
			}
			for _, f := range r.Findings {
				fmt.Fprintf(e.stdout, "  %-4s  %s: %s\n", strings.ToUpper(f.Level), f.Check, f.Detail)
			}
		}
		fmt.Fprintf(e.stdout, "connect: %s, %s\n", plural(fails, "failure"), plural(warns, "warning"))
	}
	if fails > 0 {
		return exitFailure
	}
	return exitOK
}

// probeStage checks what a transform stage connects to (enrich's lookup
// server); ok is false for stages that connect to nothing, and for a
// transform already probed (seen).
func probeStage(st *plan.Stage, redact func(string) string, seen map[string]bool) (probeReport, bool) {
	bs, ok := st.Spec.(bind.BatchStage)
	if !ok || len(st.Parts) == 0 {
		return probeReport{}, false
	}
	name := st.Parts[0].Name
	key := "transform\x00" + name
	if seen[key] {
		return probeReport{}, false
	}
	seen[key] = true
	r := probeReport{Kind: "transform", Name: name, Connector: st.Spec.Type(), Findings: []runtime.Finding{}}
	step, err := bs.InterpStep(st.Parts, time.Now)
	if err != nil {
		r.Error = redact(err.Error())
		return r, true
	}
	defer step.Close()
	prober, ok := step.(runtime.Prober)
	if !ok {
		return probeReport{}, false // connects to nothing
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	fs, err := prober.Probe(ctx)
	for i := range fs {
		fs[i].Detail = redact(fs[i].Detail)
	}
	r.Findings = append(r.Findings, fs...)
	if err != nil {
		r.Error = redact(err.Error())
	}
	return r, true
}

func probeOne(kind string, c plan.Component, env runtime.Env, redact func(string) string) probeReport {
	r := probeReport{Kind: kind, Name: c.Name, Connector: c.Connector, Findings: []runtime.Finding{}}
	var comp any
	var err error
	if kind == "source" {
		comp, err = compiler.Source(c, env)
	} else {
		comp, err = compiler.Sink(c, env)
	}
	if err != nil {
		r.Error = redact(err.Error())
		return r
	}
	pr, ok := comp.(runtime.Prober)
	if !ok {
		r.Offline = true
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	fs, err := pr.Probe(ctx)
	for i := range fs {
		fs[i].Detail = redact(fs[i].Detail)
	}
	r.Findings = append(r.Findings, fs...)
	if err != nil {
		r.Error = redact(err.Error())
	}
	return r
}
