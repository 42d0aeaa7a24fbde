package cond_test

// The differential test: conditions in the lowered subset, run as IR by the
// interpreter, must mean exactly what expr-lang's own VM makes of them —
// the same result, and an error exactly when the VM fails.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/cond"
	"github.com/rivven/rivven-connect/compiler/interp"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/exprcond"
)

var (
	tInt    = runtime.Type{Kind: runtime.KindInt}
	tFloat  = runtime.Type{Kind: runtime.KindFloat}
	tString = runtime.Type{Kind: runtime.KindString}
	tBool   = runtime.Type{Kind: runtime.KindBool}
)

// diffSchema is datagen's orders pattern plus an object with known keys, an
// open object, nullable fields, a bool, an untyped field and an array.
func diffSchema() *runtime.Schema {
	return runtime.NewSchema(
		runtime.Field{Name: "order_id", Type: tString},    // 0
		runtime.Field{Name: "customer_id", Type: tString}, // 1
		runtime.Field{Name: "product", Type: tString},     // 2
		runtime.Field{Name: "quantity", Type: tInt},       // 3
		runtime.Field{Name: "unit_price", Type: tFloat},   // 4
		runtime.Field{Name: "total_amount", Type: tFloat}, // 5
		runtime.Field{Name: "currency", Type: tString},    // 6
		runtime.Field{Name: "status", Type: tString},      // 7
		runtime.Field{Name: "created_at", Type: tString},  // 8
		runtime.Field{Name: "meta", Type: runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{ // 9
			{Name: "region", Type: tString},
			{Name: "tier", Type: tInt},
			{Name: "score", Type: tFloat},
			{Name: "vip", Type: tBool},
		}}},
		runtime.Field{Name: "payload", Type: runtime.Type{Kind: runtime.KindObject, Open: true}}, // 10
		runtime.Field{Name: "note", Type: tString, Nullable: true},                               // 11
		runtime.Field{Name: "discount", Type: tFloat, Nullable: true},                            // 12
		runtime.Field{Name: "flag", Type: tBool},                                                 // 13
		runtime.Field{Name: "extra", Type: runtime.Any},                                          // 14
		runtime.Field{Name: "tags", Type: runtime.Type{Kind: runtime.KindArray, Elem: &tString}}, // 15
		runtime.Field{Name: "maybe", Type: tBool, Nullable: true},                                // 16
	)
}

// ---- expression generator -------------------------------------------------

type exprGen struct{ r *rand.Rand }

func (g *exprGen) pick(s ...string) string { return s[g.r.IntN(len(s))] }

func (g *exprGen) num(d int) string {
	k := g.r.IntN(12)
	if d <= 0 {
		k %= 3
	}
	switch k {
	case 0:
		return g.pick("quantity", "unit_price", "total_amount", "discount", "meta.tier", "meta.score", "payload.n", "extra")
	case 1:
		return g.pick("0", "1", "2", "3", "7", "100", "9223372036854775807")
	case 2:
		return g.pick("0.5", "100.0", "1e300", "2.5", "0.0", "99.99")
	case 3, 4, 5:
		return "(" + g.num(d-1) + " " + g.pick("+", "-", "*", "/", "%") + " " + g.num(d-1) + ")"
	case 6:
		return "-" + g.num(d-1)
	case 7:
		return "len(" + g.pick(g.str(d-1), "tags", "meta", "payload", "extra") + ")"
	case 8:
		return "(" + g.boolean(d-1) + " ? " + g.num(d-1) + " : " + g.num(d-1) + ")"
	case 9:
		return "+" + g.num(d-1)
	case 10:
		return "quantity"
	}
	return "total_amount"
}

