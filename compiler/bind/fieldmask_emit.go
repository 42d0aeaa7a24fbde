package bind

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/stdlib/mask"
)

const (
	rtPkg   = "github.com/rivven/rivven-connect/runtime"
	maskPkg = "github.com/rivven/rivven-connect/stdlib/mask"
)

// maskSpecFields maps the Go fields of mask.Spec to the field-mask config
// keys they come from.
var maskSpecFields = map[string]string{"Salt": "salt", "Value": "value", "KeepFirst": "keep_first", "KeepLast": "keep_last"}

// Emit writes the statements applying the mask to both rows, calling
// stdlib/mask as the interpreter does.
func (s *MaskStage) Emit(i int, parts []Part, e Emitter) ([]jen.Code, error) {
	var paths []string
	for _, f := range s.Fields {
		paths = append(paths, f.Path)
	}
	comment := fmt.Sprintf("stage %d: mask %s: %s %s", i, strings.Join(quoteAll(PartNames(parts)), " "), s.Spec.Strategy, strings.Join(paths, ", "))
	if s.When != nil {
		comment += " where " + oneLine(s.When.Source)
	}
	apply, err := s.emitApply(parts, e)
	if err != nil {
		return nil, err
	}
	blk := jen.BlockFunc(func(b *jen.Group) {
		if s.When == nil {
			for _, st := range apply {
				b.Add(st)
			}
			return
		}
		when := e.Condition(b, s.When, parts[0].Name)
		b.If(jen.Id(when)).Block(apply...)
	})
	return []jen.Code{jen.Comment(comment), blk}, nil
}

func (s *MaskStage) emitApply(parts []Part, e Emitter) ([]jen.Code, error) {
	// Fused parts share their spec's values and origins (Fuse): the first
	// part's variables stand for all of them.
	for _, part := range parts[1:] {
		e.UseEnv(part.Name, "salt", "value", "keep_first", "keep_last")
	}
	env := map[string]string{}
	for goField, key := range maskSpecFields {
		if _, ok := parts[0].Origins[key]; ok {
			env[goField] = key
		}
	}
	spec := s.Spec
	specLit, err := e.Literal(spec, parts[0].Name, env)
	if err != nil {
		return nil, err
	}
	specField := ""
	needSpec := len(env) > 0 || spec.Strategy == mask.Fixed || spec.Strategy == mask.Null || spec.Strategy == mask.Remove
	for _, f := range s.Fields {
		if len(f.Keys) > 0 || f.Index < 0 {
			needSpec = true
		}
	}
	if needSpec {
		specField = e.Field("mask", jen.Qual(maskPkg, "Spec"), specLit)
	}
	var out []jen.Code
	for _, f := range s.Fields {
		if f.Index >= 0 {
			continue
		}
		// The stream's schema is known only at run time: find the field by
		// name in each record.
		keysCode := jen.Code(jen.Nil())
		if len(f.Keys) > 0 {
			keysCode = jen.Id(e.Global("keys", stringSlice(f.Keys)))
		}
		out = append(out, jen.Id("p").Dot(specField).Dot("ApplyNamed").Call(jen.Id("r"), jen.Lit(fieldName(f.Path)), keysCode))
	}
	for _, row := range []string{"After", "Before"} {
		var stmts []jen.Code
		for _, f := range s.Fields {
			if f.Index < 0 {
				continue
			}
			target := jen.Id("r").Dot(row).Index(jen.Lit(f.Index))
			if len(f.Keys) > 0 {
				keys := e.Global("keys", stringSlice(f.Keys))
				stmts = append(stmts, jen.Id("p").Dot(specField).Dot("Apply").Call(jen.Id("r").Dot(row), jen.Lit(f.Index), jen.Id(keys)))
				continue
			}
			v := jen.Id("v")
			var masked jen.Code
			switch spec.Strategy {
			case mask.Null, mask.Remove, mask.Fixed:
				// mask.Spec.Mask, as the interpreter calls it: a field a
				// transform removed stays removed.
				stmts = append(stmts, jen.Add(target).Op("=").Id("p").Dot(specField).Dot("Mask").Call(target))
				continue
			case mask.Redact:
				masked = jen.Qual(maskPkg, "RedactValue").Call(v)
			case mask.Hash:
				salt := jen.Lit(spec.Salt)
				if specField != "" {
					salt = jen.Id("p").Dot(specField).Dot("Salt")
				}
				masked = jen.Qual(maskPkg, "HashValue").Call(v, salt)
			case mask.Partial:
				first, last := jen.Lit(spec.KeepFirst), jen.Lit(spec.KeepLast)
				if specField != "" {
					first, last = jen.Id("p").Dot(specField).Dot("KeepFirst"), jen.Id("p").Dot(specField).Dot("KeepLast")
				}
				masked = jen.Qual(maskPkg, "PartialValue").Call(v, first, last)
			}
			if spec.Strategy == mask.Redact {
				// Strings, the common case, without RedactValue's dispatch:
				// the same stdlib computation (mask.Redacted's body, which
				// the Go compiler does not inline; measured 12% on the
				// quick start's fused function).
				stmts = append(stmts, jen.If(jen.Id("v").Op(":=").Add(target), jen.Id("v").Dot("Kind").Call().Op("==").Qual(rtPkg, "KindString")).Block(
					jen.Add(target).Op("=").Qual(rtPkg, "String").Call(jen.Qual(maskPkg, "Asterisks").Call(jen.Qual("unicode/utf8", "RuneCountInString").Call(jen.Id("v").Dot("AsString").Call()))),
				).Else().If(jen.Op("!").Id("v").Dot("IsNull").Call()).Block(
					jen.Add(target).Op("=").Add(masked)))
				continue
			}
			stmts = append(stmts, jen.If(jen.Id("v").Op(":=").Add(target), jen.Op("!").Id("v").Dot("IsNull").Call()).Block(
				jen.Add(target).Op("=").Add(masked)))
		}
		if len(stmts) > 0 {
			out = append(out, jen.If(jen.Id("r").Dot(row).Op("!=").Nil()).Block(stmts...))
		}
	}
	return out, nil
}

// stringSlice is a []string literal.
func stringSlice(s []string) jen.Code {
	items := make([]jen.Code, len(s))
	for i, x := range s {
		items[i] = jen.Lit(x)
	}
	return jen.Index().String().Values(items...)
}
