package broker

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/brokertest"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
)

func TestValidateTopic(t *testing.T) {
	ok := []string{"a", "demo-events", "cdc.public.users", "A_b-9", strings.Repeat("x", 255), "9lives"}
	for _, n := range ok {
		if err := ValidateTopic(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	bad := map[string]string{
		"":                       "must not be empty",
		"_schemas":               "starts with '_': rivvend reserves such names",
		"a..b":                   `contains ".."`,
		"a b":                    "contains ' '",
		"é":                      "contains",
		".hidden":                "must start with a letter or a digit",
		"-x":                     "must start with a letter or a digit",
		strings.Repeat("x", 256): "at most 255",
		"a/b":                    "contains '/'",
	}
	for n, want := range bad {
		if err := ValidateTopic(n); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", n, err, want)
		}
	}
}

func TestTemplate(t *testing.T) {
	for s, want := range map[string]string{
		"{stream":            "without its '}'",
		"x}":                 "without its '{'",
		"{tabel}":            "unknown placeholder {tabel}",
		"_{stream}":          "starts with '_'",
		"a..{stream}":        `contains ".."`,
		"cdc/{schema}":       "cannot give a valid topic name",
		"_connect_status":    "starts with '_'",
		"cdc.{database}.{x}": "unknown placeholder {x}",
	} {
		if _, err := ParseTemplate(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", s, err, want)
		}
	}
	tm, err := ParseTemplate("cdc.{database}.{schema}.{table}")
	if err != nil || tm.Fixed() || !tm.Uses("database") || tm.Uses("stream") {
		t.Fatal(err)
	}
	r := &runtime.Record{Stream: "public.users", Meta: (&runtime.Object{}).Set("database", runtime.String("shop"))}
	if got, err := tm.Render(r); err != nil || got != "cdc.shop.public.users" {
		t.Fatalf("%q %v", got, err)
	}
	r.Namespace = "inv"
	if got, _ := tm.Render(r); got != "cdc.shop.inv.users" {
		t.Fatalf("%q", got)
	}
	r.Meta = nil
	if _, err := tm.Render(r); err == nil || !strings.Contains(err.Error(), `the string metadata key "database"`) {
		t.Fatal(err)
	}
	tm, _ = ParseTemplate("{namespace}-{stream}")
	if _, err := tm.Render(&runtime.Record{Stream: "s"}); err == nil || !strings.Contains(err.Error(), "needs a namespace") {
		t.Fatal(err)
	}
	if tm, err := ParseTemplate("fixed"); err != nil || !tm.Fixed() {
		t.Fatal(err)
	}
}

func TestConnect(t *testing.T) {
	s, err := brokertest.Start(brokertest.Config{Users: map[string]string{"alice": "s3cret-value"}, RequireAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var log bytes.Buffer
	conn := Conn{BootstrapServers: []string{s.Addr()}, Auth: Auth{Username: "alice", Password: "wrong-value-4242"}}
	_, err = Connect(ctx, conn, Options{Log: &log})
	if err == nil {
		t.Fatal("connected with a wrong password")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "cannot connect to the broker at "+s.Addr()+": authentication failed: ") || !strings.Contains(msg, `user "alice"`) {
		t.Fatalf("message: %s", msg)
	}
	if client.IsRetriable(err) {
		t.Fatal("an authentication failure is retriable")
	}
	if strings.Contains(msg+log.String(), "wrong-value-4242") {
		t.Fatal("the password leaked")
	}
	if log.Len() != 0 {
		t.Fatalf("a failed Connect logged: %s", log.String())
	}
	conn.Auth.Password = "s3cret-value"
	c, err := Connect(ctx, conn, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	// Unreachable: the reason without the resolved address, retriable.
	s.Close()
	_, err = Connect(ctx, Conn{BootstrapServers: []string{s.Addr(), s.Addr()}, ConnectionTimeoutMs: 500}, Options{})
	if err == nil || err.Error() != "cannot connect to the broker at "+s.Addr()+", "+s.Addr()+": connection refused" || !client.IsRetriable(err) {
		t.Fatalf("got %v", err)
	}
	start := time.Now()
	_, err = Connect(ctx, Conn{BootstrapServers: []string{"no-such-host.invalid:9092"}, ConnectionTimeoutMs: 2000}, Options{})
	if err == nil || !strings.Contains(err.Error(), "no such host no-such-host.invalid") && !strings.Contains(err.Error(), "cannot resolve no-such-host.invalid") || time.Since(start) > 3*time.Second {
		t.Fatalf("got %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		conn Conn
		want string
	}{
		{Conn{}, "set bootstrap_servers"},
		{Conn{BootstrapServers: []string{"localhost"}}, "not host:port"},
		{Conn{BootstrapServers: []string{"h:1"}, Auth: Auth{Mechanism: "md5", Username: "u"}}, "unknown auth mechanism"},
		{Conn{BootstrapServers: []string{"h:1"}, Auth: Auth{Password: "p"}}, "auth.username is not"},
		{Conn{BootstrapServers: []string{"h:1"}, TLS: TLS{Enabled: true, CertPath: "c"}}, "set together"},
	} {
		if err := c.conn.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.conn, err, c.want)
		}
	}
	cfg, err := Conn{BootstrapServers: []string{"h:1"}, Auth: Auth{Mechanism: "PLAIN", Username: "u", Password: "p"}, TLS: TLS{Enabled: true}}.ClientConfig(Options{})
	if err != nil || cfg.Auth.Mechanism != client.MechanismPlain || cfg.Retry == nil || *cfg.Retry != (client.RetryPolicy{}) {
		t.Fatalf("%+v %v", cfg, err)
	}
}