func (g *exprGen) str(d int) string {
	k := g.r.IntN(8)
	if d <= 0 {
		k %= 2
	}
	switch k {
	case 0:
		return g.pick("order_id", "customer_id", "product", "currency", "status", "created_at", "note", "meta.region", "payload.s", "extra", `meta["region"]`)
	case 1:
		return g.pick(`""`, `"a"`, `"EUR"`, `"héllo"`, `"pending"`, `"ab"`, `"日本"`)
	case 2, 3:
		return "(" + g.str(d-1) + " + " + g.str(d-1) + ")"
	case 4:
		return "(" + g.boolean(d-1) + " ? " + g.str(d-1) + " : " + g.str(d-1) + ")"
	}
	return "status"
}

func (g *exprGen) any(d int) string {
	switch g.r.IntN(7) {
	case 0:
		return g.num(d)
	case 1:
		return g.str(d)
	case 2:
		return g.boolean(d)
	case 3:
		return "nil"
	case 4:
		return g.pick("meta", "payload", "payload.o", "tags", "extra", "payload.arr", "meta.vip", "payload.o.n", "payload.o.x.s", "extra.n")
	case 5:
		return "-" + g.pick("extra", "payload.n", "discount", "payload.o.n")
	}
	return g.pick("payload.n", "payload.s", "payload.b", "note", "discount", "maybe")
}

func (g *exprGen) boolean(d int) string {
	k := g.r.IntN(20)
	if d <= 0 {
		k = 18 + g.r.IntN(2)
	}
	switch k {
	case 0, 1:
		return g.num(d-1) + " " + g.pick("<", "<=", ">", ">=") + " " + g.num(d-1)
	case 2:
		return g.str(d-1) + " " + g.pick("<", "<=", ">", ">=") + " " + g.str(d-1)
	case 3, 4:
		return g.any(d-1) + " " + g.pick("==", "!=") + " " + g.any(d-1)
	case 5:
		return g.num(d-1) + " " + g.pick("==", "!=") + " " + g.num(d-1)
	case 6:
		return g.str(d-1) + " " + g.pick("contains", "startsWith", "endsWith") + " " + g.str(d-1)
	case 7:
		return g.str(d-1) + " matches " + g.pick(`"^a"`, `"b$"`, `"[0-9]+"`, `"é"`, `""`)
	case 8:
		var elems []string
		for range 1 + g.r.IntN(4) {
			elems = append(elems, g.pick("1", "2.0", "0", `"a"`, `"pending"`, `""`, "nil", "true", "false", "100", "0.5"))
		}
		return g.any(d-1) + g.pick(" in [", " not in [") + strings.Join(elems, ", ") + "]"
	case 9:
		return g.pick("!", "not ") + "(" + g.boolean(d-1) + ")"
	case 10, 11:
		return "(" + g.boolean(d-1) + " " + g.pick("&&", "and") + " " + g.boolean(d-1) + ")"
	case 12, 13:
		return "(" + g.boolean(d-1) + " " + g.pick("||", "or") + " " + g.boolean(d-1) + ")"
	case 14:
		return "(" + g.boolean(d-1) + " ? " + g.boolean(d-1) + " : " + g.boolean(d-1) + ")"
	case 15:
		return "(" + g.boolean(d-1) + ") " + g.pick("==", "!=") + " " + g.pick("nil", "true", "false", g.boolean(d-1))
	case 16:
		return g.pick("meta == meta", "payload == payload", "payload.o == payload.o", "tags == tags", "meta == payload.o", "payload.arr == payload.arr", "extra == extra")
	case 17:
		return "len(" + g.pick(g.str(d-1), "tags", "meta", "payload", "payload.o", "extra") + ") " + g.pick("==", ">", "<=") + " " + g.pick("0", "1", "2", "4")
	case 18:
		return g.pick("flag", "meta.vip", "payload.b", "maybe", "extra", "true", "false")
	}
	return g.pick("quantity > 2", `status == "pending"`, "total_amount >= 100", `note == nil`, "discount > 0.5", `payload.s contains "a"`)
}

// ---- row generator --------------------------------------------------------

