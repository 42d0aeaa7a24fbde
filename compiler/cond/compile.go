package cond

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"

	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
)

// Error is a problem with a condition. Offset is a byte offset into the
// condition's text, so callers can point at the column in the config file.
type Error struct {
	Offset  int
	Code    source.Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// MaxLength bounds a condition's text; longer ones are refused before
// parsing.
const MaxLength = 4096

// Compile parses text as an expr-lang expression, type-checks it against
// the fields of s (it must yield a bool), and lowers it to IR where it can.
func Compile(text string, s *runtime.Schema) (*Condition, *Error) {
	if strings.TrimSpace(text) == "" {
		return nil, &Error{Code: source.CodeConditionSyntax, Message: "the condition is empty"}
	}
	if len(text) > MaxLength {
		return nil, &Error{Code: source.CodeConditionSyntax, Message: fmt.Sprintf("the condition is %d bytes long; the limit is %d", len(text), MaxLength)}
	}
	if _, err := parser.Parse(text); err != nil {
		return nil, convert(text, err, source.CodeConditionSyntax, s)
	}
	prog, err := expr.Compile(text, expr.Env(Env(s)), expr.AsBool(), expr.Optimize(false))
	if err != nil {
		return nil, convert(text, err, source.CodeConditionType, s)
	}
	if _, err := expr.Compile(text, expr.Env(keysEnv(s)), expr.Optimize(false)); err != nil {
		if e := convert(text, err, source.CodeConditionType, s); e.Code == source.CodeUnknownField {
			return nil, e // a member a declared object does not have
		}
	}
	c := &Condition{Source: text}
	l := lowerer{schema: s}
	c.IR = l.lower(prog.Node())
	if l.reason != "" {
		c.IR, c.Strategy, c.Reason = nil, Fallback, l.reason
	} else {
		c.IR = nullIsFalse(c.IR)
	}
	c.Fields = referenced(prog.Node(), s)
	return c, nil
}

// CheckSyntax parses text without type-checking it, for conditions whose
// stream schema is known only at run time.
func CheckSyntax(text string) *Error {
	if strings.TrimSpace(text) == "" {
		return &Error{Code: source.CodeConditionSyntax, Message: "the condition is empty"}
	}
	if _, err := parser.Parse(text); err != nil {
		return convert(text, err, source.CodeConditionSyntax, nil)
	}
	return nil
}

// convert turns an expr error into an Error with a byte offset.
func convert(text string, err error, code source.Code, s *runtime.Schema) *Error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{Code: code, Message: err.Error()}
	}
	msg := fe.Message
	off := runeToByte(text, fe.From)
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		code = source.CodeUnknownField
		msg = fmt.Sprintf("the object has no field %q (its declared type lists every field it has)", name)
	}
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
		code = source.CodeUnknownField
		msg = fmt.Sprintf("the stream has no field %q", name)
		if s != nil {
			var live []string
			for _, f := range s.Fields {
				if f.Type.Kind != runtime.KindAbsent {
					live = append(live, f.Name)
				} else if f.Name == name {
					msg = fmt.Sprintf("field %q was removed by a field-mask earlier in the pipeline", name)
				}
			}
			if sug := source.Suggest(name, live); sug != "" && sug != name {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			msg += "; fields: " + strings.Join(live, ", ")
		}
	}
	return &Error{Offset: off, Code: code, Message: msg}
}

