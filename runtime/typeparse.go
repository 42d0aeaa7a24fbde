package runtime

import (
	"fmt"
	"strings"
)

// ParseType reads a record type as Type.String writes it (SPEC
// §3.1): bool, int, float, string, any, array<T>, object{name T, name ?T,
// ...} (? marks a nullable field, ... an open object).
func ParseType(s string) (Type, error) {
	p := typeParser{s: s}
	t, err := p.typ()
	if err == nil && p.i < len(p.s) {
		err = fmt.Errorf("unexpected %q after the type", p.s[p.i:])
	}
	if err != nil {
		return Type{}, fmt.Errorf("record type %q: %v (types: bool, int, float, string, any, array<T>, object{name T, ...})", s, err)
	}
	return t, nil
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *typeParser) word() string {
	p.space()
	j := p.i
	for p.i < len(p.s) && !strings.ContainsRune("<>{}, ?", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[j:p.i]
}

func (p *typeParser) eat(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// maxTypeDepth bounds the nesting of a declared type.
const maxTypeDepth = 32

func (p *typeParser) typ() (Type, error) { return p.typeAt(0) }

func (p *typeParser) typeAt(depth int) (Type, error) {
	if depth > maxTypeDepth {
		return Type{}, fmt.Errorf("nested deeper than %d", maxTypeDepth)
	}
	w := p.word()
	switch w {
	case "any":
		return Any, nil
	case "bool":
		return Type{Kind: KindBool}, nil
	case "int":
		return Type{Kind: KindInt}, nil
	case "float":
		return Type{Kind: KindFloat}, nil
	case "string":
		return Type{Kind: KindString}, nil
	case "array":
		if !p.eat('<') {
			return Type{}, fmt.Errorf("array needs <element type>")
		}
		e, err := p.typeAt(depth + 1)
		if err != nil {
			return Type{}, err
		}
		if !p.eat('>') {
			return Type{}, fmt.Errorf("array<... needs a closing >")
		}
		return Type{Kind: KindArray, Elem: &e}, nil
	case "object":
		if !p.eat('{') {
			return Type{}, fmt.Errorf("object needs {fields}")
		}
		t := Type{Kind: KindObject}
		if p.eat('}') {
			return t, nil
		}
		for {
			if p.eat('.') {
				for range 2 {
					if !p.eat('.') {
						return Type{}, fmt.Errorf(`object fields: "..." expected`)
					}
				}
				t.Open = true
			} else {
				name := p.word()
				if name == "" {
					return Type{}, fmt.Errorf("object fields: a field name expected")
				}
				nullable := p.eat('?')
				ft, err := p.typeAt(depth + 1)
				if err != nil {
					return Type{}, err
				}
				t.Fields = append(t.Fields, Field{Name: name, Type: ft, Nullable: nullable})
			}
			if p.eat('}') {
				return t, nil
			}
			if !p.eat(',') {
				return Type{}, fmt.Errorf("object fields: , or } expected")
			}
		}
	case "":
		return Type{}, fmt.Errorf("a type expected")
	}
	return Type{}, fmt.Errorf("unknown type %q", w)
}
