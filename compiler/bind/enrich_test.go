package bind_test

import (
	"reflect"
	"testing"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/check"
	"github.com/rivven/rivven-connect/stdlib/enrich"
)

// The keys #Enrich allows are the json tags of enrich.Config, apart from
// schema and http.headers, which Resolve reads from the document (their
// order matters).
func TestEnrichKeysMatchStructTags(t *testing.T) {
	s, err := check.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	_, defs := s.Connectors("transforms")
	c := &bind.Component{Config: enrich.Config{}, Aliases: map[string]string{"schema": "", "http.headers": ""}}
	for _, d := range keyDrift(defs["enrich"], c) {
		t.Errorf("enrich: %s", d)
	}
}

// enrich.Defaults() holds #Enrich's defaults, and the stage gets the
// config's document-ordered schema and headers.
func TestEnrichGoDefaultsMatchCUE(t *testing.T) {
	for _, backend := range []string{
		`postgres: {database: d, user: u, query: "SELECT id FROM t WHERE id = ANY($1)", match: id}`,
		`http: {url: "http://x/{{key}}", headers: {B: "2", A: "1"}}`,
	} {
		cfg := `
sources: {gen: {connector: datagen, config: {pattern: orders, max_events: 1}}}
transforms: {e: {type: enrich, config: {key: customer_id, into: c, schema: {z: string, a: int}, ` + backend + `}}}
sinks: {out: {connector: stdout}}
pipelines: {p: {source: gen, sink: out, transforms: [e]}}
`
		p, errs := compiler.Compile("c.yaml", []byte(cfg), func(string) (string, bool) { return "", false })
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		got := p.Pipelines[0].Stages[0].Spec.(*bind.EnrichStage).Config
		want := enrich.Defaults()
		for _, f := range []string{"Cache", "OnMiss", "TimeoutMs", "Retry"} {
			if g, w := reflect.ValueOf(got).FieldByName(f).Interface(), reflect.ValueOf(want).FieldByName(f).Interface(); !reflect.DeepEqual(g, w) {
				t.Errorf("%s: decoded %+v, enrich.Defaults() %+v", f, g, w)
			}
		}
		if got.UsesPostgres() {
			g, w := got.Postgres, want.Postgres
			if g.Host != w.Host || g.Port != w.Port || g.ConnectTimeoutSecs != w.ConnectTimeoutSecs || g.TLS != w.TLS {
				t.Errorf("postgres: decoded %+v, defaults %+v", g, w)
			}
		} else {
			if got.HTTP.MaxInFlight != want.HTTP.MaxInFlight {
				t.Errorf("max_in_flight %d, default %d", got.HTTP.MaxInFlight, want.HTTP.MaxInFlight)
			}
			if h := got.HTTP.Headers; len(h) != 2 || h[0].Name != "B" || h[1].Value != "1" {
				t.Errorf("headers out of document order: %+v", h)
			}
		}
		if s := got.Schema; len(s) != 2 || s[0] != (enrich.Field{Name: "z", Type: "string"}) || s[1].Name != "a" || got.Name != "e" {
			t.Errorf("schema %+v, name %q", s, got.Name)
		}
	}
}
