package bind

import (
	"sort"

	"cuelang.org/go/cue"
	"github.com/dave/jennifer/jen"

	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
)

// TransformType registers a transform type: everything the compiler's stages
// need to know of it, in one place. check calls Resolve, plan holds the
// Stage it returns (and fuses stages through Stage.Fuse), the interpreter
// runs Stage.Interp, the Go back end writes Stage.Emit. No stage of the
// compiler switches on transform types.
type TransformType struct {
	// Name is the `type:` of the transform in the config; its CUE
	// definition is connectors.transforms[Name] in cue/.
	Name string
	// Misfits: as Component.Misfits, for the transform's config block.
	Misfits func(n *config.Node) []Misfit
	// Resolve checks one transform's validated config against the schema
	// reaching it (nil: known only at run time), reporting every problem
	// through r. It returns the transform's stage and the schema leaving it
	// (in itself when the transform does not change the record layout; a
	// new *Schema otherwise, never a mutated in). The stage is nil when
	// the config has errors (they were reported).
	Resolve func(r Resolver, in *runtime.Schema) (Stage, *runtime.Schema)
}

// Resolver is what check offers a transform's Resolve: the transform's
// config and error reporting with positions.
type Resolver interface {
	// Name is the transform's name in the config.
	Name() string
	// Node is the transform's config block (an empty map when absent).
	Node() *config.Node
	// Value is the validated, defaulted CUE value of the config block.
	Value() cue.Value
	// Path is the config path of a key below the config block, e.g.
	// ["transforms", "m", "config", "fields", "0"].
	Path(keys ...string) []string
	// Condition compiles the expression at config key `key` against schema
	// s (nil: the schema is known only at run time, the syntax is checked
	// and the condition runs by field name). It reports errors at their
	// column and returns nil for an absent or invalid expression.
	Condition(key string, s *runtime.Schema) *cond.Condition
	// Errorf reports an error at pos for the config path.
	Errorf(pos source.Pos, code source.Code, path []string, format string, args ...any)
}

// Part is one config transform inside a plan stage: fusion merges stages,
// never the provenance of their parts.
type Part struct {
	// Name is the transform's name in the config.
	Name string
	// Origins maps each config key of the transform whose value came from
	// the environment (e.g. "salt") to its text as written ("${SALT}");
	// keys written literally are absent.
	Origins map[string]string
}

// StageFunc is one stage of the interpreter's per-record function: it
// mutates r in place and reports whether r is kept. Errors are
// *runtime.StageError naming the failing part.
type StageFunc func(r *runtime.Record) (keep bool, err error)

// Stage is what a transform does in one pipeline, resolved against the
// schema reaching it: plain data that the plan holds and both back ends
// consume. A Stage is immutable once Resolve returns it (Fuse returns a
// new one); back ends may share it between goroutines.
type Stage interface {
	// Type is the transform type that made the stage.
	Type() string
	// Fuse returns one stage doing what s then next do, or nil when they
	// do not fuse. mine and theirs are the parts of s and next: a fused
	// stage must keep each part's failures and ${VAR} values its own, so
	// stages whose settings merely have equal values at compile time but
	// different origins do not fuse.
	Fuse(next Stage, mine, theirs []Part) Stage
	// Dump renders the stage for the plan's deterministic text, after
	// "stage N type [names]: ".
	Dump(d Dumper) string
	// Interp builds the stage for the interpreter; parts are the stage's
	// parts (failures carry their names).
	Interp(parts []Part, x Interp) (StageFunc, error)
	// Emit writes the statements of the generated Process method for the
	// stage; i is the stage's index in its pipeline.
	Emit(i int, parts []Part, e Emitter) ([]jen.Code, error)
}

// Dumper renders plan values without showing environment-derived texts.
type Dumper interface {
	// Cond renders a condition (hidden when it came from the environment).
	Cond(c *cond.Condition) string
	// Quoted renders a string quoted, or <secret>.
	Quoted(s string) string
	// Value renders plain data compactly, secrets hidden.
	Value(v any) string
	// IsSecret reports whether raw holds an environment-derived text.
	IsSecret(raw string) bool
}

// Interp is what the interpreter offers a stage.
type Interp interface {
	// Predicate compiles a condition to a function of a whole record.
	Predicate(c *cond.Condition) (func(r *runtime.Record) (bool, error), error)
}

// Emitter is what the Go back end offers a stage. Generated code runs in
// a method with receiver p, record r (*runtime.Record) and, once a stage
// asks for it, row (r.Row()).
type Emitter interface {
	// Condition writes the evaluation of c into b and returns the name of
	// the bool holding the result; an evaluation error returns a
	// *runtime.StageError naming stage.
	Condition(b *jen.Group, c *cond.Condition, stage string) string
	// Field adds a field to the program struct, initialised to value when
	// the program is built; the stage reads it as p.<name>.
	Field(prefix string, typ, value jen.Code) string
	// Global declares a package-level variable initialised to value.
	Global(prefix string, value jen.Code) string
	// Literal renders plain data v as Go. env maps Go field names of v to
	// config keys of part: those fields are read from the environment at
	// start-up instead of baked in, where the config took them from ${VAR}.
	Literal(v any, part string, env map[string]string) (jen.Code, error)
	// LiteralFrom renders v as Go with every ${VAR} below the config path
	// prefix read at start-up into the field at goPrefix and the same
	// keys below it (object keys and array indexes of a runtime.Value,
	// dotted): a plugin's config from plugins.<name>.config.
	LiteralFrom(v any, prefix []string, goPrefix string) (jen.Code, error)
	// UseEnv marks part's environment-derived keys among keys as read by
	// the stage (a fused part whose values another part's stand for).
	UseEnv(part string, keys ...string)
}

var transforms = map[string]*TransformType{}

func registerTransform(t *TransformType) { transforms[t.Name] = t }

// LookupTransform returns a transform type by name.
func LookupTransform(name string) (*TransformType, bool) {
	t, ok := transforms[name]
	return t, ok
}

// TransformNames lists the transform types, sorted.
func TransformNames() []string {
	var out []string
	for n := range transforms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// PartNames returns the names of parts, in order.
func PartNames(parts []Part) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.Name
	}
	return out
}