type rowGen struct{ r *rand.Rand }

var (
	sampleInts    = []int64{0, 1, -1, 2, 3, 7, 100, math.MaxInt64, math.MinInt64}
	sampleFloats  = []float64{0, math.Copysign(0, -1), 0.5, 1, 2.5, 99.99, 100, 1e300, -2.5, math.NaN(), math.Inf(1), math.Inf(-1)}
	sampleStrings = []string{"", "a", "ab", "EUR", "pending", "héllo", "日本", "a1b", "cancelled", "b"}
)

func (g *rowGen) chance(p float64) bool { return g.r.Float64() < p }

func (g *rowGen) int() runtime.Value { return runtime.Int(sampleInts[g.r.IntN(len(sampleInts))]) }

func (g *rowGen) float() runtime.Value {
	return runtime.Float(sampleFloats[g.r.IntN(len(sampleFloats))])
}

func (g *rowGen) string() runtime.Value {
	return runtime.String(sampleStrings[g.r.IntN(len(sampleStrings))])
}

func (g *rowGen) scalar() runtime.Value {
	switch g.r.IntN(6) {
	case 0:
		return runtime.Null()
	case 1:
		return runtime.Bool(g.chance(0.5))
	case 2:
		return g.int()
	case 3:
		return g.float()
	}
	return g.string()
}

// value is a value of any kind, objects and arrays included.
func (g *rowGen) value(d int) runtime.Value {
	if d <= 0 || g.chance(0.6) {
		return g.scalar()
	}
	if g.chance(0.5) {
		a := make([]runtime.Value, g.r.IntN(3))
		for i := range a {
			a[i] = g.value(d - 1)
		}
		return runtime.ArrayValue(a)
	}
	o := runtime.NewObject(3)
	for _, k := range []string{"n", "s", "x"} {
		if g.chance(0.6) {
			o.Set(k, g.value(d-1))
		}
	}
	return runtime.ObjectValue(o)
}

// maybeNull replaces v by null (or, rarely, the absent marker) now and then.
func (g *rowGen) maybeNull(v runtime.Value, p float64) runtime.Value {
	if g.chance(p) {
		if g.chance(0.2) {
			return runtime.Absent()
		}
		return runtime.Null()
	}
	return v
}

func (g *rowGen) row() []runtime.Value {
	// Nulls even in fields the schema says are never null (a source may
	// break its word; the operators must still agree), except in the bool
	// field flag: the compiler trusts the schema there.
	const p = 0.08
	meta := runtime.NewObject(4)
	for _, kv := range []struct {
		k string
		v runtime.Value
	}{{"region", g.string()}, {"tier", g.int()}, {"score", g.float()}, {"vip", runtime.Bool(g.chance(0.5))}} {
		switch {
		case g.chance(0.1): // missing
		case g.chance(0.1):
			meta.Set(kv.k, runtime.Absent())
		default:
			meta.Set(kv.k, g.maybeNull(kv.v, 0.1))
		}
	}
	payload := runtime.NewObject(6)
	for _, kv := range []struct {
		k string
		v runtime.Value
	}{{"n", g.pick(g.int(), g.float())}, {"s", g.string()}, {"b", runtime.Bool(g.chance(0.5))}, {"o", g.value(2)}, {"arr", runtime.ArrayValue([]runtime.Value{g.scalar(), g.scalar()})}} {
		if g.chance(0.85) {
			v := kv.v
			if g.chance(0.15) {
				v = g.value(1) // any kind at all
			}
			payload.Set(kv.k, v)
		}
	}
	tags := make([]runtime.Value, g.r.IntN(3))
	for i := range tags {
		tags[i] = g.string()
	}
	return []runtime.Value{
		g.maybeNull(g.string(), p),
		g.maybeNull(g.string(), p),
		g.maybeNull(g.string(), p),
		g.maybeNull(g.int(), p),
		g.maybeNull(g.float(), p),
		g.maybeNull(g.float(), p),
		g.maybeNull(g.string(), p),
		g.maybeNull(g.string(), p),
		g.maybeNull(g.string(), p),
		g.maybeNull(runtime.ObjectValue(meta), p),
		g.maybeNull(runtime.ObjectValue(payload), p),
		g.maybeNull(g.string(), 0.4),
		g.maybeNull(g.float(), 0.4),
		runtime.Bool(g.chance(0.5)), // see TestNullInNonNullableBoolField
		g.maybeNull(g.value(2), 0.2),
		g.maybeNull(runtime.ArrayValue(tags), p),
		g.maybeNull(runtime.Bool(g.chance(0.5)), 0.4),
	}
}

