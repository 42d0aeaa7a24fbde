package check

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
)

// settingsDoc is the defaulted value of #Settings, the `settings` section,
// as far as the runtime settings read it. Its json tags are the CUE keys.
type settingsDoc struct {
	Retry struct {
		MaxRetries        int     `json:"max_retries"`
		InitialBackoffMs  int     `json:"initial_backoff_ms"`
		MaxBackoffMs      int     `json:"max_backoff_ms"`
		BackoffMultiplier float64 `json:"backoff_multiplier"`
	} `json:"retry"`
	Health          serverDoc `json:"health"`
	Metrics         serverDoc `json:"metrics"`
	LogLevel        string    `json:"log_level"`
	ShutdownTimeout int       `json:"shutdown_timeout"` // seconds
}

// serverDoc is #Settings.health or #Settings.metrics.
type serverDoc struct {
	Enabled bool   `json:"enabled"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	Path    string `json:"path"`
}

func (d serverDoc) server() runtime.Server {
	return runtime.Server{Enabled: d.Enabled, Address: d.Address, Port: d.Port, Path: d.Path}
}

// SettingsDefaults returns the runtime settings of a config whose
// `settings` section is absent or empty, read from the defaults of the CUE
// definition #Settings: Retry and Process (without Registry, which is the
// `schema_registry` section); the other fields are zero. The checker fills
// in these values for every key a config leaves out, so the runtime never
// supplies a default of its own. runtime.DefaultRetry and
// runtime.DefaultProcess, for Go code that builds Settings by hand, hold
// the same values (a test holds them equal). An error means the
// definitions give a key no concrete default (a build defect).
func (s *Schema) SettingsDefaults() (runtime.Settings, error) {
	var d settingsDoc
	if err := s.Def("#Settings").Decode(&d); err != nil {
		return runtime.Settings{}, fmt.Errorf("the defaults of #Settings: %w", err)
	}
	return runtime.Settings{
		Retry: runtime.Retry{
			MaxRetries:        d.Retry.MaxRetries,
			InitialBackoffMs:  d.Retry.InitialBackoffMs,
			MaxBackoffMs:      d.Retry.MaxBackoffMs,
			BackoffMultiplier: d.Retry.BackoffMultiplier,
		},
		Process: runtime.Process{
			LogLevel:          d.LogLevel,
			ShutdownTimeoutMs: d.ShutdownTimeout * 1000,
			Health:            d.Health.server(),
			Metrics:           d.Metrics.server(),
		},
	}, nil
}

// The defaults of #Settings are the same in every Schema (the definitions
// are embedded): they are read once, by the first check that needs them,
// and shared as plain data.
var settingsDefaults struct {
	once sync.Once
	val  runtime.Settings
	err  error
}

// defaults returns SettingsDefaults, reporting (once per check) a failure
// to read them.
func (c *checker) defaults() runtime.Settings {
	settingsDefaults.once.Do(func() {
		settingsDefaults.val, settingsDefaults.err = c.schema.SettingsDefaults()
	})
	if err := settingsDefaults.err; err != nil {
		msg := "internal error: " + err.Error()
		for _, e := range c.errs {
			if e.Message == msg {
				return settingsDefaults.val
			}
		}
		c.errs.Add(source.Pos{File: c.file.Name, Line: 1, Column: 1}, source.CodeInvalidValue, "settings", "%s", msg)
	}
	return settingsDefaults.val
}

// serverSetting is the server of settings.<key> (health or metrics): the
// keys n, the section, sets over the defaults d.
func serverSetting(n *config.Node, d runtime.Server) runtime.Server {
	if n == nil || n.Kind != config.Map {
		return d
	}
	if e := n.Get("enabled"); e != nil && e.Kind == config.Bool {
		d.Enabled = e.Text == "true"
	}
	if a := n.Get("address"); a != nil && a.Kind == config.String {
		d.Address = a.Text
	}
	if p, ok := intSetting(n.Get("port")); ok {
		d.Port = p
	}
	if p := n.Get("path"); p != nil && p.Kind == config.String {
		d.Path = p.Text
	}
	return d
}

// floatSetting reads a number scalar (an integer or a float).
func floatSetting(n *config.Node) (float64, bool) {
	if n == nil || n.Kind != config.Float && n.Kind != config.Int {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Text, "_", ""), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}
