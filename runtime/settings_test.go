package runtime

import (
	"testing"
	"time"
)

// The process settings are taken as they are: 0 is no grace period, not
// the default one.
func TestShutdownTimeoutIsLiteral(t *testing.T) {
	for _, tc := range []struct {
		p    Process
		want time.Duration
	}{
		{Process{}, 0},
		{Process{ShutdownTimeoutMs: 0, LogLevel: "debug"}, 0},
		{Process{ShutdownTimeoutMs: -5}, 0},
		{Process{ShutdownTimeoutMs: 7000}, 7 * time.Second},
		{DefaultProcess(), 30 * time.Second},
	} {
		if got := tc.p.ShutdownTimeout(); got != tc.want {
			t.Errorf("%+v: ShutdownTimeout() = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestDefaultSettings(t *testing.T) {
	s := DefaultSettings()
	if s.Retry != DefaultRetry() || s.Process != DefaultProcess() {
		t.Errorf("DefaultSettings() = %+v", s)
	}
	p := DefaultProcess()
	if p.Health.Enabled || p.Metrics.Enabled || p.Health.Port != 8080 || p.Metrics.Port != 9091 ||
		p.Health.Address != "127.0.0.1" || p.Metrics.Address != "127.0.0.1" || p.Health.Path != "/health" || p.Metrics.Path != "/metrics" {
		t.Errorf("DefaultProcess() servers: %+v", p)
	}
	// Only the retry and process settings have defaults of their own.
	s.Retry, s.Process = Retry{}, Process{}
	if s.OnError != OnErrorStop || s.RateLimit != 0 || s.BatchSize != 0 || s.StateDir != "" || s.SinkBatch.Enabled() {
		t.Errorf("DefaultSettings() sets more than retry and process: %+v", s)
	}
}