func (g *rowGen) pick(vs ...runtime.Value) runtime.Value { return vs[g.r.IntN(len(vs))] }

// ---- the two evaluators ---------------------------------------------------

// outcome is one evaluation: a result or an error.
type outcome struct {
	ok  bool
	err error
}

func (o outcome) String() string {
	if o.err != nil {
		return "error: " + o.err.Error()
	}
	return fmt.Sprint(o.ok)
}

func (o outcome) same(p outcome) bool {
	if (o.err != nil) != (p.err != nil) {
		return false
	}
	return o.err != nil || o.ok == p.ok
}

// lowered compiles c (which must be lowered) for the interpreter.
func lowered(t testing.TB, c *cond.Condition) runtime.Program {
	t.Helper()
	pp := &plan.Pipeline{Name: "p", Stages: []*plan.Stage{{Parts: []plan.Part{{Name: "f"}}, Spec: &bind.FilterStage{Cond: c, Conds: []*cond.Condition{c}}}}}
	prog, err := interp.Program(pp)
	if err != nil {
		t.Fatalf("interp.Program(%q): %v", c.Source, err)
	}
	return prog
}

func runLowered(prog runtime.Program, row []runtime.Value) outcome {
	r := &runtime.Record{After: append([]runtime.Value(nil), row...)}
	ok, err := prog.Process(r)
	var se *runtime.StageError
	if err != nil && !errors.As(err, &se) {
		err = fmt.Errorf("not a StageError: %w", err)
	}
	return outcome{ok, err}
}

// vmProgram compiles text for expr's VM the way a reference user would:
// untyped, so every value is dynamic. optimize selects expr's optimizer.
func vmProgram(text string, optimize bool) (*vm.Program, error) {
	return expr.Compile(text, expr.AsBool(), expr.Optimize(optimize))
}

func runVM(p *vm.Program, compileErr error, s *runtime.Schema, row []runtime.Value) outcome {
	if compileErr != nil {
		return outcome{err: compileErr}
	}
	env := make(map[string]any, len(row))
	for i, f := range s.Fields {
		env[f.Name] = exprcond.ToGo(row[i])
	}
	out, err := expr.Run(p, env)
	if err != nil {
		return outcome{err: err}
	}
	b, ok := out.(bool)
	if !ok {
		return outcome{err: fmt.Errorf("yielded %T, not bool", out)}
	}
	return outcome{ok: b}
}

func rowString(row []runtime.Value) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range row {
		if i > 0 {
			b.WriteString(", ")
		}
		if v.Kind() == runtime.KindAbsent {
			b.WriteString("<absent>")
			continue
		}
		b.Write(runtime.AppendJSON(nil, v))
	}
	b.WriteByte(']')
	return b.String()
}

// ---- the tests ------------------------------------------------------------

