package datagen

import (
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/conformance"
)

func TestConformance(t *testing.T) {
	for _, cfg := range []Config{
		{Pattern: "orders", Seed: 42, HasSeed: true},
		{Pattern: "users", Seed: 7, HasSeed: true, CDCMode: true},
		{Pattern: "events", Seed: 3, HasSeed: true, MaxEvents: 700},
	} {
		t.Run(cfg.Pattern, func(t *testing.T) {
			// datagen keeps no position: a restarted source begins again at
			// sequence 0 (Resumes: false).
			conformance.RunSource(t, func(t *testing.T) runtime.Source { return mustNew(t, cfg) }, conformance.SourceOptions{Records: 600})
		})
	}
}
