package schemaformat

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas/registry"
)

// An external registry is reached at start-up (Open fails at once when it
// does not answer or refuses the credentials) and by check --connect
// (Probe), whose findings never show the password.
func TestExternalRegistryReachedAtStartAndProbed(t *testing.T) {
	reg, err := registry.Open(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	srv := httptest.NewServer(registry.Handler(reg, registry.HandlerOptions{Username: "u", Password: "right-pass-1234"}))
	defer srv.Close()
	ctx := context.Background()

	good := runtime.Registry{Mode: "external", URL: srv.URL, Username: "u", Password: "right-pass-1234"}
	h, err := Open(good, "", nil)
	if err != nil {
		t.Fatalf("open a reachable registry: %v", err)
	}
	h.Close()
	fs, err := Probe(ctx, good, "", nil)
	if err != nil || len(fs) != 1 || fs[0].Level != runtime.FindingOK || !strings.Contains(fs[0].Detail, "compatibility level is BACKWARD") {
		t.Fatalf("probe: %+v %v", fs, err)
	}

	bad := good
	bad.Password = "wrong-pass-5678"
	if _, err := Open(bad, "", nil); err == nil || !strings.Contains(err.Error(), "does not answer") || strings.Contains(err.Error(), "wrong-pass-5678") {
		t.Fatalf("open with a wrong password: %v", err)
	}
	fs, err = Probe(ctx, bad, "", nil)
	if err != nil || len(fs) != 1 || fs[0].Level != runtime.FindingFail || !strings.Contains(fs[0].Detail, "rejected the credentials") ||
		strings.Contains(fs[0].Detail, "wrong-pass-5678") {
		t.Fatalf("probe with a wrong password: %+v %v", fs, err)
	}

	srv.Close()
	if _, err := Open(good, "", nil); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("open an unreachable registry: %v", err)
	}
	fs, _ = Probe(ctx, good, "", nil)
	if len(fs) != 1 || fs[0].Level != runtime.FindingFail {
		t.Fatalf("probe an unreachable registry: %+v", fs)
	}
}
