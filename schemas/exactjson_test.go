package schemas_test

import (
	"bytes"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
)

// TestTypedFormatsCarryExactJSON: a value of type any that carries its JSON
// text (a json/jsonb column) is encoded by every typed format as that
// text, exactly, and decodes back to it; a number with decimal text is
// validated as that number.
func TestTypedFormatsCarryExactJSON(t *testing.T) {
	const text = `{"a":1,"a":[1.0,1E+2,0.1000000000000000000001,18446744073709551616,-1e400,"\ud800"]}`
	j, err := runtime.ParseJSON([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := runtime.ParseJSON([]byte(`123456789012345678901234567890.5`))
	s := runtime.NewSchema(runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}},
		runtime.Field{Name: "j", Type: runtime.Any, Nullable: true}, runtime.Field{Name: "n", Type: runtime.Any, Nullable: true})
	row := []runtime.Value{runtime.Int(1), j, n}
	want := `{"id":1,"j":` + text + `,"n":123456789012345678901234567890.5}`

	ac, err := schemas.NewAvroCodec(s, "t")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := schemas.NewProtobufCodec(s, "t")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]interface {
		Append([]byte, []runtime.Value) ([]byte, error)
		Decode([]byte) ([]runtime.Value, error)
	}{"avro": ac, "protobuf": pc} {
		b, err := c.Append(nil, row)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Contains(b, []byte(text)) || !bytes.Contains(b, []byte("123456789012345678901234567890.5")) {
			t.Errorf("%s: the encoding does not hold the exact text: %q", name, b)
		}
		back, err := c.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := string(runtime.AppendJSONRow(nil, s, back, "", 0)); got != want {
			t.Errorf("%s round trip\n got %s\nwant %s", name, got, want)
		}
	}

	// json_schema: numbers with decimal text are validated as those numbers.
	ns := runtime.NewSchema(runtime.Field{Name: "i", Type: runtime.Type{Kind: runtime.KindInt}}, runtime.Field{Name: "f", Type: runtime.Type{Kind: runtime.KindFloat}})
	v, err := schemas.NewRowValidator(ns)
	if err != nil {
		t.Fatal(err)
	}
	big, _ := runtime.ParseJSON([]byte(`18446744073709551616`))
	inf, _ := runtime.ParseJSON([]byte(`1e400`))
	if err := v.ValidateRow(ns, []runtime.Value{big, inf}); err != nil {
		t.Errorf("exact numbers refused: %v", err)
	}
	frac, _ := runtime.ParseJSON([]byte(`18446744073709551616.5`))
	if err := v.ValidateRow(ns, []runtime.Value{frac, inf}); err == nil {
		t.Error("18446744073709551616.5 accepted as an integer")
	}
}
