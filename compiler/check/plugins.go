package check

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/wasm"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// pluginDecl is one entry of the plugins section: the wasm.Plugin the
// back ends run (nil when the entry has errors, which were reported).
type pluginDecl struct {
	name   string
	node   *config.Node
	plugin *wasm.Plugin
}

// pluginLoadTimeout bounds compiling a module and reading its manifest.
const pluginLoadTimeout = 2 * time.Minute

// plugins loads every entry of the plugins section: its module (compiled,
// its exports and manifest checked) and its config, validated against the
// manifest's config_schema, each error at its position.
func (c *checker) plugins() {
	c.pluginDecls = map[string]*pluginDecl{}
	sec := c.file.Root.Get("plugins")
	if sec == nil || sec.Kind != config.Map {
		return
	}
	for i, name := range sec.Keys {
		n := sec.Items[i]
		pd := &pluginDecl{name: name, node: n}
		c.pluginDecls[name] = pd
		if n.Kind != config.Map {
			continue // reported by #Config validation
		}
		if c.builtinName(name) {
			c.errs.Add(n.KeyPos, source.CodeInvalidValue, "plugins."+name, "plugin name %q is also a built-in connector or transform type; give the plugin another name", name)
			continue
		}
		pd.plugin = c.plugin(name, n)
	}
}

// builtinName reports whether name is a built-in connector or transform.
func (c *checker) builtinName(name string) bool {
	for _, k := range []bind.Kind{bind.Source, bind.Sink} {
		if _, ok := bind.Lookup(k, name); ok {
			return true
		}
	}
	_, ok := bind.LookupTransform(name)
	return ok
}

// plugin reads and loads one entry; nil after reporting an error.
func (c *checker) plugin(name string, n *config.Node) *wasm.Plugin {
	path := []string{"plugins", name}
	at := func(keys ...string) string { return config.JoinPath(append(path, keys...)) }
	dir := filepath.Dir(c.file.Name)
	local := func(p string) string {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	pn := n.Get("path")
	if pn == nil || pn.Kind != config.String || pn.Text == "" {
		return nil // reported by #Config validation
	}
	p := &wasm.Plugin{Name: name, Module: runtime.File{Path: local(pn.Text), Name: pn.Text}, MemoryMB: wasm.DefaultMemoryMB, TimeoutMs: wasm.DefaultTimeoutMs}
	ok := true
	intAt := func(keys ...string) (int, bool) {
		v := n.Lookup(keys...)
		if v == nil {
			return 0, false
		}
		i, err := strconv.Atoi(v.Text)
		return i, err == nil && v.Kind == config.Int
	}
	if v, set := intAt("limits", "memory_mb"); set {
		p.MemoryMB = v
	}
	if v, set := intAt("limits", "timeout_ms"); set {
		p.TimeoutMs, p.Unbounded = v, v == 0
	}
	if fs := n.Get("allow_fs"); fs != nil && fs.Kind == config.Seq {
		for i, m := range fs.Items {
			h, g := m.Get("host"), m.Get("guest")
			if h == nil || g == nil || h.Kind != config.String || g.Kind != config.String {
				ok = false
				continue
			}
			mt := wasm.Mount{Host: local(h.Text), Guest: g.Text, ReadOnly: true}
			if ro := m.Get("read_only"); ro != nil && ro.Kind == config.Bool {
				mt.ReadOnly = ro.Text == "true"
			}
			if g.Text == "/" && len(fs.Items) > 1 {
				c.errs.Add(g.Pos, source.CodeInvalidValue, at("allow_fs", strconv.Itoa(i), "guest"), "guest / hides the other mounts; mount each directory at its own path")
				ok = false
			}
			p.Mounts = append(p.Mounts, mt)
		}
	}
	for _, key := range []string{"allow_network", "env"} {
		if l := n.Get(key); l != nil && l.Kind == config.Seq {
			for _, it := range l.Items {
				if it.Kind != config.String {
					continue
				}
				if key == "env" {
					p.Env = append(p.Env, it.Text)
				} else {
					p.Network = append(p.Network, it.Text)
				}
			}
		}
	}
	if sd := c.file.Root.Lookup("settings", "state_dir"); sd != nil && sd.Kind == config.String && sd.Text != "" {
		p.StateDir = local(sd.Text)
		p.CacheDir = p.StateDir
	}
	cfg := n.Get("config")
	p.Config = runtime.ObjectValue(runtime.NewObject(0))
	if cfg != nil && cfg.Kind == config.Map {
		p.Config = bind.ValueOf(cfg)
		p.SecretKeys = secretKeys(cfg, nil, nil)
	}
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pluginLoadTimeout)
	defer cancel()
	m, err := wasm.Load(ctx, *p)
	if err != nil {
		c.errs.Add(pn.Pos, source.CodeBadPlugin, at("path"), "%s", runtime.Redactor(c.out.Secrets)(err.Error()))
		return nil
	}
	mf := m.Manifest
	p.SHA256, p.Kind, p.Encoding, p.KeepsSchema, p.Streams, p.Splits = m.SHA256, mf.Kind, mf.Encoding, mf.KeepsSchema, mf.Streams, mf.Splits
	if p.Encoding == "" {
		p.Encoding = abi.EncodingBinary
	}
	if len(mf.ConfigSchema) > 0 && !c.pluginConfig(name, mf, cfg, p.Config, path) {
		return nil
	}
	return p
}

