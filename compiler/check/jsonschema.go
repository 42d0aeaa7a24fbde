package check

import (
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// JSONSchema renders the CUE definition def (e.g. "#Datagen") as a JSON
// Schema (draft 2020-12) document, as plain data for encoding/json: types,
// enums, defaults, numeric bounds, string patterns and lengths, required
// keys, closedness and the doc comments as descriptions.
func (s *Schema) JSONSchema(def string, title string) map[string]any {
	v := s.Def(def)
	out := s.typeSchema(v, 0)
	out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	out["title"] = title
	if d := doc(v); d != "" {
		out["description"] = d
	}
	return out
}

func (s *Schema) typeSchema(v cue.Value, depth int) map[string]any {
	out := map[string]any{}
	if depth > 10 {
		return out
	}
	if d, ok := v.Default(); ok {
		var x any
		if d.Decode(&x) == nil {
			out["default"] = x
		}
	}
	if op, args := v.Expr(); op == cue.OrOp {
		var enum []any
		for _, a := range args {
			var x any
			if !a.IsConcrete() || a.IncompleteKind() == cue.StructKind || a.Decode(&x) != nil {
				enum = nil
				break
			}
			enum = append(enum, x)
		}
		if enum != nil {
			out["enum"] = enum
		}
	}
	k := v.IncompleteKind()
	if t := jsonTypes(k); t != nil {
		out["type"] = t
	}
	if src := v.Source(); src != nil {
		s.bounds(src, out, 0)
	}
	switch {
	case k == cue.StructKind:
		props := map[string]any{}
		var required []string
		it, err := v.Fields(cue.Optional(true))
		if err == nil {
			for it.Next() {
				name := it.Selector().Unquoted()
				p := s.typeSchema(it.Value(), depth+1)
				if d := doc(it.Value()); d != "" {
					p["description"] = d
				}
				props[name] = p
				if it.Selector().ConstraintType() == cue.RequiredConstraint {
					required = append(required, name)
				}
			}
		}
		out["properties"] = props
		if len(required) > 0 {
			out["required"] = required
		}
		if pat := v.LookupPath(cue.MakePath(cue.AnyString)); pat.Exists() {
			out["additionalProperties"] = s.typeSchema(pat, depth+1)
		} else if !v.Allows(cue.Str("\x00not-a-key")) {
			out["additionalProperties"] = false
		}
	case k == cue.ListKind:
		if elem := v.LookupPath(cue.MakePath(cue.AnyIndex)); elem.Exists() {
			out["items"] = s.typeSchema(elem, depth+1)
		}
	}
	return out
}

// bounds reads numeric bounds, regular expressions and rune lengths from a
// constraint's source, following references to other definitions.
func (s *Schema) bounds(n ast.Node, out map[string]any, depth int) {
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
				if ref := s.Def(x.Name); ref.Exists() && ref.IncompleteKind() != cue.StructKind {
					if src := ref.Source(); src != nil {
						s.bounds(src, out, depth+1)
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

// doc returns a value's doc comment as one paragraph.
func doc(v cue.Value) string {
	var parts []string
	for _, g := range v.Doc() {
		parts = append(parts, strings.TrimSpace(g.Text()))
	}
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}
