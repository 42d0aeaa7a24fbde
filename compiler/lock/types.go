package lock

import (
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// ParseType reads a record type as runtime.Type.String writes it: bool,
// int, float, string, any, array<T>, object{name T, name ?T, ...}.
func ParseType(s string) (runtime.Type, error) {
	p := typeParser{s: s}
	t, err := p.typ()
	if err == nil && p.i < len(p.s) {
		err = fmt.Errorf("unexpected %q after the type", p.s[p.i:])
	}
	if err != nil {
		return runtime.Type{}, fmt.Errorf("record type %q: %v (types: bool, int, float, string, any, array<T>, object{name T, ...})", s, err)
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

func (p *typeParser) typ() (runtime.Type, error) {
	w := p.word()
	switch w {
	case "any":
		return runtime.Any, nil
	case "bool":
		return runtime.Type{Kind: runtime.KindBool}, nil
	case "int":
		return runtime.Type{Kind: runtime.KindInt}, nil
	case "float":
		return runtime.Type{Kind: runtime.KindFloat}, nil
	case "string":
		return runtime.Type{Kind: runtime.KindString}, nil
	case "array":
		if !p.eat('<') {
			return runtime.Type{}, fmt.Errorf("array needs <element type>")
		}
		e, err := p.typ()
		if err != nil {
			return runtime.Type{}, err
		}
		if !p.eat('>') {
			return runtime.Type{}, fmt.Errorf("array<... needs a closing >")
		}
		return runtime.Type{Kind: runtime.KindArray, Elem: &e}, nil
	case "object":
		if !p.eat('{') {
			return runtime.Type{}, fmt.Errorf("object needs {fields}")
		}
		t := runtime.Type{Kind: runtime.KindObject}
		if p.eat('}') {
			return t, nil
		}
		for {
			if p.eat('.') {
				for range 2 {
					if !p.eat('.') {
						return runtime.Type{}, fmt.Errorf("object fields: \"...\" expected")
					}
				}
				t.Open = true
			} else {
				name := p.word()
				if name == "" {
					return runtime.Type{}, fmt.Errorf("object fields: a field name expected")
				}
				nullable := p.eat('?')
				ft, err := p.typ()
				if err != nil {
					return runtime.Type{}, err
				}
				t.Fields = append(t.Fields, runtime.Field{Name: name, Type: ft, Nullable: nullable})
			}
			if p.eat('}') {
				return t, nil
			}
			if !p.eat(',') {
				return runtime.Type{}, fmt.Errorf("object fields: , or } expected")
			}
		}
	case "":
		return runtime.Type{}, fmt.Errorf("a type expected")
	}
	return runtime.Type{}, fmt.Errorf("unknown type %q", w)
}
