package schemaformat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/schemas/registry"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
)

// Dir is the directory under settings.state_dir where the embedded
// registry keeps its log.
const Dir = "schema-registry"

// Handle is an open registry: the runtime.TypedFormats sinks use, and
// for the embedded one the registry itself and the REST API's address.
type Handle struct {
	reg Registry
	// Embedded is the embedded registry; nil in external mode.
	Embedded *registry.Registry
	// Client is the external registry's client; nil in embedded mode.
	Client *registry.Client
	// Addr is where the REST API listens ("" when it does not).
	Addr  string
	close func() error
}

// Close stops the REST API and closes the registry's log.
func (h *Handle) Close() error {
	if h.close == nil {
		return nil
	}
	return h.close()
}

// Open opens the registry cfg describes. The embedded one (the default)
// keeps its log on the broker conn describes (topic cfg.Topic, default
// DefaultTopic) when conn is not nil, else under stateDir/schema-registry,
// and with cfg.Listen serves the Confluent REST API there; the external one is a client of
// cfg.URL. Nothing is contacted for an external registry until the first
// schema is registered.
func Open(cfg runtime.Registry, stateDir string, conn *broker.Conn) (*Handle, error) {
	level := schemas.Compatibility("")
	if cfg.Compatibility != "" {
		var err error
		if level, err = schemas.ParseCompatibility(cfg.Compatibility); err != nil {
			return nil, fmt.Errorf("schema_registry.compatibility: %w", err)
		}
	}
	switch cfg.Mode {
	case "external":
		if cfg.URL == "" {
			return nil, errors.New("schema_registry: mode external needs url")
		}
		c, err := registry.NewClient(cfg.URL, registry.ClientOptions{Username: cfg.Username, Password: cfg.Password})
		if err != nil {
			return nil, fmt.Errorf("schema_registry: %w", err)
		}
		// Fail at start-up, not after a sink's retries: the registry must
		// answer (and accept the credentials) now.
		ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
		defer cancel()
		if _, err := c.Config(ctx, ""); err != nil {
			return nil, fmt.Errorf("schema_registry: the external registry does not answer: %w", err)
		}
		return &Handle{reg: c, Client: c}, nil
	case "", "embedded":
	default:
		return nil, fmt.Errorf("schema_registry: unknown mode %q (embedded or external)", cfg.Mode)
	}
	var store registry.Store
	switch {
	case conn != nil:
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		bs, err := OpenBrokerStore(ctx, *conn, cfg.Topic)
		if err != nil {
			return nil, fmt.Errorf("schema_registry: %w", err)
		}
		store = bs
	case stateDir != "":
		fs, err := registry.OpenFileStore(filepath.Join(stateDir, Dir))
		if err != nil {
			return nil, fmt.Errorf("schema_registry: %w", err)
		}
		store = fs
	default:
		return nil, errors.New("schema_registry: the embedded registry keeps its schemas on the broker (top-level `broker` section) or under settings.state_dir; neither is set (set one, or use mode: external)")
	}
	reg, err := registry.Open(registry.Options{Store: store, Compatibility: level, Formats: Protobuf})
	if err != nil {
		return nil, fmt.Errorf("schema_registry: %w", err)
	}
	h := &Handle{reg: embedded{reg}, Embedded: reg, close: reg.Close}
	if cfg.Listen == "" {
		return h, nil
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		reg.Close()
		return nil, fmt.Errorf("schema_registry.listen: %w", err)
	}
	srv := &http.Server{Handler: registry.Handler(reg, registry.HandlerOptions{Username: cfg.Username, Password: cfg.Password}),
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	h.Addr = ln.Addr().String()
	h.close = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return reg.Close()
	}
	return h, nil
}

// reachTimeout bounds the start-up request to an external registry.
const reachTimeout = 10 * time.Second

// Probe checks, for `check --connect`, the registry cfg describes without
// changing it: an external registry must answer, accept the credentials,
// and report its compatibility level; the embedded one says where it keeps
// its schemas (the broker is probed as the broker's components are).
func Probe(ctx context.Context, cfg runtime.Registry, stateDir string, conn *broker.Conn) ([]runtime.Finding, error) {
	if cfg.Mode != "external" {
		where := "under " + filepath.Join(stateDir, Dir)
		if conn != nil {
			topic := cfg.Topic
			if topic == "" {
				topic = DefaultTopic
			}
			where = fmt.Sprintf("on broker topic %q", topic)
		}
		return []runtime.Finding{{Check: "schema registry", Level: runtime.FindingOK, Detail: "embedded: schemas are kept " + where}}, nil
	}
	c, err := registry.NewClient(cfg.URL, registry.ClientOptions{Username: cfg.Username, Password: cfg.Password})
	if err != nil {
		return nil, fmt.Errorf("schema_registry: %w", err)
	}
	level, err := c.Config(ctx, "")
	if err != nil {
		detail := err.Error()
		if errors.Is(err, registry.ErrUnauthorized) {
			detail = c.String() + ": the registry rejected the credentials (schema_registry.auth)"
		}
		return []runtime.Finding{{Check: "schema registry", Level: runtime.FindingFail, Detail: detail}}, nil
	}
	return []runtime.Finding{{Check: "schema registry", Level: runtime.FindingOK,
		Detail: fmt.Sprintf("%s answers; its global compatibility level is %s", c, level)}}, nil
}

// NewEncoder implements runtime.TypedFormats.
func (h *Handle) NewEncoder(format string) (runtime.RecordEncoder, error) {
	return NewEncoder(format, h.reg)
}

// Register registers a schema (see Registry).
func (h *Handle) Register(ctx context.Context, subject, schemaType, schema string) (int, error) {
	return h.reg.Register(ctx, subject, schemaType, schema)
}

// embedded adapts the embedded registry to Registry.
type embedded struct{ r *registry.Registry }

func (e embedded) Register(_ context.Context, subject, schemaType, schema string) (int, error) {
	s, err := e.r.Register(subject, schemaType, schema)
	return s.ID, err
}

// Protobuf adds the PROTOBUF schema type to an embedded registry: its
// canonical form and Confluent's compatibility rules.
var Protobuf = map[string]registry.Format{
	registry.TypeProtobuf: {Canonical: schemas.ParseProtobufCanonical, Check: schemas.CheckProtobuf},
}
