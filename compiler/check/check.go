package check

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/lock"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas/registry"
	"github.com/rivven/rivven-connect/stdlib/postgres/cdc"
	"github.com/rivven/rivven-connect/stdlib/rivven/broker"
)

type checker struct {
	schema *Schema
	file   *config.File
	errs   source.Errors
	out    *Config

	sources, sinks map[string]*Component
	transforms     map[string]*transformDecl
	needsRegistry  bool // a sink's format needs the schema registry
	registryErr    bool // where the registry keeps its schemas is reported missing

	// The top-level broker section, read and checked once (brokerConn).
	brokerRead, brokerOK bool
	brokerVal            broker.Conn
	// defaultPartitionsUsed: some rivven sink creates topics with
	// settings.topic.default_partitions (sinkTopics).
	defaultPartitionsUsed bool
	// deferred holds, during validate, the collections it validates a
	// chunk at a time.
	deferred map[*config.Node]bool
	// fields caches the fields of struct schemas (validate).
	fields schemaFields
	// valid holds the values of the valid component configs met, by
	// definition and content (validate).
	valid map[cue.Value]map[string]cue.Value
	// suggested counts the candidates of suggestions made (suggest).
	suggested int
	// lock is the schema lock of the config's sources (nil: none).
	lock *lock.Lock
	// deadLetterSinks are the sinks implied by dead_letter_topic, by name.
	deadLetterSinks map[string]*Component
	// pluginDecls are the entries of the plugins section, by name.
	pluginDecls map[string]*pluginDecl
}

type transformDecl struct {
	name, typ string
	bind      *bind.TransformType
	streams   *config.Node // the transform's `streams` list (nil: every stream)
	node      *config.Node // the transform's config block
	value     cue.Value    // validated, defaulted config
	ok        bool
}

// Check validates f and resolves it, with the schema lock l of its
// sources (nil: none). It returns every error it finds, sorted; the
// Config is nil when there are any.
func Check(f *config.File, l *lock.Lock) (*Config, source.Errors) {
	s, err := LoadSchema()
	if err != nil {
		// The embedded definitions are part of the binary; a failure here is
		// a build defect, reported rather than panicking.
		var errs source.Errors
		errs.Add(source.Pos{File: f.Name, Line: 1, Column: 1}, source.CodeInvalidValue, "", "internal error: %v", err)
		return nil, errs
	}
	c := &checker{
		schema:     s,
		file:       f,
		out:        &Config{File: f.Name},
		sources:    map[string]*Component{},
		sinks:      map[string]*Component{},
		transforms: map[string]*transformDecl{},
		lock:       l,
	}
	c.run()
	if len(c.errs) > 0 {
		c.hideSecrets()
		return nil, c.errs.Sorted()
	}
	return c.out, nil
}

// hideSecrets is the last guard of SPEC §2.1 (the values of variables
// never appear in messages), behind the checks that name the variable
// instead of quoting its value: errors passed on from components
// (decoding, schemas, stream lists) may quote config values. In each error
// it replaces the text of every value from a variable at or under the
// error's path with "(from ${NAME})" — quoted, or, when it is at least
// secretLength bytes long (a shorter one could be a word of the message),
// as it is.
func (c *checker) hideSecrets() {
	type secret struct{ path, text, shown string }
	var secrets []secret
	var walk func(n *config.Node, path []string)
	walk = func(n *config.Node, path []string) {
		if len(n.Vars) > 0 && n.Text != "" {
			secrets = append(secrets, secret{config.JoinPath(path), n.Text, "(from ${" + n.Vars[0].Name + "})"})
		}
		for i, it := range n.Items {
			key := strconv.Itoa(i)
			if n.Kind == config.Map {
				key = n.Keys[i]
			}
			walk(it, append(path[:len(path):len(path)], key))
		}
	}
	walk(c.file.Root, nil)
	if len(secrets) == 0 {
		return
	}
	sort.Slice(secrets, func(i, j int) bool { return secrets[i].path < secrets[j].path })
	for _, e := range c.errs {
		var found []secret
		for i := sort.Search(len(secrets), func(i int) bool { return secrets[i].path >= e.Path }); i < len(secrets) && strings.HasPrefix(secrets[i].path, e.Path); i++ {
			if rest := secrets[i].path[len(e.Path):]; e.Path == "" || rest == "" || rest[0] == '.' || rest[0] == '[' {
				found = append(found, secrets[i])
			}
		}
		// The longest first, so a secret holding another is replaced whole.
		sort.Slice(found, func(i, j int) bool { return len(found[i].text) > len(found[j].text) })
		for _, s := range found {
			e.Message = strings.ReplaceAll(e.Message, strconv.Quote(s.text), s.shown)
			if len(s.text) >= secretLength {
				e.Message = strings.ReplaceAll(e.Message, s.text, s.shown)
			}
		}
	}
}