// TestDifferentialLoweredVsVM generates conditions from the lowered subset,
// evaluates each on random rows with the interpreter and with expr's VM, and
// requires the same result or error from both.
func TestDifferentialLoweredVsVM(t *testing.T) {
	s := diffSchema()
	nExprs, nRows := 3000, 40
	if testing.Short() {
		nExprs = 500
	}
	// COND_DIFF_SEED=n explores other expressions and rows than the
	// committed seed.
	seed := uint64(1)
	if v := os.Getenv("COND_DIFF_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("COND_DIFF_SEED: %v", err)
		}
		seed = n
	}
	eg := &exprGen{r: rand.New(rand.NewPCG(seed, 2))}
	rg := &rowGen{r: rand.New(rand.NewPCG(seed, 4))}
	rows := make([][]runtime.Value, 400)
	for i := range rows {
		rows[i] = rg.row()
	}
	stats := map[string]int{}
	failures := 0
	seen := map[string]bool{}
	for range nExprs {
		text := eg.boolean(3)
		if seen[text] {
			continue
		}
		seen[text] = true
		c, cerr := cond.Compile(text, s)
		if cerr != nil {
			stats["type error"]++
			continue
		}
		if c.Strategy != cond.Lowered {
			stats["fallback"]++
			continue
		}
		stats["lowered"]++
		prog := lowered(t, c)
		ref, refErr := vmProgram(text, false)
		for range nRows {
			row := rows[rg.r.IntN(len(rows))]
			got := runLowered(prog, row)
			want := runVM(ref, refErr, s, row)
			if got.err != nil {
				stats["row errors"]++
			}
			if !got.same(want) {
				failures++
				if failures <= 25 {
					t.Errorf("divergence on %q\n  row:     %s\n  lowered: %v\n  expr VM: %v\n  IR: %s", text, rowString(row), got, want, c.Dump())
				}
			}
			stats["rows"]++
		}
	}
	if failures > 25 {
		t.Errorf("… %d divergences in all", failures)
	}
	t.Logf("stats: %v", stats)
	if stats["lowered"] < nExprs/4 {
		t.Errorf("only %d of %d generated conditions were lowered; the generator drifted from the subset", stats["lowered"], nExprs)
	}
	if stats["row errors"] == 0 || stats["row errors"] == stats["rows"] {
		t.Errorf("row errors %d of %d: the rows do not exercise both outcomes", stats["row errors"], stats["rows"])
	}
}

// baseRow is a well-formed row of diffSchema; with sets fields by name.
func baseRow(s *runtime.Schema, with map[string]runtime.Value) []runtime.Value {
	meta := runtime.NewObject(4).Set("region", runtime.String("eu")).Set("tier", runtime.Int(2)).
		Set("score", runtime.Float(0.5)).Set("vip", runtime.Bool(true))
	payload := runtime.NewObject(2).Set("n", runtime.Int(1)).Set("s", runtime.String("abc"))
	row := []runtime.Value{
		runtime.String("o-1"), runtime.String("c-1"), runtime.String("widget"), runtime.Int(3),
		runtime.Float(2.5), runtime.Float(7.5), runtime.String("EUR"), runtime.String("pending"),
		runtime.String("2026-01-01T00:00:00Z"), runtime.ObjectValue(meta), runtime.ObjectValue(payload),
		runtime.String("gift"), runtime.Float(0.1), runtime.Bool(true), runtime.Int(1),
		runtime.ArrayValue([]runtime.Value{runtime.String("a")}), runtime.Bool(false),
	}
	for name, v := range with {
		i := s.Index(name)
		if i < 0 {
			panic("no field " + name)
		}
		row[i] = v
	}
	return row
}

func objOf(kv ...any) runtime.Value {
	o := runtime.NewObject(len(kv) / 2)
	for j := 0; j < len(kv); j += 2 {
		o.Set(kv[j].(string), kv[j+1].(runtime.Value))
	}
	return runtime.ObjectValue(o)
}