func runeToByte(s string, runes int) int {
	i := 0
	for n := 0; n < runes && i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

// Env returns the expr type environment of s: each live field with the
// static type of its values. A nullable field of type T is typed *T, which
// expr's checker treats as T for every operator (so `discount > 0.5` checks,
// and fails at run time when discount is null) while still allowing
// comparisons with nil; untyped fields and nullable bools are typed any
// (anything goes, checked at run time). Objects are typed map[string]any,
// so their members are any (keysEnv checks their keys).
func Env(s *runtime.Schema) types.Map {
	env := make(types.Map, len(s.Fields))
	for _, f := range s.Fields {
		if f.Type.Kind != runtime.KindAbsent { // removed by a field-mask
			env[f.Name] = envType(f.Type, f.Nullable)
		}
	}
	return env
}

func envType(t runtime.Type, nullable bool) types.Type {
	switch t.Kind {
	case runtime.KindBool:
		if nullable {
			// *bool would make a bare `flag` a type error (expr wants a
			// bool result), though `!flag` and `flag && x` check.
			return types.Any
		}
		return types.Bool
	case runtime.KindInt:
		return typeOf[int](nullable)
	case runtime.KindFloat:
		return typeOf[float64](nullable)
	case runtime.KindString:
		return typeOf[string](nullable)
	case runtime.KindArray:
		return typeOf[[]any](nullable)
	case runtime.KindObject:
		return typeOf[map[string]any](nullable)
	}
	return types.Any
}

// keysEnv is Env with every object whose fields are declared typed by
// them, closed ones with no other keys: checking a condition against it
// finds the members a declared object does not have. (Conditions are
// typed and lowered against Env, whose objects are map[string]any: the
// members' run-time values are checked as they come.)
func keysEnv(s *runtime.Schema) types.Map {
	env := Env(s)
	for _, f := range s.Fields {
		if f.Type.Kind == runtime.KindObject && len(f.Type.Fields) > 0 {
			env[f.Name] = objectKeys(f.Type)
		}
	}
	return env
}

func objectKeys(t runtime.Type) types.Type {
	if t.Kind != runtime.KindObject || len(t.Fields) == 0 {
		return types.Any
	}
	m := make(types.Map, len(t.Fields)+1)
	for _, f := range t.Fields {
		m[f.Name] = objectKeys(f.Type)
	}
	if t.Open {
		m[types.Extra] = types.Any
	}
	return m
}

func typeOf[T any](nullable bool) types.Type {
	if nullable {
		return types.TypeOf((*T)(nil))
	}
	var zero T
	return types.TypeOf(zero)
}

func kindOf(t reflect.Type) runtime.Kind {
	if t == nil {
		return runtime.KindNull
	}
	switch t.Kind() {
	case reflect.Bool:
		return runtime.KindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return runtime.KindInt
	case reflect.Float32, reflect.Float64:
		return runtime.KindFloat
	case reflect.String:
		return runtime.KindString
	}
	return runtime.KindNull
}

type lowerer struct {
	schema *runtime.Schema
	reason string // why lowering failed; "" while it succeeds
}

func (l *lowerer) fail(format string, args ...any) *Node {
	if l.reason == "" {
		l.reason = fmt.Sprintf(format, args...)
	}
	return &Node{Op: OpConst}
}

func (l *lowerer) lower(n ast.Node) *Node {
	typ := kindOf(n.Type())
	switch n := n.(type) {
	case *ast.NilNode:
		return &Node{Op: OpConst, Type: runtime.KindNull}
	case *ast.BoolNode:
		return &Node{Op: OpConst, Type: runtime.KindBool, Const: runtime.Bool(n.Value)}
	case *ast.IntegerNode:
		return &Node{Op: OpConst, Type: runtime.KindInt, Const: runtime.Int(int64(n.Value))}
	case *ast.FloatNode:
		return &Node{Op: OpConst, Type: runtime.KindFloat, Const: runtime.Float(n.Value)}
	case *ast.StringNode:
		return &Node{Op: OpConst, Type: runtime.KindString, Const: runtime.String(n.Value)}
	case *ast.IdentifierNode:
		i := l.schema.Index(n.Value)
		if i < 0 {
			return l.fail("uses %s, which is not a stream field", n.Value)
		}
		f := l.schema.Fields[i]
		k := f.Type.Kind
		if f.Nullable {
			k = runtime.KindNull
		}
		return &Node{Op: OpField, Type: k, Field: i, Path: n.Value}
	case *ast.ChainNode:
		return l.lower(n.Node)
	case *ast.MemberNode:
		prop, ok := n.Property.(*ast.StringNode)
		if !ok || n.Method {
			return l.fail("uses an index or method access")
		}
		if n.Optional {
			// a?.b is null when a is null, where a.b is an error; the IR
			// has no null-safe read.
			return l.fail("uses optional chaining ?.")
		}
		base := l.lower(n.Node)
		if base.Op != OpField {
			return l.fail("reads a member of a computed value")
		}
		return &Node{Op: OpField, Type: typ, Field: base.Field, Keys: append(append([]string(nil), base.Keys...), prop.Value), Path: base.Path + "." + prop.Value}
	case *ast.UnaryNode:
		arg := l.lower(n.Node)
		switch n.Operator {
		case "!", "not":
			return &Node{Op: OpNot, Type: runtime.KindBool, Args: []*Node{arg}}
		case "-":
			return &Node{Op: OpNeg, Type: typ, Args: []*Node{arg}}
		case "+":
			return arg
		}
		return l.fail("uses unary %s", n.Operator)
	case *ast.BinaryNode:
		return l.binary(n, typ)
	case *ast.BuiltinNode:
		if n.Name == "len" && len(n.Arguments) == 1 {
			return &Node{Op: OpLen, Type: runtime.KindInt, Args: []*Node{l.lower(n.Arguments[0])}}
		}
		return l.fail("calls %s()", n.Name)
	case *ast.ConditionalNode:
		return &Node{Op: OpCond, Type: typ, Args: []*Node{l.lower(n.Cond), l.lower(n.Exp1), l.lower(n.Exp2)}}
	}
	return l.fail("uses %s", strings.TrimSuffix(strings.TrimPrefix(reflect.TypeOf(n).String(), "*ast."), "Node"))
}

func (l *lowerer) binary(n *ast.BinaryNode, typ runtime.Kind) *Node {
	op := n.Operator
	switch op {
	case "in":
		arr, ok := n.Right.(*ast.ArrayNode)
		if !ok {
			return l.fail("uses in with a non-literal list")
		}
		out := &Node{Op: OpIn, Type: runtime.KindBool, Args: []*Node{l.lower(n.Left)}}
		for _, e := range arr.Nodes {
			c := l.lower(e)
			if c.Op != OpConst {
				return l.fail("uses in with a non-constant list element")
			}
			out.Args = append(out.Args, c)
		}
		return out
	case "matches":
		pat, ok := n.Right.(*ast.StringNode)
		if !ok {
			return l.fail("matches a computed pattern")
		}
		if _, err := regexp.Compile(pat.Value); err != nil {
			return l.fail("matches an invalid pattern")
		}
		return &Node{Op: OpMatches, Type: runtime.KindBool, Name: pat.Value, Args: []*Node{l.lower(n.Left)}}
	}
	left, right := l.lower(n.Left), l.lower(n.Right)
	args := []*Node{left, right}
	switch op {
	case "&&", "and":
		if !certainlyBool(right) {
			// expr yields the right operand as it is (a null stays null),
			// which is a ? b : false, not a conjunction of truths.
			return &Node{Op: OpCond, Type: runtime.KindNull, Args: []*Node{left, right, constBool(false)}}
		}
		return &Node{Op: OpAnd, Type: runtime.KindBool, Args: args}
	case "||", "or":
		if !certainlyBool(right) {
			return &Node{Op: OpCond, Type: runtime.KindNull, Args: []*Node{left, constBool(true), right}}
		}
		return &Node{Op: OpOr, Type: runtime.KindBool, Args: args}
	case "==":
		return &Node{Op: OpEq, Type: runtime.KindBool, Args: args}
	case "!=":
		return &Node{Op: OpNe, Type: runtime.KindBool, Args: args}
	case "<", "<=", ">", ">=":
		return &Node{Op: OpCompare, Type: runtime.KindBool, Name: op, Args: args}
	case "+", "-", "*", "/", "%":
		return &Node{Op: OpArith, Type: typ, Name: op, Args: args}
	case "contains", "startsWith", "endsWith":
		return &Node{Op: OpStringOp, Type: runtime.KindBool, Name: op, Args: args}
	}
	return l.fail("uses operator %s", op)
}

func constBool(b bool) *Node {
	return &Node{Op: OpConst, Type: runtime.KindBool, Const: runtime.Bool(b)}
}

// certainlyBool reports whether n yields a bool or an error, never another
// kind of value. A top-level bool field is taken at its schema's word (a
// non-nullable field is never null); object members are not.
func certainlyBool(n *Node) bool {
	switch n.Op {
	case OpConst:
		return n.Const.Kind() == runtime.KindBool
	case OpField:
		return n.Type == runtime.KindBool && len(n.Keys) == 0
	case OpNot, OpAnd, OpOr, OpEq, OpNe, OpCompare, OpStringOp, OpMatches, OpIn:
		return true
	case OpCond:
		return certainlyBool(n.Args[1]) && certainlyBool(n.Args[2])
	}
	return false
}

// nullIsFalse rewrites the root of a condition so that a null result means
// false, as expr's VM decides (its final cast to bool turns nil into false;
// any other non-bool value is an error there and in the IR's back ends).
// Only a field (or member) or a null constant can yield null; they are
// reached through the branches of ?: (and of && and || rewritten to ?:).
func nullIsFalse(n *Node) *Node {
	if certainlyBool(n) {
		return n
	}
	switch n.Op {
	case OpConst:
		if n.Const.IsNull() {
			return constBool(false)
		}
	case OpField:
		isNull := &Node{Op: OpEq, Type: runtime.KindBool, Args: []*Node{n, {Op: OpConst, Type: runtime.KindNull}}}
		return &Node{Op: OpCond, Type: runtime.KindNull, Args: []*Node{isNull, constBool(false), n}}
	case OpCond:
		c := *n
		c.Args = []*Node{n.Args[0], nullIsFalse(n.Args[1]), nullIsFalse(n.Args[2])}
		return &c
	}
	return n
}

// referenced lists the top-level schema fields an expression reads.
func referenced(root ast.Node, s *runtime.Schema) []FieldRef {
	seen := map[string]bool{}
	var v collector
	v.f = func(n ast.Node) {
		if id, ok := n.(*ast.IdentifierNode); ok && !seen[id.Value] {
			if i := s.Index(id.Value); i >= 0 {
				seen[id.Value] = true
				v.out = append(v.out, FieldRef{Name: id.Value, Index: i})
			}
		}
	}
	ast.Walk(&root, &v)
	sort.Slice(v.out, func(i, j int) bool { return v.out[i].Index < v.out[j].Index })
	return v.out
}

type collector struct {
	f   func(ast.Node)
	out []FieldRef
}

func (c *collector) Visit(n *ast.Node) { c.f(*n) }