// redact replaces in msg, a message passed on from elsewhere, the text of
// every value from a variable in the subtrees at (nil ones are skipped),
// as hideSecrets does.
func (c *checker) redact(msg string, at ...*config.Node) string {
	var walk func(n *config.Node)
	walk = func(n *config.Node) {
		if len(n.Vars) > 0 && n.Text != "" {
			shown := "(from ${" + n.Vars[0].Name + "})"
			msg = strings.ReplaceAll(msg, strconv.Quote(n.Text), shown)
			if len(n.Text) >= secretLength {
				msg = strings.ReplaceAll(msg, n.Text, shown)
			}
		}
		for _, it := range n.Items {
			walk(it)
		}
	}
	for _, n := range at {
		if n != nil {
			walk(n)
		}
	}
	return msg
}

// secretLength is the length from which hideSecrets replaces a value that
// is not quoted.
const secretLength = 4

func (c *checker) posOf(path []string) source.Pos {
	n, _ := c.file.Root.Nearest(path...)
	return n.Pos
}

func (c *checker) run() {
	root := c.file.Root
	c.collectSecrets(root)
	if pw := root.Lookup("schema_registry", "auth", "password"); pw != nil && pw.Kind == config.String && pw.Text != "" {
		c.out.Secrets = append(c.out.Secrets, pw.Text) // a literal password is a secret too
	}
	if root.Kind != config.Map {
		return // config.Parse reported it; nothing below can be checked
	}
	c.validate(c.schema.Def("#Config"), root, nil, false)
	c.unavailable(root)
	if root.Get("broker") != nil {
		c.brokerConn() // checked whether or not anything uses it
	}
	c.settingsMisfits()
	c.registryMisfits()
	if m := root.Lookup("schema_registry", "mode"); m != nil && m.Kind == config.String && m.Text == "external" {
		if u := root.Lookup("schema_registry", "url"); u == nil || u.Kind != config.String || u.Text == "" {
			c.errs.Add(m.Pos, source.CodeMissingKey, "schema_registry.url", "schema_registry: mode external needs url (the Confluent-compatible registry's base URL)")
		} else if _, err := registry.NewClient(u.Text, registry.ClientOptions{}); err != nil && !u.Bad {
			msg := err.Error()
			if len(u.Vars) > 0 {
				msg = fmt.Sprintf("the url from ${%s} is not an http(s)://host[:port][/path] URL", u.Vars[0].Name)
			}
			c.errs.Add(u.Pos, source.CodeInvalidValue, "schema_registry.url", "%s", msg)
		}
	}

	c.plugins()
	c.components(bind.Source, "sources", "connector", func(name string, comp *Component) {
		c.sources[name] = comp
		c.out.Sources = append(c.out.Sources, comp)
	})
	c.lockedSources()
	c.components(bind.Sink, "sinks", "connector", func(name string, comp *Component) {
		c.sinks[name] = comp
		c.out.Sinks = append(c.out.Sinks, comp)
	})
	c.transformDecls()
	c.topicKeyMisfits()
	c.registryPlacement()
	if l := root.Lookup("schema_registry", "listen"); l != nil && l.Kind == config.String && !l.Bad {
		if _, _, err := net.SplitHostPort(l.Text); err != nil {
			c.errs.Add(l.Pos, source.CodeInvalidValue, "schema_registry.listen", "listen address %s is not host:port (e.g. 127.0.0.1:8081)", c.shown(l))
		}
	}

	pipes := root.Get("pipelines")
	if pipes != nil && pipes.Kind == config.Map {
		for i, name := range pipes.Keys {
			c.pipeline(name, pipes.Items[i])
		}
	}
	c.desugar()
	c.distributed()
	c.topicSettingsMisfits()
	if conn, ok := c.brokerConn(); ok {
		c.out.Broker = &conn
	}
	c.collectEnv(root, nil) // after validation, which may retype quoted ${VAR}s
	sort.Slice(c.out.Pipelines, func(i, j int) bool { return c.out.Pipelines[i].Name < c.out.Pipelines[j].Name })
	sort.Slice(c.out.Sources, func(i, j int) bool { return c.out.Sources[i].Name < c.out.Sources[j].Name })
	sort.Slice(c.out.Sinks, func(i, j int) bool { return c.out.Sinks[i].Name < c.out.Sinks[j].Name })
	if len(c.out.Pipelines) == 0 && len(c.errs) == 0 {
		c.errs.Add(root.Pos, source.CodeNoPipelines, "pipelines", "nothing to run: declare a pipeline under pipelines (source, sink, transforms), or give a source a topic / a sink topics")
	}
}

