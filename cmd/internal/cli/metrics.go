package cli

// rivven-connect serves settings.metrics, so it links the Prometheus
// endpoint (generated binaries link it only when their config enables it).
import _ "github.com/rivven/rivven-connect/runtime/metrics"
