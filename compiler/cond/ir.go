// Package cond compiles filter and mask conditions. Its entry verb is
// Compile: it parses and type-checks an expr-lang expression against a
// stream schema, then lowers the checked tree into a small typed IR that
// both back ends translate (closures in the interpreter, Go in generated
// code). Expressions outside the IR's subset are kept as expr source and run
// on expr's VM by both back ends; Condition.Strategy says which.
package cond

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// Op is an IR operation.
type Op uint8

// IR operations. Comparison and arithmetic nodes keep the operator text in
// Node.Name so back ends can pass it to stdlib/ops.
const (
	OpConst    Op = iota // Const
	OpField              // Field (top-level index) then Keys (nested object keys)
	OpNot                // !Args[0]
	OpNeg                // -Args[0]
	OpAnd                // Args[0] && Args[1]
	OpOr                 // Args[0] || Args[1]
	OpEq                 // Args[0] == Args[1]
	OpNe                 // Args[0] != Args[1]
	OpCompare            // Args[0] Name Args[1], Name one of < <= > >=
	OpArith              // Args[0] Name Args[1], Name one of + - * / %
	OpStringOp           // Args[0] Name Args[1], Name one of contains startsWith endsWith
	OpMatches            // Args[0] matches the regular expression in Name
	OpIn                 // Args[0] in (Args[1:], all OpConst)
	OpLen                // len(Args[0])
	OpCond               // Args[0] ? Args[1] : Args[2]
)

var opNames = [...]string{"const", "field", "not", "neg", "and", "or", "eq", "ne", "compare", "arith", "string", "matches", "in", "len", "cond"}

func (o Op) String() string { return opNames[o] }

// Node is one IR node: plain data, immutable after Compile.
type Node struct {
	Op Op
	// Type is the static kind of the node's value; KindNull means "any".
	Type  runtime.Kind
	Const runtime.Value // OpConst
	Field int           // OpField: top-level schema position
	Keys  []string      // OpField: nested object keys below the field
	Path  string        // OpField: the dotted name as written
	Name  string        // operator text or regular expression
	Args  []*Node
}

// Strategy is how a condition runs.
type Strategy uint8

// Strategies.
const (
	// Lowered conditions run as IR (closures or straight-line Go).
	Lowered Strategy = iota
	// Fallback conditions run on expr's VM from their source text.
	Fallback
)

func (s Strategy) String() string {
	if s == Fallback {
		return "expr-vm"
	}
	return "lowered"
}

// Condition is a compiled, type-checked boolean expression.
type Condition struct {
	Source   string
	Strategy Strategy
	// IR is the lowered tree (Strategy == Lowered).
	IR *Node
	// Reason says why the condition fell back (Strategy == Fallback).
	Reason string
	// Fields are the top-level fields the condition reads, by schema
	// position, in ascending order (the fallback's environment).
	Fields []FieldRef
	// Dynamic is set when the stream's schema is known only at run time:
	// the condition runs on expr's VM with every field of each record's
	// schema, by name (exprcond.Program.EvalRecord).
	Dynamic bool
	// Env is set when the condition's text came from environment
	// variables: it is a secret, and dumps and messages must not show it.
	Env bool
}

// FromEnv reports whether the condition's text came from the environment.
func (c *Condition) FromEnv() bool { return c.Env }

// FieldRef names a top-level field and its schema position.
type FieldRef struct {
	Name  string
	Index int
}

// Dump renders c deterministically, e.g.
// `lowered (and (compare > (field total_amount#5 float) (const 100 int)) …)`.
func (c *Condition) Dump() string {
	if c.Strategy == Fallback {
		return fmt.Sprintf("expr-vm %q (%s)", c.Source, c.Reason)
	}
	var b strings.Builder
	b.WriteString("lowered ")
	c.IR.dump(&b)
	return b.String()
}

func (n *Node) dump(b *strings.Builder) {
	b.WriteByte('(')
	b.WriteString(n.Op.String())
	switch n.Op {
	case OpConst:
		b.WriteByte(' ')
		b.Write(runtime.AppendJSON(nil, n.Const))
	case OpField:
		b.WriteString(" " + n.Path + "#" + strconv.Itoa(n.Field))
	case OpCompare, OpArith, OpStringOp:
		b.WriteString(" " + n.Name)
	case OpMatches:
		b.WriteString(" " + strconv.Quote(n.Name))
	}
	for _, a := range n.Args {
		b.WriteByte(' ')
		a.dump(b)
	}
	b.WriteString(" : ")
	b.WriteString(typeName(n.Type))
	b.WriteByte(')')
}

func typeName(k runtime.Kind) string {
	if k == runtime.KindNull {
		return "any"
	}
	return k.String()
}