// collectSecrets records every substituted text, so that no dump shows it.
func (c *checker) collectSecrets(n *config.Node) {
	if n == nil {
		return
	}
	if len(n.Vars) > 0 && n.Text != "" {
		c.out.Secrets = append(c.out.Secrets, n.Text)
	}
	for _, it := range n.Items {
		c.collectSecrets(it)
	}
}

// collectEnv records every environment-derived scalar with its path.
func (c *checker) collectEnv(n *config.Node, path []string) {
	if n == nil {
		return
	}
	if len(n.Vars) > 0 {
		kind := map[config.Kind]runtime.Kind{config.Null: runtime.KindNull, config.Bool: runtime.KindBool,
			config.Int: runtime.KindInt, config.Float: runtime.KindFloat}[n.Kind]
		if n.Kind == config.String {
			kind = runtime.KindString
		}
		c.out.Env = append(c.out.Env, EnvBinding{Path: append([]string(nil), path...), Pos: n.Pos, Raw: n.Raw, Kind: kind})
	}
	for i, it := range n.Items {
		key := fmt.Sprint(i)
		if n.Kind == config.Map {
			key = n.Keys[i]
		}
		c.collectEnv(it, append(path[:len(path):len(path)], key))
	}
}

// components resolves the connector and validates the config of every
// source or sink.
func (c *checker) components(kind bind.Kind, section, key string, add func(string, *Component)) {
	sec := c.file.Root.Get(section)
	if sec == nil || sec.Kind != config.Map {
		return
	}
	names, defs := c.schema.Connectors(kind.CUEKind())
	for i, name := range sec.Keys {
		n := sec.Items[i]
		conn := n.Get(key)
		if conn == nil || conn.Kind != config.String {
			continue // reported by #Config validation
		}
		path := []string{section, name}
		b, ok := bind.Lookup(kind, conn.Text)
		def, inCUE := defs[conn.Text]
		if pd := c.pluginDecls[conn.Text]; pd != nil {
			if comp := c.pluginComponent(kind, n, conn, path, pd); comp != nil {
				add(name, comp)
			}
			continue
		}
		if !ok || !inCUE {
			msg := fmt.Sprintf("unknown %s connector %s", kind, c.shown(conn))
			if s := source.Suggest(conn.Text, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			c.errs.Add(conn.Pos, source.CodeUnknownConnector, config.JoinPath(append(path, key)), "%s; available: %s", msg, strings.Join(names, ", "))
			continue
		}
		cfgNode := n.Get("config")
		v, valid := c.validate(def, cfgNode, append(path, "config"), true)
		if cfgNode == nil || cfgNode.Kind == config.Map {
			// A block of another kind is reported by the validation.
			if b.Conn && !c.checkConn(cfgNode, append(path, "config"), fmt.Sprintf("the config of %s %q", kind, name)) {
				valid = false
			}
			if b.Misfits != nil {
				c.misfits(b.Misfits(cfgNode), cfgNode, append(path, "config"))
			}
		}
		comp := &Component{Name: name, Connector: conn.Text, Bind: b}
		if valid {
			cfg, err := b.Decode(v, orEmpty(cfgNode))
			if err != nil {
				c.errs.Add(c.posOf(append(path, "config")), source.CodeInvalidValue, config.JoinPath(append(path, "config")), "%v", err)
				continue
			}
			if kind == bind.Source {
				if cfg, valid = c.sourceStreams(cfg, n.Get("streams"), append(path, "streams")); !valid {
					continue
				}
			}
			if b.Named != nil {
				cfg = b.Named(cfg, name)
			}
			cfg = c.brokerDefaults(name, cfg, cfgNode, append(path, "config"))
			comp.Config = cfg
			if kind == bind.Sink && b.Go != nil && b.Go.Formats {
				// A sink that encodes through the process's typed formats
				// (the schema registry); s3's avro, say, embeds its schema.
				c.typedFormat(cfgNode, append(path, "config", "format"))
			}
			if b.Schema != nil {
				s, err := b.Schema(cfg)
				if err != nil {
					c.errs.Add(c.posOf(append(path, "config")), source.CodeInvalidValue, config.JoinPath(append(path, "config")), "%v", err)
					continue
				}
				comp.Schema = s
			}
		}
		add(name, comp)
	}
}

func orEmpty(n *config.Node) *config.Node {
	if n == nil {
		return &config.Node{Kind: config.Map}
	}
	return n
}

func (c *checker) transformDecls() {
	sec := c.file.Root.Get("transforms")
	if sec == nil || sec.Kind != config.Map {
		return
	}
	names, defs := c.schema.Connectors("transforms")
	for i, name := range sec.Keys {
		n := sec.Items[i]
		typ := n.Get("type")
		if typ == nil || typ.Kind != config.String {
			continue
		}
		path := []string{"transforms", name}
		def, ok := defs[typ.Text]
		if pd := c.pluginDecls[typ.Text]; pd != nil {
			c.pluginTransform(name, n, typ, path, pd)
			continue
		}
		if !ok {
			msg := fmt.Sprintf("unknown transform type %s", c.shown(typ))
			if s := source.Suggest(typ.Text, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			c.errs.Add(typ.Pos, source.CodeUnknownConnector, config.JoinPath(append(path, "type")), "%s; available: %s", msg, strings.Join(names, ", "))
			continue
		}
		cfgNode := n.Get("config")
		v, valid := c.validate(def, cfgNode, append(path, "config"), true)
		t, ok := bind.LookupTransform(typ.Text)
		if !ok {
			// A CUE definition without a registration is a build defect.
			c.errs.Add(typ.Pos, source.CodeNotAvailable, config.JoinPath(append(path, "type")), "transform type %s is not built into this version of rivven-connect", c.shown(typ))
			continue
		}
		if t.Misfits != nil && cfgNode != nil && cfgNode.Kind == config.Map {
			c.misfits(t.Misfits(cfgNode), cfgNode, append(path, "config"))
		}
		var streams *config.Node
		if st := n.Get("streams"); st != nil && st.Kind == config.Seq {
			streams = st
		}
		c.transforms[name] = &transformDecl{name: name, typ: typ.Text, bind: t, streams: streams, node: orEmpty(cfgNode), value: v, ok: valid}
	}
}

func (c *checker) pipeline(name string, n *config.Node) {
	if n.Kind != config.Map {
		return
	}
	path := []string{"pipelines", name}
	p := &Pipeline{Name: name, Enabled: true}
	if e := n.Get("enabled"); e != nil && e.Kind == config.Bool {
		p.Enabled = e.Text == "true"
	}
	ok := true
	resolve := func(key, what string, table map[string]*Component, section string) *Component {
		ref := n.Get(key)
		if ref == nil || ref.Kind != config.String {
			ok = false
			return nil
		}
		comp := table[ref.Text]
		if comp == nil {
			ok = false
			if c.file.Root.Lookup(section, ref.Text) != nil {
				return nil // declared but invalid: already reported
			}
			c.errs.Add(ref.Pos, source.CodeUnknownRef, config.JoinPath(append(path, key)), "%s", c.refMessage(what, ref, section))
		}
		return comp
	}
	p.Source = resolve("source", "source", c.sources, "sources")
	p.Sink = resolve("sink", "sink", c.sinks, "sinks")
	var decls []*transformDecl
	if ts := n.Get("transforms"); ts != nil && ts.Kind == config.Seq {
		for i, t := range ts.Items {
			if t.Kind != config.String {
				ok = false
				continue
			}
			d := c.transforms[t.Text]
			if d == nil {
				ok = false
				if c.file.Root.Lookup("transforms", t.Text) == nil {
					c.errs.Add(t.Pos, source.CodeUnknownRef, config.JoinPath(append(path, "transforms", fmt.Sprint(i))), "%s", c.refMessage("transform", t, "transforms"))
				}
				continue
			}
			decls = append(decls, d)
		}
	}
	c.settings(p, n.Get("settings"), path)
	if p.Source != nil {
		// Type-check the transforms that resolved even when something else
		// is wrong, so one run reports every error.
		c.steps(p, decls)
	}
	if ok && c.wire(p, n.Get("sink").Pos, config.JoinPath(append(path, "sink"))) {
		c.out.Pipelines = append(c.out.Pipelines, p)
	}
}

// wire gives p its own copy of its sink, adapted to p's source and the
// schema reaching the sink by the sink's Wire hook (a default topic, the
// notes explain shows). A failure is reported at pos (the pipeline's sink
// reference) and the pipeline is dropped.
func (c *checker) wire(p *Pipeline, pos source.Pos, path string) bool {
	if p.Sink == nil || p.Source == nil || p.Sink.Bind == nil || p.Sink.Bind.Wire == nil || p.Sink.Config == nil {
		return true
	}
	in := bind.WireInput{Connector: p.Source.Connector, Schema: p.Schemas[len(p.Schemas)-1]}
	if b := p.Source.Bind; b != nil && b.Streams != nil && p.Source.Config != nil {
		in.Streams = b.Streams(p.Source.Config)
	}
	cfg, notes, err := p.Sink.Bind.Wire(p.Sink.Config, in)
	if err != nil {
		msg := c.redact(err.Error(), c.file.Root.Lookup("sinks", p.Sink.Name), c.file.Root.Lookup("sources", p.Source.Name))
		c.errs.Add(pos, source.CodeInvalidValue, path, "sink %q in pipeline %q: %s", p.Sink.Name, p.Name, msg)
		return false
	}
	own := *p.Sink
	own.Config, own.Notes = cfg, notes
	p.Sink = &own
	return true
}

// refMessage says that ref (a string node) names no what under section,
// suggesting a near name and listing the names declared (the first
// listedNames of them). The reference is named by its variable when it
// came from one.
func (c *checker) refMessage(what string, ref *config.Node, section string) string {
	var names []string
	if sec := c.file.Root.Get(section); sec != nil {
		names = sec.Keys
	}
	msg := fmt.Sprintf("no %s named %s", what, c.shown(ref))
	if s := c.suggest(ref.Text, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	switch {
	case len(names) > listedNames:
		msg += fmt.Sprintf("; %s declared: %s, … (%d in all)", section, strings.Join(names[:listedNames], ", "), len(names))
	case len(names) > 0:
		msg += fmt.Sprintf("; %s declared: %s", section, strings.Join(names, ", "))
	default:
		msg += fmt.Sprintf("; the config declares no %s", section)
	}
	return msg
}

// listedNames is how many declared names a message lists.
const listedNames = 20

// suggestBudget bounds the candidates all suggestions of one check
// compare a name with: a config with thousands of names and as many
// mistaken references is checked in linear time (the later mistakes
// without a suggestion).
const suggestBudget = 200_000

// suggest is source.Suggest within suggestBudget.
func (c *checker) suggest(word string, candidates []string) string {
	if c.suggested += len(candidates); c.suggested > suggestBudget {
		return ""
	}
	return source.Suggest(word, candidates)
}

func (c *checker) settings(p *Pipeline, n *config.Node, path []string) {
	c.processSettings(p)
	c.sinkBatch(p)
	if n == nil {
		return
	}
	if r := n.Get("rate_limit"); r != nil && r.Kind == config.Int {
		fmt.Sscan(r.Text, &p.Settings.RateLimit)
	}
	oe := n.Get("on_error")
	dl, dlt := n.Get("dead_letter_sink"), n.Get("dead_letter_topic")
	at := func(key string) string {
		return config.JoinPath(append(append([]string(nil), path...), "settings", key))
	}
	deadLetter := oe != nil && oe.Kind == config.String && oe.Text == "dead_letter"
	if dl != nil && dl.Kind == config.String {
		// The name must resolve whatever on_error says.
		if c.sinks[dl.Text] == nil && c.file.Root.Lookup("sinks", dl.Text) == nil {
			c.errs.Add(dl.Pos, source.CodeUnknownRef, at("dead_letter_sink"), "%s", c.refMessage("sink", dl, "sinks"))
		}
	}
	if dl != nil && dlt != nil {
		c.errs.Add(dlt.KeyPos, source.CodeInvalidValue, at("dead_letter_topic"),
			"dead_letter_sink and dead_letter_topic both say where dead letters go: give one")
	}
	if !deadLetter {
		onError := "on_error is stop, the default"
		if oe != nil && oe.Kind == config.String {
			onError = "on_error is " + oe.Text
			if len(oe.Vars) > 0 {
				onError = fmt.Sprintf("on_error from ${%s} is another", oe.Vars[0].Name)
			}
		}
		for _, k := range []struct {
			key  string
			node *config.Node
		}{{"dead_letter_sink", dl}, {"dead_letter_topic", dlt}} {
			if k.node != nil {
				c.errs.Add(k.node.KeyPos, source.CodeInvalidValue, at(k.key),
					"%s has no effect unless on_error is dead_letter (%s): set on_error: dead_letter, or remove %s", k.key, onError, k.key)
			}
		}
	}
	if oe == nil {
		return
	}
	switch oe.Text {
	case "skip":
		p.Settings.OnError = runtime.OnErrorSkip
	case "dead_letter":
		p.Settings.OnError = runtime.OnErrorDeadLetter
		if dl == nil && dlt == nil {
			c.errs.Add(oe.Pos, source.CodeMissingKey, at("dead_letter_sink"), "on_error: dead_letter needs settings.dead_letter_sink (a sink name) or settings.dead_letter_topic")
		}
		if dl != nil && dl.Kind == config.String {
			if sk := c.sinks[dl.Text]; sk != nil && sk.Bind != nil && sk.Bind.Wire != nil && sk.Config != nil {
				if _, _, err := sk.Bind.Wire(sk.Config, bind.WireInput{DeadLetter: true}); err != nil {
					c.errs.Add(dl.Pos, source.CodeInvalidValue, at("dead_letter_sink"), "dead-letter sink %s: %s", c.shown(dl), c.redact(err.Error(), c.file.Root.Lookup("sinks", dl.Text)))
				}
			}
			p.Settings.DeadLetterSink = dl.Text
		}
		if dl == nil && dlt != nil && dlt.Kind == config.String {
			if sink := c.deadLetterTopic(dlt, append(path, "settings", "dead_letter_topic")); sink != nil {
				p.Settings.DeadLetterSink = sink.Name
			}
		}
		p.Settings.DeadLetterMask = c.maskedPaths(path)
	}
}

// desugar turns the broker-topic shape into pipelines: a source with
// `topic` publishes to the broker through an implied rivven sink; a sink
// with `topics` consumes from it through an implied broker-topic source
// (broker.go builds both, and reports bad topic names and broker
// addresses at their position).
func (c *checker) desugar() {
	root := c.file.Root
	if sec := root.Get("sources"); sec != nil && sec.Kind == config.Map {
		for i, name := range sec.Keys {
			t := sec.Items[i].Get("topic")
			src := c.sources[name]
			if t == nil || t.Kind != config.String || src == nil {
				continue
			}
			if root.Get("broker") == nil {
				c.errs.Add(t.Pos, source.CodeMissingKey, "broker", "source %q publishes to topic %s, which needs a top-level broker section (bootstrap_servers)", name, c.shown(t))
				continue
			}
			sink := c.brokerSink(name, sec.Items[i], t, src)
			if sink == nil {
				continue
			}
			p := &Pipeline{Name: name + "-to-topic", Enabled: true, Source: src, Sink: sink,
				Origin: fmt.Sprintf("source %q publishes to broker topic %s", name, c.shown(t))}
			c.processSettings(p)
			c.steps(p, nil)
			if c.wire(p, t.Pos, config.JoinPath([]string{"sources", name, "topic"})) {
				c.out.Pipelines = append(c.out.Pipelines, p)
			}
		}
	}
	if sec := root.Get("sinks"); sec != nil && sec.Kind == config.Map {
		for i, name := range sec.Keys {
			ts := sec.Items[i].Get("topics")
			sink := c.sinks[name]
			if ts == nil || ts.Kind != config.Seq || sink == nil {
				continue
			}
			if root.Get("broker") == nil {
				c.errs.Add(ts.Pos, source.CodeMissingKey, "broker", "sink %q consumes broker topics, which needs a top-level broker section (bootstrap_servers)", name)
				continue
			}
			var topics []string
			for _, t := range ts.Items {
				topics = append(topics, c.shownPlain(t))
			}
			p := &Pipeline{Name: "topic-to-" + name, Enabled: true, Sink: sink,
				Origin: fmt.Sprintf("sink %q consumes broker topics %s", name, strings.Join(topics, ", "))}
			c.processSettings(p)
			c.sinkBatch(p)
			if p.Source = c.brokerSource(name, sec.Items[i], ts); p.Source == nil {
				continue
			}
			c.steps(p, nil)
			if c.wire(p, ts.Pos, config.JoinPath([]string{"sinks", name, "topics"})) {
				c.out.Pipelines = append(c.out.Pipelines, p)
			}
		}
	}
}

// processSettings fills p's retry and process settings: the values of
// the top-level settings section, and for every key it leaves out the
// default of the CUE definition #Settings (defaults), so that the runtime
// gets concrete values and supplies no default of its own.
func (c *checker) processSettings(p *Pipeline) {
	d := c.defaults()
	s := &p.Settings
	s.Process = d.Process
	s.Process.Registry = registrySettings(c.file.Root.Get("schema_registry"))
	s.Process.Registry.Needed = c.needsRegistry
	s.Retry = c.retry()
	st := c.file.Root.Get("settings")
	if st == nil || st.Kind != config.Map {
		return
	}
	if v := st.Get("state_dir"); v != nil && v.Kind == config.String {
		s.StateDir = v.Text
	}
	if v := st.Get("log_level"); v != nil && v.Kind == config.String {
		s.Process.LogLevel = v.Text
	}
	if n, ok := intSetting(st.Get("shutdown_timeout")); ok {
		s.Process.ShutdownTimeoutMs = n * 1000 // 0: no grace period
	}
	s.Process.Health = serverSetting(st.Get("health"), d.Process.Health)
	s.Process.Metrics = serverSetting(st.Get("metrics"), d.Process.Metrics)
}

// retry reads settings.retry: the retries of retriable sink writes, and of
// the broker-topic sources' retriable broker errors. Keys the config
// leaves out take the defaults of #Settings.retry; max_retries: 0 is 0 (no
// retries).
func (c *checker) retry() runtime.Retry {
	out := c.defaults().Retry
	r := c.file.Root.Lookup("settings", "retry")
	if r == nil || r.Kind != config.Map {
		return out
	}
	if n, ok := intSetting(r.Get("max_retries")); ok {
		out.MaxRetries = n
	}
	if n, ok := intSetting(r.Get("initial_backoff_ms")); ok {
		out.InitialBackoffMs = n
	}
	if n, ok := intSetting(r.Get("max_backoff_ms")); ok {
		out.MaxBackoffMs = n
	}
	if f, ok := floatSetting(r.Get("backoff_multiplier")); ok {
		out.BackoffMultiplier = f
	}
	return out
}

// registrySettings reads the `schema_registry` section (validated by CUE).
func registrySettings(r *config.Node) runtime.Registry {
	var out runtime.Registry
	if r == nil || r.Kind != config.Map {
		return out
	}
	out.Mode = stringAt(r, "mode")
	out.Compatibility = strings.ToUpper(stringAt(r, "compatibility"))
	out.URL = stringAt(r, "url")
	out.Listen = stringAt(r, "listen")
	out.Topic = stringAt(r, "topic")
	if a := r.Get("auth"); a != nil && a.Kind == config.Map {
		out.Username, out.Password = stringAt(a, "username"), stringAt(a, "password")
	}
	return out
}

// stringAt is the string value of n's key, or "" when absent or not a
// string.
func stringAt(n *config.Node, key string) string {
	if v := n.Get(key); v != nil && v.Kind == config.String {
		return v.Text
	}
	return ""
}

// sinkBatch copies the pipeline's sink's `batch` block.
func (c *checker) sinkBatch(p *Pipeline) {
	if p.Sink == nil {
		return
	}
	b := c.file.Root.Lookup("sinks", p.Sink.Name, "batch")
	if b == nil || b.Kind != config.Map {
		return
	}
	if n, ok := intSetting(b.Get("max_records")); ok {
		p.Settings.SinkBatch.MaxRecords = n
	}
	if n, ok := intSetting(b.Get("timeout_ms")); ok {
		p.Settings.SinkBatch.TimeoutMs = n
	}
}

// maskedPaths lists, in order and without duplicates, every field path
// that a field-mask transform of the pipeline at path masks: the fields a
// dead letter of a record that failed inside the program must not show.
func (c *checker) maskedPaths(path []string) []string {
	ts := c.file.Root.Lookup(append(path, "transforms")...)
	if ts == nil || ts.Kind != config.Seq {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range ts.Items {
		d := c.transforms[t.Text]
		if d == nil || d.typ != "field-mask" {
			continue
		}
		fs := d.node.Get("fields")
		if fs == nil || fs.Kind != config.Seq {
			continue
		}
		for _, f := range fs.Items {
			if f.Kind == config.String && !seen[f.Text] {
				seen[f.Text] = true
				out = append(out, f.Text)
			}
		}
	}
	return out
}

// intSetting reads an integer scalar.
func intSetting(n *config.Node) (int, bool) {
	if n == nil || n.Kind != config.Int {
		return 0, false
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(n.Text, "_", ""), 0, 64)
	if err != nil {
		return 0, false
	}
	return int(i), true
}

// typedFormat checks a sink's typed format (runtime.TypedFormatNames): it needs the
// process's schema registry.
func (c *checker) typedFormat(cfg *config.Node, path []string) {
	f := cfg.Get("format")
	if f == nil || f.Kind != config.String || !runtime.IsTypedFormat(f.Text) {
		return
	}
	c.needsRegistry = true
	reg := registrySettings(c.file.Root.Get("schema_registry"))
	if reg.Mode == "external" {
		return
	}
	if c.file.Root.Get("broker") != nil {
		return // the embedded registry keeps its log on the broker
	}
	if sd := c.file.Root.Lookup("settings", "state_dir"); sd == nil || sd.Kind != config.String || sd.Text == "" {
		c.registryErr = true
		c.errs.Add(f.Pos, source.CodeInvalidValue, config.JoinPath(path),
			"format %s needs a schema registry: the embedded one (schema_registry.mode: embedded, the default) keeps its schemas on the broker (top-level `broker` section) or under settings.state_dir, and neither is set; set one, or use schema_registry: {mode: external, url: …}", f.Text)
	}
}

// registryPlacement checks that a declared embedded schema registry has a
// place for its schemas (the broker, or settings.state_dir), as run does
// when it opens the registry.
func (c *checker) registryPlacement() {
	root := c.file.Root
	r := root.Get("schema_registry")
	if r == nil || c.registryErr || registrySettings(r).Mode == "external" || root.Get("broker") != nil {
		return
	}
	if sd := root.Lookup("settings", "state_dir"); sd != nil && sd.Kind == config.String && sd.Text != "" {
		return
	}
	c.errs.Add(r.KeyPos, source.CodeMissingKey, "schema_registry",
		"the embedded schema registry (schema_registry.mode: embedded, the default) keeps its schemas on the broker (top-level `broker` section) or under settings.state_dir, and neither is set; set one, or use schema_registry: {mode: external, url: …}")
}

// sourceStreams applies a source's `streams` list: for postgres-cdc it
// chooses the tables (name, namespace = schema: exact names, any text
// without NUL of at most 63 bytes, written into config.tables quoted as
// needed) and, with sync_mode full_refresh, a one-off snapshot; other
// sources have no stream list.
func (c *checker) sourceStreams(cfg any, streams *config.Node, path []string) (any, bool) {
	if streams == nil || streams.Kind != config.Seq {
		return cfg, true
	}
	pg, ok := cfg.(cdc.Config)
	if !ok {
		c.errs.Add(streams.Pos, source.CodeInvalidValue, config.JoinPath(path), "streams applies to postgres-cdc sources only (this connector's streams are set in its config)")
		return cfg, false
	}
	if len(pg.Tables) > 0 {
		c.errs.Add(streams.Pos, source.CodeInvalidValue, config.JoinPath(path), "give config.tables or streams, not both")
		return cfg, false
	}
	modes := map[string]bool{}
	ok = true
	namesOK := true // else Validate would report the same names again
	for i, st := range streams.Items {
		ipath := append(append([]string{}, path...), fmt.Sprint(i))
		if cf := st.Get("cursor_field"); cf != nil {
			c.errs.Add(cf.Pos, source.CodeInvalidValue, config.JoinPath(append(ipath, "cursor_field")),
				"postgres-cdc orders changes by their WAL position; a cursor_field does not apply (remove it)")
			ok = false
		}
		// The names are literal (not SQL): the table's and schema's exact
		// names, spelled for config.tables as SQL would (quoted when
		// needed: public."Order Items").
		name, ns := stringAt(st, "name"), stringAt(st, "namespace")
		for _, k := range []string{"name", "namespace"} {
			if v := st.Get(k); v != nil && v.Kind == config.String && (k == "name" || v.Text != "") {
				if err := cdc.CheckName(v.Text); err != nil {
					c.errs.Add(v.Pos, source.CodeInvalidValue, config.JoinPath(append(ipath, k)), "%v", err)
					ok, namesOK = false, false
				}
			}
		}
		t := cdc.QuoteName(name)
		if ns != "" {
			t = cdc.QuoteName(ns) + "." + t
		}
		pg.Tables = append(pg.Tables, t)
		mode := stringAt(st, "sync_mode")
		if mode == "" {
			mode = "incremental"
		}
		modes[mode] = true
	}
	if modes["full_refresh"] && modes["incremental"] {
		c.errs.Add(streams.Pos, source.CodeInvalidValue, config.JoinPath(path),
			"streams mix sync_mode full_refresh and incremental; one postgres-cdc source does one or the other — declare two sources")
		ok = false
	}
	if modes["full_refresh"] {
		pg.SnapshotMode = cdc.SnapshotInitialOnly // a one-off consistent read, no slot
	}
	if err := pg.Validate(); err != nil && namesOK {
		c.errs.Add(streams.Pos, source.CodeInvalidValue, config.JoinPath(path), "%v", err)
		ok = false
	}
	return pg, ok
}
