package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/rivven/client"
)

// TopicPlan says what a component expects of one topic, for Probe.
type TopicPlan struct {
	Name string
	// Create: a missing topic will be created (auto-create on); otherwise
	// a missing topic is a warning when Wait, else a failure.
	Create, Wait bool
}

// Probe connects to the broker described by c (handshake and
// authentication included), reports the protocol version the broker
// announced, and whether each topic exists (with its partition count) or
// will be created. It creates nothing.
func Probe(ctx context.Context, c Conn, topics []TopicPlan) ([]runtime.Finding, error) {
	cl, err := Connect(ctx, c, Options{})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []runtime.Finding
	v, _ := cl.ServerVersion()
	auth := "no authentication"
	if c.Auth.Username != "" {
		mech := c.Auth.Mechanism
		if mech == "" {
			mech = "scram-sha-256"
		}
		auth = fmt.Sprintf("authenticated as %q (%s)", c.Auth.Username, mech)
	}
	tls := "plaintext"
	if c.TLS.Enabled {
		tls = "TLS"
	}
	out = append(out, runtime.Finding{Check: "broker", Level: runtime.FindingOK,
		Detail: fmt.Sprintf("%s: protocol version %d, %s, %s", strings.Join(c.BootstrapServers, ", "), v, tls, auth)})
	for _, t := range topics {
		check := "topic " + t.Name
		if err := ValidateTopic(t.Name); err != nil {
			out = append(out, runtime.Finding{Check: check, Level: runtime.FindingFail, Detail: err.Error()})
			continue
		}
		n, err := cl.GetMetadata(ctx, t.Name)
		switch {
		case err == nil:
			out = append(out, runtime.Finding{Check: check, Level: runtime.FindingOK, Detail: fmt.Sprintf("exists, %d partitions", n)})
		case errors.Is(err, client.ErrUnknownTopic) && t.Create:
			out = append(out, runtime.Finding{Check: check, Level: runtime.FindingOK, Detail: "does not exist yet; it will be created"})
		case errors.Is(err, client.ErrUnknownTopic) && t.Wait:
			out = append(out, runtime.Finding{Check: check, Level: runtime.FindingWarn, Detail: "does not exist; the pipeline will wait for it"})
		case errors.Is(err, client.ErrUnknownTopic):
			out = append(out, runtime.Finding{Check: check, Level: runtime.FindingFail, Detail: "does not exist, and it will not be created (auto-create is off)"})
		default:
			return out, fmt.Errorf("topic %q: %w", t.Name, err)
		}
	}
	return out, nil
}
