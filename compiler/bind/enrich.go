package bind

import (
	"fmt"
	"strings"
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/enrich"
	"github.com/rivven/rivven-connect/stdlib/httpsource"
)

// The enrich transform: looks each record's key up in PostgreSQL (one
// query per batch for the keys not cached) or over HTTP, and merges the
// row found under a field. Its run-time part is stdlib/enrich, which both
// back ends call. Config enrich.Config, CUE definition #Enrich
// (cue/enrich.cue). Because its lookup needs the batch, it is a
// BatchStage: the back ends split the per-record function at it
// (runtime.Chain).
func init() {
	registerTransform(&TransformType{
		Name:    "enrich",
		Resolve: resolveEnrich,
	})
}

// EnrichStage looks records' keys up and merges the rows found.
type EnrichStage struct {
	// Config is the step's config, as stdlib/enrich runs it.
	Config enrich.Config
	// Row is the type of the field Into in the schema leaving the stage.
	Row runtime.Type
	// KeyIndex and IntoIndex are the positions of the key's top-level
	// field and of Into in the schemas entering and leaving the stage (-1:
	// the schema is known only at run time; the step finds them by name).
	KeyIndex, IntoIndex int
}

var _ BatchStage = (*EnrichStage)(nil)

// Type implements Stage.
func (*EnrichStage) Type() string { return "enrich" }

// Fuse implements Stage: an enrich stage fuses with nothing (it is where
// the batch is split).
func (*EnrichStage) Fuse(Stage, []Part, []Part) Stage { return nil }

// Dump implements Stage: key and into with their positions, the row's
// type, the back end (password and header values hidden), cache, on_miss
// and retries, and the batch split.
func (s *EnrichStage) Dump(d Dumper) string {
	c := s.Config
	pos := func(name string, i int) string {
		if i < 0 {
			return name + "#by-name"
		}
		return fmt.Sprintf("%s#%d", name, i)
	}
	out := fmt.Sprintf("%s → %s %s by ", pos(c.Key, s.KeyIndex), pos(c.Into, s.IntoIndex), s.Row)
	if c.UsesPostgres() {
		out += "postgres " + d.Value(c.Postgres)
	} else {
		h := c.HTTP
		var names []string
		for _, x := range h.Headers {
			names = append(names, x.Name)
		}
		out += fmt.Sprintf("http {URL: %s, Headers: [%s], ResultPath: %s, MaxInFlight: %d}", d.Quoted(h.URL), strings.Join(names, " "), d.Quoted(h.ResultPath), h.MaxInFlight)
	}
	out += fmt.Sprintf(" cache %s on_miss=%s timeout_ms=%d retry %s; batch: the stages before run over the batch, then one lookup for the keys not cached",
		d.Value(c.Cache), c.OnMiss, c.TimeoutMs, d.Value(c.Retry))
	return out
}

// Interp implements Stage: the step on one record at a time.
func (s *EnrichStage) Interp(parts []Part, _ Interp) (StageFunc, error) {
	return stepInterp(s, parts)
}

// InterpStep implements BatchStage.
func (s *EnrichStage) InterpStep(_ []Part, now func() time.Time) (runtime.BatchStep, error) {
	return enrich.New(s.Config, now), nil
}

// Emit implements Stage: the step on one record, as Interp.
func (s *EnrichStage) Emit(i int, parts []Part, e Emitter) ([]jen.Code, error) {
	return stepEmit(s, i, parts, e)
}

const enrichPkg = "github.com/rivven/rivven-connect/stdlib/enrich"

// EmitStep implements BatchStage: enrich.New with the config as a literal
// whose ${VAR} values (the password, header values, …) are read at
// start-up.
func (s *EnrichStage) EmitStep(_ int, parts []Part, e Emitter) (jen.Code, error) {
	lit, err := e.Literal(s.Config, parts[0].Name, enrichEnv(s.Config))
	if err != nil {
		return nil, err
	}
	return jen.Qual(enrichPkg, "New").Call(lit, jen.Id("env").Dot("Now")), nil
}

// enrichEnv maps the Go field paths of cfg to the config keys (dotted,
// below `config`) they come from, for every key a ${VAR} may give.
func enrichEnv(cfg enrich.Config) map[string]string {
	c := &Component{Config: enrich.Config{}}
	out := map[string]string{}
	for _, key := range c.tagKeys() {
		if p, ok := c.FieldPath(cfg, strings.Split(key, ".")); ok {
			out[p] = key
		}
	}
	for i, h := range cfg.HTTP.Headers {
		out[fmt.Sprintf("HTTP.Headers[%d].Value", i)] = "http.headers." + h.Name
	}
	return out
}

