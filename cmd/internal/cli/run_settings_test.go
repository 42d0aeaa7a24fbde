package cli

import (
	"reflect"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/runtime"
)

// TestSettingsReachTheRuntime pins how config keys become runtime.Settings
// (the data both back ends hand to the driver).
func TestSettingsReachTheRuntime(t *testing.T) {
	const cfg = `
sources:
  g: {connector: datagen, config: {pattern: users, max_events: 10}}
transforms:
  m1: {type: field-mask, config: {fields: [email, last_name], strategy: hash}}
  f: {type: filter, config: {condition: 'age > 30'}}
  m2: {type: field-mask, config: {fields: [email, country], strategy: "null"}}
sinks:
  out: {connector: stdout, batch: {max_records: 500, timeout_ms: 250}}
  dlq: {connector: stdout}
pipelines:
  p: {source: g, sink: out, transforms: [m1, f, m2], settings: {on_error: dead_letter, dead_letter_sink: dlq, rate_limit: 5}}
  q: {source: g, sink: dlq, settings: {on_error: skip}}
settings:
  state_dir: /var/lib/rc
  retry: {max_retries: 0, initial_backoff_ms: 50, max_backoff_ms: 2000, backoff_multiplier: 1.5}
  health: {enabled: true, port: 9000}
  metrics: {enabled: true, address: 0.0.0.0, path: /m}
  log_level: debug
  shutdown_timeout: 7
`
	p, errs := compiler.Compile("c.yaml", []byte(cfg), func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// Keys left out take the defaults of the CUE definitions.
	proc := runtime.Process{LogLevel: "debug", ShutdownTimeoutMs: 7000,
		Health:  runtime.Server{Enabled: true, Address: "127.0.0.1", Port: 9000, Path: "/health"},
		Metrics: runtime.Server{Enabled: true, Address: "0.0.0.0", Port: 9091, Path: "/m"}}
	retry := runtime.Retry{MaxRetries: 0, InitialBackoffMs: 50, MaxBackoffMs: 2000, BackoffMultiplier: 1.5}
	want := map[string]runtime.Settings{
		"p": {OnError: runtime.OnErrorDeadLetter, RateLimit: 5, DeadLetterSink: "dlq",
			DeadLetterMask: []string{"email", "last_name", "country"},
			SinkBatch:      runtime.SinkBatch{MaxRecords: 500, TimeoutMs: 250},
			Retry:          retry, StateDir: "/var/lib/rc", Process: proc},
		"q": {OnError: runtime.OnErrorSkip, Retry: retry, StateDir: "/var/lib/rc", Process: proc},
	}
	for _, pp := range p.Pipelines {
		if !reflect.DeepEqual(pp.Settings, want[pp.Name]) {
			t.Errorf("pipeline %s settings\n got %+v\nwant %+v", pp.Name, pp.Settings, want[pp.Name])
		}
	}
}

// A config without settings gives the defaults of the CUE definitions,
// which runtime.DefaultSettings repeats: 10 retries from 100 ms, doubling
// up to 30 s, and 30 s of grace on shutdown.
func TestSettingsDefaultsAreFilledIn(t *testing.T) {
	const cfg = `
sources: {g: {connector: datagen}}
sinks: {o: {connector: stdout}}
pipelines: {p: {source: g, sink: o}}
`
	p, errs := compiler.Compile("c.yaml", []byte(cfg), func(string) (string, bool) { return "", false })
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if s := p.Pipelines[0].Settings; !reflect.DeepEqual(s, runtime.DefaultSettings()) {
		t.Errorf("a config without settings must give the default Settings\n got %+v\nwant %+v", s, runtime.DefaultSettings())
	}
}