// pluginConfig validates a plugin's config against its manifest's
// config_schema, reporting each problem at the key it concerns.
func (c *checker) pluginConfig(name string, mf abi.Manifest, cfg *config.Node, v runtime.Value, path []string) bool {
	val, err := schemas.NewJSONValidator([]byte(mf.ConfigSchema))
	if err != nil {
		c.errs.Add(c.posOf(append(path, "path")), source.CodeBadPlugin, config.JoinPath(append(path, "path")),
			"plugin %q: its manifest's config_schema is not a JSON Schema this host reads: %v", name, err)
		return false
	}
	err = val.Validate(v)
	if err == nil {
		return true
	}
	ve, ok := err.(*schemas.JSONValidationError)
	if !ok {
		c.errs.Add(c.posOf(append(path, "config")), source.CodeInvalidValue, config.JoinPath(append(path, "config")), "%v", err)
		return false
	}
	for _, pr := range ve.Problems {
		keys := append(append([]string{}, path...), "config")
		for _, t := range strings.Split(strings.TrimPrefix(pr.Path, "/"), "/") {
			if t != "" {
				keys = append(keys, strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~"))
			}
		}
		pos := c.posOf(keys)
		if pr.Keyword == "additionalProperties" {
			// Placed at the first key the schema does not allow.
			if m := quotedName.FindStringSubmatch(pr.Message); m != nil {
				if n := c.file.Root.Lookup(append(keys, m[1])...); n != nil {
					pos, keys = n.KeyPos, append(keys, m[1])
				}
			}
		}
		if cfg == nil {
			pos = c.posOf(path)
		}
		msg := pr.Message
		if pr.Keyword != "" {
			msg = pr.Keyword + ": " + msg
		}
		c.errs.Add(pos, source.CodeInvalidValue, config.JoinPath(keys), "plugin %q's config_schema: %s", name, msg)
	}
	return false
}

// quotedName is the first property an additionalProperties problem names.
var quotedName = regexp.MustCompile(`'([^']*)'`)

// secretKeys lists the dotted paths of n's scalars that are secrets: from
// ${VAR}, or under a key naming a password, secret, token or key.
func secretKeys(n *config.Node, at []string, out []string) []string {
	switch n.Kind {
	case config.Map:
		for i, k := range n.Keys {
			sub := append(append([]string{}, at...), k)
			if secretName(k) && n.Items[i].Kind != config.Map && n.Items[i].Kind != config.Seq {
				out = append(out, strings.Join(sub, "."))
				continue
			}
			out = secretKeys(n.Items[i], sub, out)
		}
	case config.Seq:
		for i, it := range n.Items {
			out = secretKeys(it, append(append([]string{}, at...), strconv.Itoa(i)), out)
		}
	default:
		if len(n.Vars) > 0 {
			out = append(out, strings.Join(at, "."))
		}
	}
	return out
}

func secretName(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"password", "secret", "token", "api_key", "apikey", "credential", "private_key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// pluginComponent makes a source or sink whose connector is a plugin; nil
// after reporting why it cannot be one.
func (c *checker) pluginComponent(kind bind.Kind, n, conn *config.Node, path []string, pd *pluginDecl) *Component {
	if pd.plugin == nil {
		return nil // the entry's errors were reported
	}
	if !c.pluginRole(kind, conn, append(path, "connector"), pd) {
		return nil
	}
	if cfg := n.Get("config"); cfg != nil {
		c.errs.Add(cfg.KeyPos, source.CodeInvalidValue, config.JoinPath(append(path, "config")),
			"%s %q runs plugin %q, whose config is plugins.%s.config; for another config declare another plugin entry with the same path", kind, path[1], pd.name, pd.name)
		return nil
	}
	if st := n.Get("streams"); st != nil && kind == bind.Source {
		c.errs.Add(st.KeyPos, source.CodeInvalidValue, config.JoinPath(append(path, "streams")),
			"source %q runs plugin %q, whose streams are those its manifest declares; remove streams", path[1], pd.name)
		return nil
	}
	b := bind.PluginSource
	if kind == bind.Sink {
		b = bind.PluginSink
	}
	comp := &Component{Name: path[1], Connector: conn.Text, Bind: b, Config: *pd.plugin}
	if b.Schema != nil {
		s, err := b.Schema(*pd.plugin)
		if err != nil {
			c.errs.Add(conn.Pos, source.CodeBadPlugin, config.JoinPath(append(path, "connector")), "plugin %q: %v", pd.name, err)
			return nil
		}
		comp.Schema = s
	}
	return comp
}

// pluginRole refuses a plugin used in a role its manifest does not say.
func (c *checker) pluginRole(kind bind.Kind, at *config.Node, path []string, pd *pluginDecl) bool {
	if k, ok := bind.PluginManifestKinds[pd.plugin.Kind]; ok && k == kind {
		return true
	}
	c.errs.Add(at.Pos, source.CodeInvalidValue, config.JoinPath(path),
		"plugin %q is a %s (its manifest says so); it cannot be a %s", pd.name, pd.plugin.Kind, kind)
	return false
}

// pluginTransform declares a transform whose type is a plugin.
func (c *checker) pluginTransform(name string, n, typ *config.Node, path []string, pd *pluginDecl) {
	if pd.plugin == nil || !c.pluginRole(bind.Transform, typ, append(path, "type"), pd) {
		return
	}
	if cfg := n.Get("config"); cfg != nil {
		c.errs.Add(cfg.KeyPos, source.CodeInvalidValue, config.JoinPath(append(path, "config")),
			"transform %q runs plugin %q, whose config is plugins.%s.config; for another config declare another plugin entry with the same path", name, pd.name, pd.name)
		return
	}
	var streams *config.Node
	if st := n.Get("streams"); st != nil && st.Kind == config.Seq {
		streams = st
	}
	c.transforms[name] = &transformDecl{name: name, typ: typ.Text, bind: bind.PluginTransform(*pd.plugin), streams: streams, node: orEmpty(nil), ok: true}
}
