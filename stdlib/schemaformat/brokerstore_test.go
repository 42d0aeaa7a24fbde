package schemaformat

import (
	"context"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
)

func TestRegistryOnBrokerTopicKeepsIDs(t *testing.T) {
	srv, err := brokertest.Start(brokertest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn := &broker.Conn{BootstrapServers: []string{srv.Addr()}}
	h, err := Open(runtime.Registry{}, "", conn)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := NewEncoder("avro", h.reg)
	ctx := context.Background()
	m1, err := enc.Append(ctx, nil, "users-value", &insert)
	if err != nil {
		t.Fatal(err)
	}
	r2 := insert
	r2.Schema, r2.After = v2, []runtime.Value{runtime.Int(8), runtime.String("bob"), runtime.String("b@x.io")}
	m2, err := enc.Append(ctx, nil, "users-value", &r2)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if n := len(srv.Records(DefaultTopic, 0)); n != 2 {
		t.Fatalf("%d records on %s, want 2 registrations", n, DefaultTopic)
	}

	// A new process replays the topic: same ids, same versions.
	h2, err := Open(runtime.Registry{}, "", conn)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	for i, m := range [][]byte{m1, m2} {
		id, _, _ := schemas.SplitWire(m)
		s, err := h2.Embedded.SchemaByID(int(id))
		if err != nil || !strings.Contains(s.Text, "users") {
			t.Fatalf("schema %d (version %d) after restart: %+v, %v", id, i+1, s, err)
		}
	}
	if vs, _ := h2.Embedded.Versions("users-value"); len(vs) != 2 {
		t.Fatalf("versions after restart %v", vs)
	}
	// Registering the same schema again appends nothing.
	enc2, _ := NewEncoder("avro", h2.reg)
	if _, err := enc2.Append(ctx, nil, "users-value", &r2); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Records(DefaultTopic, 0)); n != 2 {
		t.Fatalf("%d records after re-registering, want 2", n)
	}
	if _, err := Open(runtime.Registry{Topic: "_bad"}, "", conn); err == nil || !strings.Contains(err.Error(), "schema_registry.topic") {
		t.Fatalf("topic starting with _: %v", err)
	}
}
