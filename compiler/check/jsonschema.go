package check

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// JSONSchemaDraft is the "$schema" of every document JSONSchema and
// ConfigJSONSchema render.
const JSONSchemaDraft = "https://json-schema.org/draft/2020-12/schema"

// JSONSchema renders the CUE definition def (e.g. "#Datagen") as a JSON
// Schema (draft 2020-12) document, as plain data for encoding/json: types,
// enums, defaults, numeric bounds, string patterns and lengths, list
// minimum lengths, required keys, closedness and the doc comments as
// descriptions. It describes values after ${VAR} substitution; the
// whole-document schema (ConfigJSONSchema) also admits the references.
func (s *Schema) JSONSchema(def string, title string) map[string]any {
	v := s.Def(def)
	out := (&translator{s: s}).shape(v, 0)
	out["$schema"] = JSONSchemaDraft
	out["title"] = title
	if d := doc(v); d != "" {
		out["description"] = d
	}
	return out
}

// EncodeJSONSchema writes a schema as JSON indented by two spaces, with
// a final newline. Keys come out sorted (encoding/json sorts map keys), so
// the same schema always gives the same bytes; <, > and & are written as
// they are, for readers of the descriptions.
func EncodeJSONSchema(schema any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(schema); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maxDepth bounds the nesting the translator follows; the definitions are
// far shallower, so it only guards against a recursive definition.
const maxDepth = 12

// translator turns CUE values into JSON Schema.
type translator struct {
	s *Schema
	// envRefs makes every scalar that a ${VAR} reference could not satisfy
	// as written also accept one (see envAlternative).
	envRefs bool
}

// field renders a field's value with its doc comment and default.
func (t *translator) field(v cue.Value, depth int) map[string]any {
	out := t.shape(v, depth)
	if d := doc(v); d != "" {
		out["description"] = d
	}
	if d, ok := v.Default(); ok {
		var x any
		// An open list's implicit default is [], which says nothing.
		if d.Decode(&x) == nil && !isEmptyList(x) {
			out["default"] = x
		}
	}
	return out
}

func isEmptyList(x any) bool {
	l, ok := x.([]any)
	return ok && len(l) == 0
}

// shape renders what v admits, without v's own description and default.
func (t *translator) shape(v cue.Value, depth int) map[string]any {
	out := map[string]any{}
	if depth > maxDepth {
		return out
	}
	k := v.IncompleteKind()
	op, args := v.Expr()
	if op == cue.OrOp && k&(cue.StructKind|cue.ListKind) != 0 && k&^(cue.StructKind|cue.ListKind) != 0 {
		// A choice between scalars and a struct or list (start_offset: "earliest" |
		// "latest" | {timestamp!: string}): one alternative for the scalar
		// values, one per composite branch.
		var enum, alts []any
		for _, a := range args {
			if x, ok := scalarConst(a); ok {
				enum = append(enum, x)
				continue
			}
			alt := t.shape(a, depth+1)
			if _, ok := alt["additionalProperties"]; !ok && a.IncompleteKind() == cue.StructKind && !openLiteral(a) {
				// A disjunct taken apart no longer knows that the
				// definition around it closes it; its literal says.
				alt["additionalProperties"] = false
			}
			alts = append(alts, alt)
		}
		if enum != nil {
			e := t.envAlternative(enumSchema(enum))
			if inner, ok := e["anyOf"].([]any); ok && len(e) == 1 {
				alts = append(inner, alts...)
			} else {
				alts = append([]any{e}, alts...)
			}
		}
		out["anyOf"] = alts
		return out
	}
	if op == cue.OrOp {
		var enum []any
		for _, a := range args {
			x, ok := scalarConst(a)
			if !ok {
				enum = nil
				break
			}
			enum = append(enum, x)
		}
		if enum != nil {
			out["enum"] = enum
		}
	} else if x, ok := scalarConst(v); ok {
		out["const"] = x
	}
	if ty := jsonTypes(k); ty != nil {
		out["type"] = ty
	}
	if src := v.Source(); src != nil {
		t.bounds(src, out, 0)
	}
	switch k {
	case cue.StructKind:
		props := map[string]any{}
		var required []string
		it, err := v.Fields(cue.Optional(true))
		if err == nil {
			for it.Next() {
				name := it.Selector().Unquoted()
				props[name] = t.field(it.Value(), depth+1)
				if it.Selector().ConstraintType() == cue.RequiredConstraint {
					required = append(required, name)
				}
			}
		}
		if len(props) > 0 {
			out["properties"] = props
		}
		if len(required) > 0 {
			out["required"] = required
		}
		if pat := v.LookupPath(cue.MakePath(cue.AnyString)); pat.Exists() {
			if pat.IncompleteKind() != cue.TopKind { // {...} admits anything
				out["additionalProperties"] = t.field(pat, depth+1)
			}
		} else if !v.Allows(cue.Str("\x00not-a-key")) {
			out["additionalProperties"] = false
		}
	case cue.ListKind:
		if elem := v.LookupPath(cue.MakePath(cue.AnyIndex)); elem.Exists() {
			out["items"] = t.field(elem, depth+1)
		}
		// [T, ...T] requires its leading elements: at least that many.
		n := 0
		for v.LookupPath(cue.MakePath(cue.Index(n))).Exists() {
			n++
		}
		if n > 0 {
			out["minItems"] = n
		}
	}
	return t.envAlternative(out)
}

// openLiteral reports whether v is written as a struct literal with "..."
// or a pattern constraint ([string]: T), which definitions leave open.
func openLiteral(v cue.Value) bool {
	lit, ok := v.Source().(*ast.StructLit)
	if !ok {
		return v.Allows(cue.Str("\x00not-a-key"))
	}
	for _, e := range lit.Elts {
		switch x := e.(type) {
		case *ast.Ellipsis:
			return true
		case *ast.Field:
			if _, ok := x.Label.(*ast.ListLit); ok {
				return true
			}
		}
	}
	return false
}

// scalarConst returns v's value when v is one concrete scalar.
func scalarConst(v cue.Value) (any, bool) {
	if !v.IsConcrete() || v.IncompleteKind()&(cue.StructKind|cue.ListKind) != 0 {
		return nil, false
	}
	var x any
	if v.Decode(&x) != nil {
		return nil, false
	}
	return x, true
}

// enumSchema is the schema of a set of scalar values, typed by them.
func enumSchema(enum []any) map[string]any {
	var k cue.Kind
	for _, x := range enum {
		switch x.(type) {
		case nil:
			k |= cue.NullKind
		case bool:
			k |= cue.BoolKind
		case string:
			k |= cue.StringKind
		case float64:
			k |= cue.FloatKind
		default:
			k |= cue.IntKind
		}
	}
	out := map[string]any{"enum": enum}
	if ty := jsonTypes(k); ty != nil {
		out["type"] = ty
	}
	return out
}

// The ${VAR} references of runtime/envsubst, as JSON Schema patterns:
// the name is letters, digits and _, not starting with a digit; a default
// follows ":-" and runs to the first "}".
const (
	envRefPattern     = `^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$`
	envRefTextPattern = `\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}`
)

// Names of the reference schemas under the document's $defs.
const (
	envRefDef     = "env_reference"
	envRefTextDef = "env_text"
)

// envDefs are the $defs envAlternative refers to. They explain themselves
// in "$comment", not "description": an editor hovering over port: ${PGPORT}
// shows the last description it meets, which should be the key's.
func envDefs() map[string]any {
	return map[string]any{
		envRefDef: map[string]any{
			"type":     "string",
			"pattern":  envRefPattern,
			"$comment": "A whole ${NAME} or ${NAME:-default} environment variable reference; the variable's value must be what this key expects (an integer, a boolean, ...).",
		},
		envRefTextDef: map[string]any{
			"type":     "string",
			"pattern":  envRefTextPattern,
			"$comment": "Text with a ${NAME} or ${NAME:-default} environment variable reference; the text after substitution must be what this key expects.",
		},
	}
}

// envAlternative lets a scalar schema out also accept what a ${VAR}
// reference stands for, when t.envRefs is set and out would refuse it as
// written: a non-string scalar (port: ${PGPORT}) accepts a string that is
// exactly one reference, which config parsing types by its value; a
// constrained string (an enum, a pattern, a length) accepts any text with
// a reference, which is checked after substitution. Plain strings (also
// those with a minimum length a reference meets) and composite values are
// returned unchanged.
func (t *translator) envAlternative(out map[string]any) map[string]any {
	if !t.envRefs {
		return out
	}
	var types []string
	switch ty := out["type"].(type) {
	case string:
		types = []string{ty}
	case []any:
		for _, x := range ty {
			types = append(types, x.(string))
		}
	default:
		return out // no type: anything goes already
	}
	text := false
	for _, ty := range types {
		switch ty {
		case "object", "array":
			return out
		case "string":
			text = true
		}
	}
	def := envRefDef
	if text {
		constrained := false
		for _, key := range []string{"enum", "const", "pattern", "maxLength"} {
			if _, ok := out[key]; ok {
				constrained = true
			}
		}
		// Any reference is at least as long as ${A}.
		if n, ok := out["minLength"].(int); ok && n > len("${A}") {
			constrained = true
		}
		if !constrained {
			return out
		}
		def = envRefTextDef
	}
	return map[string]any{"anyOf": []any{out, map[string]any{"$ref": "#/$defs/" + def}}}
}

// bounds reads numeric bounds, regular expressions and rune lengths from a
// constraint's source, following references to other definitions.
func (t *translator) bounds(n ast.Node, out map[string]any, depth int) {
	if depth > 4 {
		return
	}
	ast.Walk(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.UnaryExpr:
			lit, ok := x.X.(*ast.BasicLit)
			if !ok {
				return true
			}
			if x.Op == token.NEQ && lit.Value == `""` {
				if _, ok := out["minLength"]; !ok {
					out["minLength"] = 1 // != "": not empty
				}
				return false
			}
			key := map[token.Token]string{token.GEQ: "minimum", token.LEQ: "maximum", token.GTR: "exclusiveMinimum", token.LSS: "exclusiveMaximum", token.MAT: "pattern"}[x.Op]
			if key == "" {
				return true
			}
			if key == "pattern" {
				if p, err := strconv.Unquote(lit.Value); err == nil {
					out[key] = p
				}
			} else if f, err := strconv.ParseFloat(lit.Value, 64); err == nil {
				out[key] = f
			}
			return false
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && len(x.Args) == 1 {
				if lit, ok := x.Args[0].(*ast.BasicLit); ok {
					if f, err := strconv.Atoi(lit.Value); err == nil {
						switch name, _, _ := ast.LabelName(sel.Sel); name {
						case "MinRunes":
							out["minLength"] = f
						case "MaxRunes":
							out["maxLength"] = f
						}
					}
				}
			}
			return false
		case *ast.Ident:
			if strings.HasPrefix(x.Name, "#") {
				if ref := t.s.Def(x.Name); ref.Exists() && ref.IncompleteKind() != cue.StructKind {
					if src := ref.Source(); src != nil {
						t.bounds(src, out, depth+1)
					}
				}
			}
		case *ast.StructLit, *ast.ListLit:
			return false // nested fields get their own schemas
		}
		return true
	}, nil)
}

