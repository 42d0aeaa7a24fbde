package check

import (
	"fmt"
	"io/fs"
	"sort"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"

	cuedefs "github.com/rivven/rivven-connect/cue"
)

// Schema is the compiled CUE package of config definitions. A Schema and the
// values derived from it belong to one cue.Context and must be used from
// one goroutine at a time.
type Schema struct {
	ctx  *cue.Context
	root cue.Value
}

// LoadSchema compiles the embedded CUE definitions in a fresh context.
func LoadSchema() (*Schema, error) {
	ctx := cuecontext.New()
	inst := build.NewContext().NewInstance("", nil)
	names, err := fs.Glob(cuedefs.Files, "*.cue")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		src, err := fs.ReadFile(cuedefs.Files, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("cue/%s: %w", name, err)
		}
		if err := inst.AddSyntax(f); err != nil {
			return nil, fmt.Errorf("cue/%s: %w", name, err)
		}
	}
	root := ctx.BuildInstance(inst)
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("embedded CUE definitions: %w", err)
	}
	return &Schema{ctx: ctx, root: root}, nil
}

// Def returns the definition named def (e.g. "#Datagen").
func (s *Schema) Def(def string) cue.Value {
	return s.root.LookupPath(cue.ParsePath(def))
}

// Connectors lists the connector (or transform) names of a kind: "sources",
// "sinks" or "transforms", in sorted order, with their definitions.
func (s *Schema) Connectors(kind string) (names []string, defs map[string]cue.Value) {
	defs = map[string]cue.Value{}
	it, err := s.root.LookupPath(cue.MakePath(cue.Str("connectors"), cue.Str(kind))).Fields()
	if err != nil {
		return nil, defs
	}
	for it.Next() {
		name := it.Selector().Unquoted()
		names = append(names, name)
		defs[name] = it.Value()
	}
	sort.Strings(names)
	return names, defs
}

// Root returns the whole CUE package value (for spec).
func (s *Schema) Root() cue.Value { return s.root }

// Context returns the schema's CUE context.
func (s *Schema) Context() *cue.Context { return s.ctx }

// DefNames maps each connector (or transform) name of a kind to the name of
// its CUE definition ("datagen" → "#Datagen").
func (s *Schema) DefNames(kind string) map[string]string {
	out := map[string]string{}
	v := s.root.LookupPath(cue.MakePath(cue.Str("connectors"), cue.Str(kind)))
	it, err := v.Fields()
	if err != nil {
		return out
	}
	for it.Next() {
		if _, path := it.Value().ReferencePath(); len(path.Selectors()) == 1 {
			out[it.Selector().Unquoted()] = path.Selectors()[0].String()
		}
	}
	return out
}
