package check

import (
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// The defaults of the settings section are written once, in the CUE
// definitions; runtime.DefaultRetry and runtime.DefaultProcess, the Go
// copies for Settings built by hand, must say the same.
func TestRuntimeDefaultsAreTheCUEDefaults(t *testing.T) {
	s, err := LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SettingsDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.Retry != runtime.DefaultRetry() {
		t.Errorf("#Settings.retry defaults %+v, runtime.DefaultRetry() %+v", got.Retry, runtime.DefaultRetry())
	}
	if got.Process != runtime.DefaultProcess() {
		t.Errorf("#Settings process defaults %+v, runtime.DefaultProcess() %+v", got.Process, runtime.DefaultProcess())
	}
	if want := runtime.DefaultSettings(); got.Retry != want.Retry || got.Process != want.Process {
		t.Errorf("SettingsDefaults() %+v, runtime.DefaultSettings() %+v", got, want)
	}
}

// Check fills every settings key a config leaves out with its default, and
// takes the keys it gives as they are: 0 retries is none, a shutdown
// timeout of 0 no grace period.
func TestSettingsValues(t *testing.T) {
	const pipeline = `
sources: {g: {connector: datagen}}
sinks: {o: {connector: stdout}}
pipelines: {p: {source: g, sink: o}}
`
	withDefaults := func(edit func(s *runtime.Settings)) runtime.Settings {
		s := runtime.DefaultSettings()
		edit(&s)
		return s
	}
	for _, tc := range []struct {
		name, settings string
		want           runtime.Settings
	}{
		{"absent", "", runtime.DefaultSettings()},
		{"empty", "settings: {}\n", runtime.DefaultSettings()},
		{"empty retry", "settings: {retry: {}}\n", runtime.DefaultSettings()},
		{"no retries", "settings: {retry: {max_retries: 0}}\n", withDefaults(func(s *runtime.Settings) { s.Retry.MaxRetries = 0 })},
		{"retry", "settings: {retry: {max_retries: 3, initial_backoff_ms: 5, max_backoff_ms: 50, backoff_multiplier: 3}}\n",
			withDefaults(func(s *runtime.Settings) {
				s.Retry = runtime.Retry{MaxRetries: 3, InitialBackoffMs: 5, MaxBackoffMs: 50, BackoffMultiplier: 3}
			})},
		{"no grace", "settings: {shutdown_timeout: 0}\n", withDefaults(func(s *runtime.Settings) { s.Process.ShutdownTimeoutMs = 0 })},
		{"grace", "settings: {shutdown_timeout: 7, log_level: debug}\n", withDefaults(func(s *runtime.Settings) {
			s.Process.ShutdownTimeoutMs, s.Process.LogLevel = 7000, "debug"
		})},
		{"servers", "settings: {health: {enabled: true}, metrics: {enabled: true, address: 0.0.0.0, port: 9100, path: /m}, state_dir: /var/lib/rc}\n",
			withDefaults(func(s *runtime.Settings) {
				s.Process.Health.Enabled = true
				s.Process.Metrics = runtime.Server{Enabled: true, Address: "0.0.0.0", Port: 9100, Path: "/m"}
				s.StateDir = "/var/lib/rc"
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := checkOK(t, tc.settings+pipeline)
			if len(cfg.Pipelines) != 1 {
				t.Fatalf("%d pipelines", len(cfg.Pipelines))
			}
			got := cfg.Pipelines[0].Settings
			if got.Retry != tc.want.Retry || got.Process != tc.want.Process || got.StateDir != tc.want.StateDir {
				t.Errorf("settings\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A rivven source without settings.retry retries its broker errors with
// the defaults, like the sink writes.
func TestRivvenSourceRetryDefaults(t *testing.T) {
	cfg := checkOK(t, `broker: {bootstrap_servers: [localhost:9092]}
sources:
  in: {connector: rivven, config: {address: localhost:9092, topics: [events]}}
sinks:
  out: {connector: stdout}
pipelines:
  p: {source: in, sink: out}
`)
	if got := sourceNamed(t, cfg, "in").Retry; got != runtime.DefaultRetry() {
		t.Errorf("Retry %+v, want the defaults %+v", got, runtime.DefaultRetry())
	}
}
