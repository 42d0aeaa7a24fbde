package bind_test

import (
	"slices"
	"testing"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/check"
)

// Every transform type the CUE definitions allow is registered, and every
// registered one has a CUE definition: one cannot be added without the
// other.
func TestTransformsRegisteredWithTheirCUEDefinitions(t *testing.T) {
	s, err := check.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	cueNames, _ := s.Connectors("transforms")
	if got := bind.TransformNames(); !slices.Equal(got, cueNames) {
		t.Fatalf("registered transform types %v, CUE definitions %v", got, cueNames)
	}
	for _, name := range cueNames {
		tt, _ := bind.LookupTransform(name)
		if tt.Resolve == nil {
			t.Errorf("transform type %q has no Resolve", name)
		}
	}
}
