package plan

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm"
)

// Dump renders the plan as deterministic text: the same plan always gives
// the same bytes. Texts that came from environment variables are shown as
// "<secret>".
func (p *Plan) Dump() string {
	var b strings.Builder
	d := dumper{b: &b, secrets: p.Secrets}
	for i, pp := range p.Pipelines {
		if i > 0 {
			b.WriteByte('\n')
		}
		d.pipeline(pp)
	}
	return b.String()
}

type dumper struct {
	b       *strings.Builder
	secrets []string
}

func (d *dumper) f(format string, args ...any) { fmt.Fprintf(d.b, format, args...) }

func (d *dumper) pipeline(p *Pipeline) {
	state := "enabled"
	if !p.Enabled {
		state = "disabled"
	}
	d.f("pipeline %s (%s)\n", strconv.Quote(p.Name), state)
	if p.Origin != "" {
		d.f("  origin: %s\n", p.Origin)
	}
	d.component("source", p.Source)
	for i, s := range p.Stages {
		d.f("  schema: %s\n", schemaText(p.Schemas[i]))
		d.stage(i, s)
	}
	d.f("  schema: %s\n", schemaText(p.Schemas[len(p.Schemas)-1]))
	d.component("sink", p.Sink)
	st := p.Settings
	d.f("  settings: on_error=%s rate_limit=%d", st.OnError, st.RateLimit)
	if st.DeadLetterSink != "" {
		d.f(" dead_letter_sink=%s", strconv.Quote(st.DeadLetterSink))
	}
	d.f("\n")
	if c := st.Cluster; c.Enabled {
		node := "(host name)"
		if c.Node != "" {
			node = d.hide(strconv.Quote(c.Node))
		}
		mode := "partitioned"
		switch {
		case st.Singleton:
			mode = "singleton"
		case st.Tasks > 0:
			mode = "scalable tasks=" + strconv.Itoa(st.Tasks)
		}
		d.f("  cluster: %s node=%s heartbeat_ms=%d failure_timeout_ms=%d cluster_topic=%s\n",
			mode, node, c.HeartbeatMs, c.FailureTimeoutMs, strconv.Quote(c.Topic))
	}
}

func (d *dumper) component(role string, c Component) {
	d.f("  %s %s: %s %s\n", role, strconv.Quote(c.Name), c.Connector, d.value(reflect.ValueOf(c.Config)))
	for _, n := range c.Notes {
		d.f("    %s\n", d.hide(n))
	}
}

func (d *dumper) stage(i int, s *Stage) {
	names := make([]string, len(s.Parts))
	for j, n := range s.Names() {
		names[j] = strconv.Quote(n)
	}
	on := ""
	if s.Scope != nil {
		var streams []string
		for _, sc := range s.Scope {
			streams = append(streams, bind.StreamFullName(sc))
		}
		on = " on " + strings.Join(streams, ", ")
	}
	d.f("  stage %d %s [%s]%s: %s\n", i, s.Kind(), strings.Join(names, " "), on, s.Spec.Dump(specDumper{d}))
}

// specDumper is the bind.Dumper stages render themselves with.
type specDumper struct{ d *dumper }

func (s specDumper) Cond(c *cond.Condition) string { return s.d.cond(c) }
func (s specDumper) Quoted(x string) string        { return s.d.quoted(x) }
func (s specDumper) Value(v any) string            { return s.d.value(reflect.ValueOf(v)) }
func (s specDumper) IsSecret(raw string) bool      { return s.d.isSecret(raw) }

func schemaText(s *runtime.Schema) string {
	if s == nil {
		return "(known at run time)"
	}
	var parts []string
	for _, f := range s.Fields {
		if f.Type.Kind == runtime.KindAbsent {
			continue
		}
		t := f.Type.String()
		if f.Nullable {
			t = "?" + t
		}
		parts = append(parts, f.Name+" "+t)
	}
	return strings.Join(parts, ", ")
}

var (
	valueType  = reflect.TypeOf(runtime.Value{})
	fileType   = reflect.TypeOf(runtime.File{})
	pluginType = reflect.TypeOf(wasm.Plugin{})
	maskedJSON = string(runtime.AppendJSON(nil, runtime.String(runtime.SecretMask)))
)

// value renders plain config data compactly: structs as {Field: value},
// zero fields left out.
func (d *dumper) value(v reflect.Value) string {
	if !v.IsValid() {
		return "{}"
	}
	if v.Type() == pluginType {
		v = reflect.ValueOf(v.Interface().(wasm.Plugin).Masked())
	}
	if v.Type() == fileType {
		return strconv.Quote(v.Interface().(runtime.File).Name) // as the config names it
	}
	if v.Type() == valueType {
		val := v.Interface().(runtime.Value)
		if val.Kind() == runtime.KindString && d.isSecret(val.AsString()) {
			return "<secret>"
		}
		// A masked value (wasm.Plugin.Masked) shows as the mask, unquoted.
		return strings.ReplaceAll(d.secret(string(runtime.AppendJSON(nil, val))), maskedJSON, runtime.SecretMask)
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return "nil"
		}
		return d.value(v.Elem())
	case reflect.Struct:
		var parts []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || v.Field(i).IsZero() {
				continue
			}
			if IsSecretField(f.Name) {
				parts = append(parts, f.Name+": <secret>")
				continue
			}
			parts = append(parts, f.Name+": "+d.value(v.Field(i)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case reflect.Slice:
		var parts []string
		for i := range v.Len() {
			parts = append(parts, d.value(v.Index(i)))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprint(k)+": "+d.value(v.MapIndex(k)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case reflect.String:
		return d.quoted(v.String())
	}
	return d.secret(fmt.Sprint(v.Interface()))
}

// cond renders a condition, hiding one whose text came from the
// environment (its constants would show the secret).
func (d *dumper) cond(c interface{ Dump() string }) string {
	if h, ok := c.(interface{ FromEnv() bool }); ok && h.FromEnv() {
		return "<condition from the environment>"
	}
	return d.secret(c.Dump())
}

// quoted renders a string value quoted, or "<secret>" when it holds an
// environment-derived text (checked on the raw text, before quoting).
func (d *dumper) quoted(s string) string {
	if d.isSecret(s) {
		return "<secret>"
	}
	return strconv.Quote(s)
}

// isSecret reports whether raw contains an environment-derived text (short
// texts only when they are the whole value, so that a variable holding "3"
// does not hide every number with a 3 in it).
func (d *dumper) isSecret(raw string) bool {
	for _, sec := range d.secrets {
		switch {
		case sec == "":
		case len(sec) < 4 && raw == sec:
			return true
		case len(sec) >= 4 && strings.Contains(raw, sec):
			return true
		}
	}
	return false
}

// hide replaces every environment-derived text of at least 4 bytes inside
// a free text with "<secret>".
func (d *dumper) hide(s string) string {
	for _, sec := range d.secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "<secret>")
		}
	}
	return s
}

// secret hides a rendered non-string value that shows a secret.
func (d *dumper) secret(s string) string {
	if d.isSecret(s) {
		return "<secret>"
	}
	return s
}

// IsSecretField reports whether a config struct field holds a secret by its
// nature (a password), whether written literally or from ${VAR}: dumps hide
// it and generated code must not contain it.
func IsSecretField(name string) bool {
	return strings.HasSuffix(name, "Password") || strings.HasSuffix(name, "Secret") || strings.HasSuffix(name, "Token")
}