// resolveEnrich checks an enrich config against the schema reaching it:
// one back end, the query's parameter, the key's field (typed when the
// schema is known), the declared schema's types; the schema leaving it has
// the field into, an object of the declared fields.
func resolveEnrich(r Resolver, in *runtime.Schema) (Stage, *runtime.Schema) {
	n := r.Node()
	var cfg enrich.Config
	if err := r.Value().Decode(&cfg); err != nil {
		r.Errorf(n.Pos, source.CodeInvalidValue, r.Path(), "%v", err)
		return nil, in
	}
	cfg.Name = r.Name()
	cfg.HTTP.Headers = pairs(n.Lookup("http", "headers"))
	ok := true
	errorf := func(code source.Code, keys []string, format string, args ...any) {
		ok = false
		at := n.Lookup(keys...)
		pos := source.Pos{}
		if at != nil {
			pos = at.Pos
		}
		r.Errorf(pos, code, r.Path(keys...), format, args...)
	}
	pg, hp := n.Get("postgres"), n.Get("http")
	switch {
	case pg == nil && hp == nil:
		ok = false
		r.Errorf(n.Pos, source.CodeMissingKey, r.Path(), "enrich %q needs a back end: give postgres (host, database, user, query, match) or http (url)", r.Name())
	case pg != nil && hp != nil:
		errorf(source.CodeInvalidValue, []string{"http"}, "give postgres or http, not both: this transform looks keys up in PostgreSQL")
	case pg != nil:
		if q := n.Lookup("postgres", "query"); q != nil && q.Kind == config.String && !q.Bad {
			if err := enrich.CheckQuery(cfg.Postgres.Query); err != nil {
				errorf(source.CodeInvalidValue, []string{"postgres", "query"}, "%s", queryMessage(q, err))
			}
		}
	default:
		if u := n.Lookup("http", "url"); u != nil && u.Kind == config.String && !strings.Contains(cfg.HTTP.URL, "{{key}}") {
			errorf(source.CodeInvalidValue, []string{"http", "url"}, "the url %s has no {{key}}: put {{key}} where the record's key goes (e.g. https://api.example.com/customers/{{key}})", Shown(u))
		}
		if p := n.Lookup("http", "result_path"); p != nil {
			if _, err := httpsource.ParsePath(cfg.HTTP.ResultPath); err != nil {
				errorf(source.CodeInvalidValue, []string{"http", "result_path"}, "%v", err)
			}
		}
	}
	for _, f := range pairs(n.Get("schema")) {
		cfg.Schema = append(cfg.Schema, enrich.Field{Name: f.Name, Type: f.Value})
		if _, err := runtime.ParseType(f.Value); err != nil {
			errorf(source.CodeInvalidValue, []string{"schema", f.Name}, "%v", err)
		}
	}
	row, err := cfg.RowType()
	if err != nil {
		row = runtime.Type{Kind: runtime.KindObject, Open: true}
	}
	st := &EnrichStage{Config: cfg, Row: row, KeyIndex: -1, IntoIndex: -1}
	var out *runtime.Schema
	if k := n.Get("key"); in == nil && k != nil && k.Kind == config.String && contains(strings.Split(k.Text, "."), "") {
		errorf(source.CodeInvalidValue, []string{"key"}, "key %s has an empty segment", Shown(k))
	}
	if i := n.Get("into"); i != nil && i.Kind == config.String && strings.Contains(i.Text, ".") {
		errorf(source.CodeInvalidValue, []string{"into"}, "into %s is a top-level field name; it cannot hold a dot", Shown(i))
	}
	if in != nil {
		if st.KeyIndex = enrichKey(r, n.Get("key"), in); st.KeyIndex < 0 {
			ok = false
		}
		out = cloneSchema(in)
		f := runtime.Field{Name: cfg.Into, Type: row, Nullable: cfg.OnMiss == enrich.OnMissKeep}
		if i := out.Index(cfg.Into); i >= 0 {
			out.Fields[i], st.IntoIndex = f, i
		} else {
			st.IntoIndex = len(out.Fields)
			out.Fields = append(out.Fields, f)
		}
	}
	if !ok {
		return nil, in
	}
	return st, out
}

// queryMessage words a query without its one parameter, quoting nothing
// of a query that came from the environment.
func queryMessage(q *config.Node, err error) string {
	msg := strings.TrimPrefix(err.Error(), "postgres.query: ")
	if len(q.Vars) > 0 {
		return fmt.Sprintf("the query from ${%s}: %s", q.Vars[0].Name, msg)
	}
	return msg
}

// enrichKey resolves the key's path against s and returns the position of
// its top-level field, or -1 after reporting why it is not a key: a field
// the stream lacks, a path through a value that is not an object, or an
// object or array (a key is a scalar).
func enrichKey(r Resolver, n *config.Node, s *runtime.Schema) int {
	if n == nil || n.Kind != config.String || n.Bad {
		return -1
	}
	path := r.Path("key")
	shown := Shown(n)
	parts := strings.Split(n.Text, ".")
	idx := s.Index(parts[0])
	if contains(parts, "") {
		r.Errorf(n.Pos, source.CodeInvalidValue, path, "key %s has an empty segment", shown)
		return -1
	}
	if idx < 0 || s.Fields[idx].Type.Kind == runtime.KindAbsent {
		msg := fmt.Sprintf("the stream has no field %s", shown)
		if sug := source.Suggest(parts[0], liveNames(s)); sug != "" && len(n.Vars) == 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		r.Errorf(n.Pos, source.CodeUnknownField, path, "%s; fields: %s", msg, strings.Join(liveNames(s), ", "))
		return -1
	}
	t, miss := nestedType(s.Fields[idx].Type, parts)
	switch {
	case miss == nil:
	case miss.kind == runtime.KindObject:
		r.Errorf(n.Pos, source.CodeUnknownField, path, "%s has no field %q", miss.at, miss.key)
		return -1
	default:
		r.Errorf(n.Pos, source.CodeTypeMismatch, path, "%s is a %s; it has no field %q", miss.at, miss.kind, miss.key)
		return -1
	}
	if t.Kind == runtime.KindObject || t.Kind == runtime.KindArray {
		r.Errorf(n.Pos, source.CodeTypeMismatch, path, "key %s is %s; a key is a scalar (a string, number or bool)", shown, article(t.Kind))
		return -1
	}
	return idx
}

// article is a kind with its indefinite article ("an object").
func article(k runtime.Kind) string {
	if k == runtime.KindObject || k == runtime.KindAbsent {
		return "an " + k.String()
	}
	return "a " + k.String()
}
