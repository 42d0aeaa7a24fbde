package broker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
)

func TestProbe(t *testing.T) {
	s, err := brokertest.Start(brokertest.Config{Users: map[string]string{"alice": "s3cret-value"}, RequireAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	conn := Conn{BootstrapServers: []string{s.Addr()}, Auth: Auth{Username: "alice", Password: "s3cret-value"}}
	cl, err := Connect(ctx, conn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateTopic(ctx, "orders", 2); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	fs, err := Probe(ctx, conn, []TopicPlan{{Name: "orders"}, {Name: "new", Create: true}, {Name: "later", Wait: true}, {Name: "gone"}, {Name: "_internal"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Level+" "+f.Check+": "+f.Detail)
	}
	want := []string{
		"ok broker: " + s.Addr() + `: protocol version 2, plaintext, authenticated as "alice" (scram-sha-256)`,
		"ok topic orders: exists, 2 partitions",
		"ok topic new: does not exist yet; it will be created",
		"warn topic later: does not exist; the pipeline will wait for it",
		"fail topic gone: does not exist, and it will not be created (auto-create is off)",
	}
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			t.Fatalf("finding %d:\n got %q\nwant %q\nall: %q", i, got, w, got)
		}
	}
	if len(got) != 6 || !strings.HasPrefix(got[5], "fail topic _internal: ") {
		t.Fatalf("a topic starting with _ must fail: %q", got)
	}
	// Probe created nothing.
	cl, _ = Connect(ctx, conn, Options{})
	defer cl.Close()
	if _, err := cl.GetMetadata(ctx, "new"); !errors.Is(err, client.ErrUnknownTopic) {
		t.Fatalf("probe created topic new (%v)", err)
	}

	// A wrong password: an error naming the user, never the password.
	conn.Auth.Password = "wrong-value-4242"
	_, err = Probe(ctx, conn, nil)
	if err == nil || !strings.Contains(err.Error(), "authentication failed") || strings.Contains(err.Error(), "wrong-value-4242") {
		t.Fatalf("probe with a wrong password: %v", err)
	}
}
