package schemas_test

import (
	"errors"
	"math"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

func TestRowValidatorDatagen(t *testing.T) {
	for _, p := range datagen.Patterns {
		t.Run(p, func(t *testing.T) {
			cfg := datagen.Config{Pattern: p, IncludeSequence: true, IncludeTimestamp: true, CustomFields: customFields()}
			s, rows := sample(t, cfg, 50)
			v, err := schemas.NewRowValidator(s)
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range rows {
				if err := v.ValidateRow(s, row); err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
			}
		})
	}
}

func nestedSchema() *runtime.Schema {
	return runtime.NewSchema(
		runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}},
		runtime.Field{Name: "name", Type: runtime.Type{Kind: runtime.KindString}, Nullable: true},
		runtime.Field{Name: "tags", Type: runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{
			{Name: "env", Type: runtime.Type{Kind: runtime.KindString}},
			{Name: "score", Type: runtime.Type{Kind: runtime.KindFloat}},
		}}},
		runtime.Field{Name: "list", Type: runtime.Type{Kind: runtime.KindArray, Elem: &runtime.Type{Kind: runtime.KindInt}}},
	)
}

func tags(env runtime.Value, score runtime.Value) runtime.Value {
	o := runtime.NewObject(2)
	if env.Kind() != runtime.KindAbsent {
		o.Set("env", env)
	}
	if score.Kind() != runtime.KindAbsent {
		o.Set("score", score)
	}
	return runtime.ObjectValue(o)
}

func ints(n ...int64) runtime.Value {
	a := make([]runtime.Value, len(n))
	for i, x := range n {
		a[i] = runtime.Int(x)
	}
	return runtime.ArrayValue(a)
}

func TestRowValidatorProblems(t *testing.T) {
	s := nestedSchema()
	v, err := schemas.NewRowValidator(s)
	if err != nil {
		t.Fatal(err)
	}
	good := []runtime.Value{runtime.Int(1), runtime.Null(), tags(runtime.String("prod"), runtime.Float(0.5)), ints(1, 2)}
	if err := v.ValidateRow(s, good); err != nil {
		t.Fatalf("valid row: %v", err)
	}
	// A nullable field may be absent; an int is a valid number.
	ok2 := []runtime.Value{runtime.Int(1), runtime.Absent(), tags(runtime.String("x"), runtime.Int(3)), ints()}
	if err := v.ValidateRow(s, ok2); err != nil {
		t.Fatalf("valid row with absent nullable field: %v", err)
	}
	cases := []struct {
		name string
		row  []runtime.Value
		want []schemas.JSONProblem
	}{
		{"wrong type", []runtime.Value{runtime.String("1"), runtime.Null(), tags(runtime.String("x"), runtime.Float(1)), ints()},
			[]schemas.JSONProblem{{Path: "/id", Keyword: "type", Message: "got string, want integer"}}},
		{"nested wrong type", []runtime.Value{runtime.Int(1), runtime.Null(), tags(runtime.Int(7), runtime.Float(1)), ints()},
			[]schemas.JSONProblem{{Path: "/tags/env", Keyword: "type", Message: "got number, want string"}}},
		{"nested missing", []runtime.Value{runtime.Int(1), runtime.Null(), tags(runtime.String("x"), runtime.Absent()), ints()},
			[]schemas.JSONProblem{{Path: "/tags", Keyword: "required", Message: "missing property 'score'"}}},
		{"missing required", []runtime.Value{runtime.Absent(), runtime.Null(), tags(runtime.String("x"), runtime.Float(1)), ints()},
			[]schemas.JSONProblem{{Path: "/", Keyword: "required", Message: "missing property 'id'"}}},
		{"array element", []runtime.Value{runtime.Int(1), runtime.Null(), tags(runtime.String("x"), runtime.Float(1)),
			runtime.ArrayValue([]runtime.Value{runtime.Int(1), runtime.Bool(true)})},
			[]schemas.JSONProblem{{Path: "/list/1", Keyword: "type", Message: "got boolean, want integer"}}},
		{"NaN is a string", []runtime.Value{runtime.Int(1), runtime.Null(), tags(runtime.String("x"), runtime.Float(math.NaN())), ints()},
			[]schemas.JSONProblem{{Path: "/tags/score", Keyword: "type", Message: "got string, want number"}}},
		{"two problems sorted", []runtime.Value{runtime.Bool(false), runtime.Int(2), tags(runtime.String("x"), runtime.Float(1)), ints()},
			[]schemas.JSONProblem{
				{Path: "/id", Keyword: "type", Message: "got boolean, want integer"},
				{Path: "/name", Keyword: "type", Message: "got number, want null or string"},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := v.ValidateRow(s, c.row)
			var ve *schemas.JSONValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *JSONValidationError", err)
			}
			if len(ve.Problems) != len(c.want) {
				t.Fatalf("problems = %v, want %v", ve.Problems, c.want)
			}
			for i := range c.want {
				if ve.Problems[i] != c.want[i] {
					t.Errorf("problem %d = %+v, want %+v", i, ve.Problems[i], c.want[i])
				}
			}
		})
	}
}

func TestJSONValidatorDocument(t *testing.T) {
	v, err := schemas.NewJSONValidator([]byte(`{"type":"object","properties":{"a":{"type":"array","items":{"type":"object","additionalProperties":false,"properties":{"b":{"type":"integer"}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	inner := runtime.NewObject(2).Set("b", runtime.Int(1))
	ok := runtime.ObjectValue(runtime.NewObject(1).Set("a", runtime.ArrayValue([]runtime.Value{runtime.ObjectValue(inner)})))
	if err := v.Validate(ok); err != nil {
		t.Fatalf("valid: %v", err)
	}
	bad := runtime.ObjectValue(runtime.NewObject(1).Set("a", runtime.ArrayValue([]runtime.Value{
		runtime.ObjectValue(runtime.NewObject(2).Set("b", runtime.Int(1)).Set("c", runtime.Null())),
	})))
	err = v.Validate(bad)
	want := "json schema validation failed: /a/0: additionalProperties: additional properties 'c' not allowed"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if err := v.Validate(runtime.String("x")); err == nil {
		t.Errorf("string against an object schema: no error")
	}
	for _, doc := range []any{`{"type": 5}`, `{`, `{"$ref":"http://example.com/x.json"}`} {
		if _, err := schemas.NewJSONValidator(doc); err == nil {
			t.Errorf("NewJSONValidator(%s): no error", doc)
		}
	}
}

// BenchmarkValidateOrders validates one datagen orders row per op against
// the stream's own JSON Schema.
func BenchmarkValidateOrders(b *testing.B) {
	s, rows := sample(b, datagen.Config{Pattern: "orders"}, 256)
	v, err := schemas.NewRowValidator(s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := v.ValidateRow(s, rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
	}
}