// TestDivergenceRegressions keeps every divergence the differential test
// found between the lowered IR and expr's VM, each with the outcome both
// must give. want is "true", "false" or "error".
func TestDivergenceRegressions(t *testing.T) {
	s := diffSchema()
	nan := runtime.Float(math.NaN())
	tests := []struct {
		name string
		text string
		with map[string]runtime.Value
		want string
	}{
		// ops.Member read a member of null as null; expr fails.
		{"MemberOfNull", `meta.region == nil`, map[string]runtime.Value{"meta": runtime.Null()}, "error"},
		{"MemberOfNullNested", `payload.o.x == nil`, nil, "error"}, // payload.o is missing, so null
		{"MemberOfRemovedField", `meta.region == nil`, map[string]runtime.Value{"meta": runtime.Absent()}, "error"},
		{"MemberOfMissingKey", `meta.region == nil`, map[string]runtime.Value{"meta": objOf("score", runtime.Float(1))}, "true"},
		{"MemberOfRemovedKey", `meta.region == nil`, map[string]runtime.Value{"meta": objOf("region", runtime.Absent())}, "true"},
		// contains/startsWith/endsWith/matches on null failed; expr says false.
		{"ContainsNull", `note contains "a"`, map[string]runtime.Value{"note": runtime.Null()}, "false"},
		{"StartsWithNullNeedle", `status startsWith note`, map[string]runtime.Value{"note": runtime.Null()}, "false"},
		{"EndsWithNullField", `status endsWith "g"`, map[string]runtime.Value{"status": runtime.Null()}, "false"},
		{"NotContainsNull", `!(note contains "a")`, map[string]runtime.Value{"note": runtime.Null()}, "true"},
		{"MatchesNull", `payload.s matches "^a"`, map[string]runtime.Value{"payload": objOf()}, "false"},
		{"MatchesNonString", `payload.s matches "^a"`, map[string]runtime.Value{"payload": objOf("s", runtime.Int(1))}, "error"},
		// An object is equal to itself in expr (one Go map), NaN or not.
		{"SameObjectWithNaN", `payload == payload`, map[string]runtime.Value{"payload": objOf("n", nan)}, "true"},
		{"SameNestedObjectWithNaN", `payload.o == payload.o`, map[string]runtime.Value{"payload": objOf("o", objOf("n", nan))}, "true"},
		{"ArrayWithNaN", `tags == tags`, map[string]runtime.Value{"tags": runtime.ArrayValue([]runtime.Value{nan})}, "false"},
		// Objects compare as reflect.DeepEqual: int 1 and float 1.0 differ inside them.
		{"ObjectsStrictKinds", `payload.o == payload.p`, map[string]runtime.Value{"payload": objOf("o", objOf("a", runtime.Int(1)), "p", objOf("a", runtime.Float(1)))}, "false"},
		{"ObjectsIgnoreRemovedKeys", `payload.o == payload.p`, map[string]runtime.Value{"payload": objOf("o", objOf("a", runtime.Int(1), "x", runtime.Absent()), "p", objOf("a", runtime.Int(1)))}, "true"},
		{"ArraysLooseKinds", `payload.o == payload.p`, map[string]runtime.Value{"payload": objOf("o", runtime.ArrayValue([]runtime.Value{runtime.Int(1)}), "p", runtime.ArrayValue([]runtime.Value{runtime.Float(1)}))}, "true"},
		// len of an object counted removed keys.
		{"LenSkipsRemovedKeys", `len(meta) == 3`, map[string]runtime.Value{"meta": objOf("a", runtime.Int(1), "b", runtime.Int(2), "gone", runtime.Absent(), "c", runtime.Null())}, "true"},
		// A null result was an error; expr's final cast makes it false.
		{"NullResultIsFalse", `meta.vip`, map[string]runtime.Value{"meta": objOf("vip", runtime.Null())}, "false"},
		{"NullableBoolResult", `maybe`, map[string]runtime.Value{"maybe": runtime.Null()}, "false"},
		{"NonBoolResultFails", `extra`, map[string]runtime.Value{"extra": runtime.Int(1)}, "error"},
		{"NullRightOperandOfAnd", `flag && maybe`, map[string]runtime.Value{"maybe": runtime.Null()}, "false"},
		{"NullRightOperandOfOr", `quantity > 5 || maybe`, map[string]runtime.Value{"maybe": runtime.Null()}, "false"},
		{"NullBranchOfTernary", `flag ? maybe : true`, map[string]runtime.Value{"maybe": runtime.Null()}, "false"},
		{"NullLeftOperandOfAndFails", `maybe && flag`, map[string]runtime.Value{"maybe": runtime.Null()}, "error"},
		{"NotNullFails", `!maybe`, map[string]runtime.Value{"maybe": runtime.Null()}, "error"},
		// && and || yield their right operand as it is, which == can see.
		{"AndYieldsRightOperand", `(flag && maybe) == nil`, map[string]runtime.Value{"maybe": runtime.Null()}, "true"},
		{"OrYieldsRightOperand", `(quantity > 5 or (payload.s contains "a" ? false : extra)) != nil`, map[string]runtime.Value{"extra": objOf()}, "true"},
		{"AndYieldsObject", `(flag && extra) in [nil]`, map[string]runtime.Value{"extra": objOf()}, "false"},
		// Errors that must stay errors.
		{"CompareNull", `discount > 0.5`, map[string]runtime.Value{"discount": runtime.Null()}, "error"},
		{"CompareRemoved", `total_amount > 1`, map[string]runtime.Value{"total_amount": runtime.Absent()}, "error"},
		{"ModuloByZero", `quantity % (quantity - 3) == 0`, nil, "error"},
		{"LenOfNull", `len(note) > 0`, map[string]runtime.Value{"note": runtime.Null()}, "error"},
		{"NaNOrdering", `total_amount < 1 || total_amount >= 1`, map[string]runtime.Value{"total_amount": nan}, "false"},
		{"NaNNotEqual", `total_amount != total_amount`, map[string]runtime.Value{"total_amount": nan}, "true"},
		{"NullInList", `note in ["", nil]`, map[string]runtime.Value{"note": runtime.Null()}, "true"},
		{"NullNotInStrings", `note in ["", "a"]`, map[string]runtime.Value{"note": runtime.Null()}, "false"},
		{"IntInStrings", `extra in ["", "a"]`, map[string]runtime.Value{"extra": runtime.Int(1)}, "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cond.Compile(tt.text, s)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.text, err)
			}
			if c.Strategy != cond.Lowered {
				t.Fatalf("Compile(%q) fell back: %s", tt.text, c.Reason)
			}
			row := baseRow(s, tt.with)
			got := runLowered(lowered(t, c), row)
			ref, refErr := vmProgram(tt.text, false)
			want := runVM(ref, refErr, s, row)
			if !got.same(want) {
				t.Errorf("%q on %s:\n  lowered: %v\n  expr VM: %v\n  IR: %s", tt.text, rowString(row), got, want, c.Dump())
			}
			short := "error"
			if got.err == nil {
				short = fmt.Sprint(got.ok)
			}
			if short != tt.want {
				t.Errorf("%q = %v, want %s", tt.text, got, tt.want)
			}
		})
	}
}

// TestNullInNonNullableBoolField documents the one place where the lowered
// IR trusts the schema over the row: a top-level bool field that is not
// nullable is used as a bool. Should a source nevertheless put null there,
// the condition `flag` fails for that record, where expr's VM (whose final
// cast turns nil into false) would say false.
func TestNullInNonNullableBoolField(t *testing.T) {
	s := diffSchema()
	c, err := cond.Compile(`flag`, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Dump(); got != `lowered (field flag#13 : bool)` {
		t.Errorf("Dump = %s", got)
	}
	row := baseRow(s, map[string]runtime.Value{"flag": runtime.Null()})
	if got := runLowered(lowered(t, c), row); got.err == nil {
		t.Errorf("lowered `flag` on a null flag = %v, want an error", got)
	}
}