func jsonTypes(k cue.Kind) any {
	var ts []string
	for _, m := range []struct {
		k cue.Kind
		t string
	}{{cue.NullKind, "null"}, {cue.BoolKind, "boolean"}, {cue.IntKind, "integer"}, {cue.StructKind, "object"}, {cue.ListKind, "array"}, {cue.StringKind, "string"}} {
		if k&m.k != 0 {
			ts = append(ts, m.t)
		}
	}
	if k&cue.FloatKind != 0 {
		for i, t := range ts {
			if t == "integer" {
				ts = append(ts[:i], ts[i+1:]...)
				break
			}
		}
		ts = append(ts, "number")
	}
	switch len(ts) {
	case 0:
		return nil
	case 1:
		return ts[0]
	}
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

// doc returns a value's doc comment as one paragraph. A comment that opens
// with the definition's name, Go style ("#Datagen generates ..."), loses
// it ("Generates ..."): editors show the text beside the key.
func doc(v cue.Value) string {
	var parts []string
	for _, g := range v.Doc() {
		parts = append(parts, strings.TrimSpace(g.Text()))
	}
	words := strings.Fields(strings.Join(parts, " "))
	if len(words) > 1 && isDefName(words[0]) {
		r, n := utf8.DecodeRuneInString(words[1])
		words = append([]string{string(unicode.ToUpper(r)) + words[1][n:]}, words[2:]...)
	}
	return strings.Join(words, " ")
}

// isDefName reports whether w is a CUE definition name such as #Datagen.
func isDefName(w string) bool {
	if len(w) < 2 || w[0] != '#' {
		return false
	}
	for _, r := range w[1:] {
		if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}
