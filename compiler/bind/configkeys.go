package bind

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"github.com/rivven/rivven-connect/compiler/config"
)

// connector registers c, a source or sink whose config is the struct T
// (Component.Config). Its Decode decodes the validated, defaulted CUE
// value of the config block into a T through T's json tags (and into the
// Inline field through that field's own tags), then calls finish, when not
// nil, which sets the fields tagged "-" from the value (Aliases) or from
// the document node n, and checks what CUE cannot; finish returns the
// config the component runs with. Defaults come from the CUE value only:
// neither Decode nor finish sets one.
func connector[T any](c *Component, finish func(cfg T, v cue.Value, n *config.Node) (any, error)) {
	var zero T
	c.Config = zero
	c.Decode = func(v cue.Value, n *config.Node) (any, error) {
		var cfg T
		if err := v.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("decode config: %w", err)
		}
		if c.Inline != "" {
			f := reflect.ValueOf(&cfg).Elem().FieldByName(c.Inline)
			if err := v.Decode(f.Addr().Interface()); err != nil {
				return nil, fmt.Errorf("decode config: %w", err)
			}
		}
		if finish == nil {
			return cfg, nil
		}
		return finish(cfg, v, n)
	}
	register(c)
}

// lookup returns the value at the dotted key path below v (absent when v
// has no such key).
func lookup(v cue.Value, key string) cue.Value {
	var sels []cue.Selector
	for _, k := range strings.Split(key, ".") {
		sels = append(sels, cue.Str(k))
	}
	return v.LookupPath(cue.MakePath(sels...))
}

// FieldPath maps a key path below `config` to the path of the Go field
// inside cfg that holds the key's value, following the json tags of
// c.Config (at the top, also those of its Inline field) and c.Aliases: the
// default Component.GoField. A list index maps to that element when cfg's
// list has it (["tables", "1"] → "Tables[1]"). false: no field holds the
// key's value (an alias to "", a map entry, an unknown key).
func (c *Component) FieldPath(cfg any, key []string) (string, bool) {
	if len(key) == 0 || c.Config == nil {
		return "", false
	}
	if p, ok := c.Aliases[strings.Join(key, ".")]; ok {
		return p, p != ""
	}
	t := reflect.TypeOf(c.Config)
	v := reflect.ValueOf(cfg)
	var path strings.Builder
	for i, k := range key {
		switch t.Kind() {
		case reflect.Struct:
			inline := ""
			if i == 0 {
				inline = c.Inline
			}
			names, ft, ok := fieldByTag(t, k, inline)
			if !ok {
				return "", false
			}
			for _, name := range names {
				if path.Len() > 0 {
					path.WriteByte('.')
				}
				path.WriteString(name)
				if v.IsValid() && v.Kind() == reflect.Struct {
					v = v.FieldByName(name)
				} else {
					v = reflect.Value{}
				}
			}
			t = ft
		case reflect.Slice:
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 || !v.IsValid() || v.Kind() != reflect.Slice || n >= v.Len() {
				return "", false
			}
			fmt.Fprintf(&path, "[%d]", n)
			t, v = t.Elem(), v.Index(n)
		default:
			return "", false
		}
	}
	return path.String(), true
}

// fieldByTag finds the field of struct type t whose json tag names key,
// or, when inline is set, the field of t.inline with that tag. It returns
// the field names on the way ([inline,] field) and the field's type.
func fieldByTag(t reflect.Type, key, inline string) ([]string, reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if jsonName(f) == key {
			return []string{f.Name}, f.Type, true
		}
	}
	if inline != "" {
		if f, ok := t.FieldByName(inline); ok && f.Type.Kind() == reflect.Struct {
			if names, ft, ok := fieldByTag(f.Type, key, ""); ok {
				return append([]string{inline}, names...), ft, true
			}
		}
	}
	return nil, nil, false
}

// jsonName is the key a struct field's json tag names ("" for none or
// "-").
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// tagKeys lists the key paths (dotted) that the json tags of c.Config
// name: each tagged field, and below a tagged struct field the keys of its
// own tags; at the top also those of the Inline field.
func (c *Component) tagKeys() []string {
	if c.Config == nil {
		return nil
	}
	t := reflect.TypeOf(c.Config)
	out := structKeys(t, "")
	if c.Inline != "" {
		if f, ok := t.FieldByName(c.Inline); ok {
			out = append(out, structKeys(f.Type, "")...)
		}
	}
	return out
}

func structKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		if name == "" {
			continue
		}
		out = append(out, prefix+name)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, structKeys(f.Type, prefix+name+".")...)
		}
	}
	return out
}

// hasGoPath reports whether the Go field path p (e.g. "TLS.Mode") names a
// field of c.Config.
func (c *Component) hasGoPath(p string) bool {
	t := reflect.TypeOf(c.Config)
	for _, name := range strings.Split(p, ".") {
		if t.Kind() != reflect.Struct {
			return false
		}
		f, ok := t.FieldByName(name)
		if !ok {
			return false
		}
		t = f.Type
	}
	return true
}
