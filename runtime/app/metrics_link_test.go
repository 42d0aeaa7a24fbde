package app_test

// The metrics endpoint registers itself with package app when linked; the
// tests of package app serve /metrics, so they link it.
import _ "github.com/rivven/rivven-connect/runtime/metrics"
