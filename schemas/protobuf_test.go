package schemas_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

func TestProtobufRoundTripDatagen(t *testing.T) {
	for _, p := range datagen.Patterns {
		for _, cdc := range []bool{false, true} {
			name := p
			if cdc {
				name += "/cdc"
			}
			t.Run(name, func(t *testing.T) {
				cfg := datagen.Config{Pattern: p, CDCMode: cdc, IncludeSequence: true, IncludeTimestamp: true, CustomFields: customFields()}
				s, rows := sample(t, cfg, 200)
				c, err := schemas.NewProtobufCodec(s, p)
				if err != nil {
					t.Fatalf("%v\n%s", err, schemas.ProtobufSchema(s, p))
				}
				// A consumer holding only the registered text reads the same
				// messages: every field decodes, JSON-carried ones as strings.
				fromText, err := schemas.NewProtobufCodecFromText(schemas.ProtobufSchema(s, p), p)
				if err != nil {
					t.Fatal(err)
				}
				var buf []byte
				for i, row := range rows {
					buf, err = c.Append(buf[:0], row)
					if err != nil {
						t.Fatalf("row %d: %v", i, err)
					}
					got, err := c.Decode(buf)
					if err != nil {
						t.Fatalf("row %d: decode: %v", i, err)
					}
					for j := range row {
						if !got[j].Equal(row[j]) {
							t.Fatalf("row %d field %s: got %s, want %s", i, s.Fields[j].Name,
								runtime.AppendJSON(nil, got[j]), runtime.AppendJSON(nil, row[j]))
						}
					}
					// The generic dynamic message must parse it too, with no
					// unknown fields.
					m := dynamicpb.NewMessage(c.Descriptor())
					if err := proto.Unmarshal(buf, m); err != nil || len(m.GetUnknown()) != 0 {
						t.Fatalf("row %d: dynamicpb: %v, %d unknown bytes", i, err, len(m.GetUnknown()))
					}
					// The direct encoder writes what proto.Marshal does.
					if want, err := (proto.MarshalOptions{Deterministic: true}).Marshal(m); err != nil || !bytes.Equal(buf, want) {
						t.Fatalf("row %d: direct encoding differs from proto.Marshal (%v)\n got %x\nwant %x", i, err, buf, want)
					}
					generic, err := fromText.Decode(buf)
					if err != nil {
						t.Fatalf("row %d: decode from text: %v", i, err)
					}
					if len(generic) != len(s.Fields) {
						t.Fatalf("row %d: %d fields from text, want %d", i, len(generic), len(s.Fields))
					}
					if again, err := fromText.Append(nil, generic); err != nil || string(again) != string(buf) {
						t.Fatalf("row %d: re-encoding from text differs: %v", i, err)
					}
				}
			})
		}
	}
}

func TestProtobufSchemaText(t *testing.T) {
	s, err := datagen.Schema(datagen.Config{Pattern: "metrics", CustomFields: customFields()})
	if err != nil {
		t.Fatal(err)
	}
	fields := append(append([]runtime.Field(nil), s.Fields...),
		runtime.Field{Name: "gone", Type: runtime.Type{Kind: runtime.KindAbsent}},
		runtime.Field{Name: "maybe_list", Type: runtime.Type{Kind: runtime.KindArray, Elem: &runtime.Type{Kind: runtime.KindInt}}, Nullable: true},
		runtime.Field{Name: "grid", Type: runtime.Type{Kind: runtime.KindArray, Elem: &runtime.Type{Kind: runtime.KindArray, Elem: &runtime.Type{Kind: runtime.KindFloat}}}},
		runtime.Field{Name: "Tags", Type: runtime.Type{Kind: runtime.KindString}, Nullable: true},
		runtime.Field{Name: "meta", Type: runtime.Type{Kind: runtime.KindObject, Open: true}, Nullable: true},
	)
	got := schemas.ProtobufSchema(runtime.NewSchema(fields...), "metrics")
	want := `syntax = "proto3";

package rivven;

message metrics {
  int64 metric_id = 1;
  string name = 2;
  double value = 3;
  string unit = 4;
  string host = 5;
  Tags_ tags = 6;
  string timestamp = 7;
  string env = 8;
  optional string nothing = 9;
  Obj obj = 10;
  repeated double list = 11;
  repeated string mixed = 12;
  repeated string empty = 13;
  MaybeList maybe_list = 15;
  repeated GridItem grid = 16;
  optional string Tags = 17;
  optional string meta = 18;
  reserved 14;
  message Tags_ {
    string env = 1;
    string region = 2;
  }
  message Obj {
    int64 a = 1;
    string b = 2;
  }
  message MaybeList {
    repeated int64 items = 1;
  }
  message GridItem {
    repeated double items = 1;
  }
}
`
	if got != want {
		t.Errorf("ProtobufSchema\n got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := schemas.CompileProtobuf(got); err != nil {
		t.Fatal(err)
	}
}

// TestProtobufNullsAndWrappers round-trips the shapes datagen does not
// produce: null vs empty lists, lists of lists, nulls in nested objects.
func TestProtobufNullsAndWrappers(t *testing.T) {
	f := func(x float64) runtime.Value { return runtime.Float(x) }
	grid := runtime.Type{Kind: runtime.KindArray, Elem: &runtime.Type{Kind: runtime.KindArray, Elem: &runtime.Type{Kind: runtime.KindFloat}}}
	inner := runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{
		{Name: "n", Type: runtime.Type{Kind: runtime.KindInt}, Nullable: true},
		{Name: "b", Type: runtime.Type{Kind: runtime.KindBool}},
	}}
	s := runtime.NewSchema(
		runtime.Field{Name: "maybe", Type: runtime.Type{Kind: runtime.KindArray, Elem: &runtime.Type{Kind: runtime.KindString}}, Nullable: true},
		runtime.Field{Name: "grid", Type: grid},
		runtime.Field{Name: "obj", Type: inner, Nullable: true},
		runtime.Field{Name: "objs", Type: runtime.Type{Kind: runtime.KindArray, Elem: &inner}},
		runtime.Field{Name: "n", Type: runtime.Type{Kind: runtime.KindInt}, Nullable: true},
	)
	c, err := schemas.NewProtobufCodec(s, "t")
	if err != nil {
		t.Fatal(err)
	}
	obj := func(n runtime.Value, b bool) runtime.Value {
		return runtime.ObjectValue(runtime.NewObject(2).Set("n", n).Set("b", runtime.Bool(b)))
	}
	rows := [][]runtime.Value{
		{runtime.Null(), runtime.ArrayValue([]runtime.Value{}), runtime.Null(), runtime.ArrayValue([]runtime.Value{}), runtime.Null()},
		{runtime.ArrayValue([]runtime.Value{}), runtime.ArrayValue([]runtime.Value{runtime.ArrayValue([]runtime.Value{}), runtime.ArrayValue([]runtime.Value{f(1), f(-2.5)})}),
			obj(runtime.Null(), false), runtime.ArrayValue([]runtime.Value{obj(runtime.Int(0), true), obj(runtime.Null(), false)}), runtime.Int(0)},
		{runtime.ArrayValue([]runtime.Value{runtime.String(""), runtime.String("x")}), runtime.ArrayValue([]runtime.Value{}),
			obj(runtime.Int(-7), true), runtime.ArrayValue([]runtime.Value{}), runtime.Int(-1 << 62)},
		{runtime.Null(), runtime.ArrayValue([]runtime.Value{runtime.ArrayValue([]runtime.Value{f(math.Copysign(0, -1)), f(0), f(math.Inf(1))})}),
			runtime.Null(), runtime.ArrayValue([]runtime.Value{obj(runtime.Int(1), false)}), runtime.Null()},
		{runtime.Null(), runtime.ArrayValue([]runtime.Value{runtime.ArrayValue(longFloats(40))}), runtime.Null(), runtime.ArrayValue([]runtime.Value{}), runtime.Null()},
	}
	for i, row := range rows {
		buf, err := c.Append(nil, row)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		m := dynamicpb.NewMessage(c.Descriptor())
		if err := proto.Unmarshal(buf, m); err != nil {
			t.Fatalf("row %d: dynamicpb: %v", i, err)
		}
		if want, err := (proto.MarshalOptions{Deterministic: true}).Marshal(m); err != nil || !bytes.Equal(buf, want) {
			t.Fatalf("row %d: direct encoding differs from proto.Marshal (%v)\n got %x\nwant %x", i, err, buf, want)
		}
		got, err := c.Decode(buf)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		for j := range row {
			// Equal treats null and [] alike as different; check kinds too.
			if !got[j].Equal(row[j]) || got[j].Kind() != row[j].Kind() {
				t.Errorf("row %d field %s: got %s (%s), want %s (%s)", i, s.Fields[j].Name,
					runtime.AppendJSON(nil, got[j]), got[j].Kind(), runtime.AppendJSON(nil, row[j]), row[j].Kind())
			}
		}
	}
}

// longFloats returns n floats, enough for a packed list longer than 127
// bytes (a two-byte length).
func longFloats(n int) []runtime.Value {
	a := make([]runtime.Value, n)
	for i := range a {
		a[i] = runtime.Float(float64(i) / 3)
	}
	return a
}

func TestProtobufEncodeErrors(t *testing.T) {
	s := runtime.NewSchema(
		runtime.Field{Name: "id", Type: runtime.Type{Kind: runtime.KindInt}},
		runtime.Field{Name: "name", Type: runtime.Type{Kind: runtime.KindString}, Nullable: true},
		runtime.Field{Name: "list", Type: runtime.Type{Kind: runtime.KindArray, Elem: &runtime.Type{Kind: runtime.KindInt}}},
		runtime.Field{Name: "open", Type: runtime.Type{Kind: runtime.KindObject, Open: true}, Nullable: true},
	)
	c, err := schemas.NewProtobufCodec(s, "t")
	if err != nil {
		t.Fatal(err)
	}
	empty := runtime.ArrayValue(nil)
	cases := []struct {
		row  []runtime.Value
		want string
	}{
		{[]runtime.Value{runtime.Null(), runtime.Null(), empty, runtime.Null()}, "protobuf: field id: null in a non-nullable field"},
		{[]runtime.Value{runtime.String("x"), runtime.Null(), empty, runtime.Null()}, "protobuf: field id: want int, got string"},
		{[]runtime.Value{runtime.Int(1), runtime.Null(), runtime.ArrayValue([]runtime.Value{runtime.Int(1), runtime.Null()}), runtime.Null()}, "protobuf: field list[1]: null where int is wanted"},
		{[]runtime.Value{runtime.Int(1), runtime.Null(), runtime.Int(3), runtime.Null()}, "protobuf: field list: want array, got int"},
		{[]runtime.Value{runtime.Int(1), runtime.Null(), empty, runtime.Int(3)}, "protobuf: field open: want object, got int"},
	}
	for _, tc := range cases {
		if _, err := c.Append(nil, tc.row); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v, want %s", err, tc.want)
		}
	}
	// A JSON string that is not an object in an open-object field.
	bad := protowire.AppendTag(nil, 4, protowire.BytesType)
	bad = protowire.AppendString(bad, "5")
	if _, err := c.Decode(bad); err == nil || !strings.Contains(err.Error(), "field open: open object holds JSON int") {
		t.Errorf("decode open object: err = %v", err)
	}
	// JSON text is a proto3 string: invalid UTF-8 is rejected, as
	// proto.Unmarshal does.
	bad = protowire.AppendTag(nil, 4, protowire.BytesType)
	bad = protowire.AppendString(bad, "{\"a\":\"\xff\"}")
	if _, err := c.Decode(bad); err == nil || !strings.Contains(err.Error(), "field open: string is not valid UTF-8") {
		t.Errorf("decode invalid UTF-8: err = %v", err)
	}
	if _, err := schemas.ProtobufDecodeDynamic(c, bad); err == nil {
		t.Errorf("dynamicpb decode of invalid UTF-8: no error")
	}
	buf, err := c.Append(nil, []runtime.Value{runtime.Int(5), runtime.String("abc"), runtime.ArrayValue([]runtime.Value{runtime.Int(1)}), runtime.Null()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decode(buf[:len(buf)-1]); err == nil {
		t.Errorf("truncated message: no error")
	}
	if _, err := schemas.NewProtobufCodec(runtime.NewSchema(runtime.Field{Name: "bad-name", Type: runtime.Type{Kind: runtime.KindInt}}), "t"); err == nil {
		t.Errorf("invalid field name: no error")
	}
}

// TestProtobufFromText decodes a hand-written schema with the types the
// generated ones never use: enums, maps, unsigned and 32-bit integers,
// bytes, oneofs and nested message references.
func TestProtobufFromText(t *testing.T) {
	text := `syntax = "proto3";
package shop.v1;
// An order line.
message Line { string sku = 1; uint32 qty = 2; }
enum Status { STATUS_UNSPECIFIED = 0; PAID = 1; }
message Order {
  sint32 id = 1;
  Status status = 2;
  repeated Line lines = 3;
  map<string, int64> attrs = 4;
  bytes blob = 5;
  oneof who { string user = 6; fixed64 account = 7; }
  float ratio = 8;
  message Note { string text = 1; }
  Note note = 9;
}`
	c, err := schemas.NewProtobufCodecFromText(text, "Order")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Schema().Fields[2].Type.String(), "array<object{sku string, qty int}>"; got != want {
		t.Errorf("lines type = %s, want %s", got, want)
	}
	if idx := c.MessageIndexes(); len(idx) != 1 || idx[0] != 1 {
		t.Errorf("indexes = %v, want [1]", idx)
	}
	note, err := schemas.NewProtobufCodecFromText(text, "shop.v1.Order.Note")
	if err != nil {
		t.Fatal(err)
	}
	// The map field's synthetic AttrsEntry message is nested type 0, as in
	// the descriptor Confluent's serializers index.
	if idx := note.MessageIndexes(); len(idx) != 2 || idx[0] != 1 || idx[1] != 1 {
		t.Errorf("nested indexes = %v, want [1 1]", idx)
	}
	line := runtime.ObjectValue(runtime.NewObject(2).Set("sku", runtime.String("a")).Set("qty", runtime.Int(3)))
	attrs := runtime.ObjectValue(runtime.NewObject(2).Set("a", runtime.Int(1)).Set("b", runtime.Int(2)))
	row := []runtime.Value{runtime.Int(-3), runtime.String("PAID"), runtime.ArrayValue([]runtime.Value{line}), attrs,
		runtime.String("\x00\xff"), runtime.Null(), runtime.Int(42), runtime.Float(0.5),
		runtime.ObjectValue(runtime.NewObject(1).Set("text", runtime.String("hi")))}
	buf, err := c.Append(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	for j := range row {
		if !got[j].Equal(row[j]) {
			t.Errorf("field %s: got %s, want %s", c.Schema().Fields[j].Name, runtime.AppendJSON(nil, got[j]), runtime.AppendJSON(nil, row[j]))
		}
	}
	row[1] = runtime.String("SHIPPED")
	if _, err := c.Append(nil, row); err == nil || !strings.Contains(err.Error(), `"SHIPPED" is not a value of enum shop.v1.Status`) {
		t.Errorf("unknown enum name: err = %v", err)
	}
	row[1], row[0] = runtime.String("PAID"), runtime.Int(1<<40)
	if _, err := c.Append(nil, row); err == nil || !strings.Contains(err.Error(), "field id: 1099511627776 overflows sint32") {
		t.Errorf("overflow: err = %v", err)
	}
	for _, name := range []string{"Nope", "shop.v1.Status"} {
		if _, err := schemas.NewProtobufCodecFromText(text, name); err == nil {
			t.Errorf("message %s: no error", name)
		}
	}
	if _, err := schemas.NewProtobufCodecFromText(`syntax = "proto3"; message R { R next = 1; }`, "R"); err == nil || !strings.Contains(err.Error(), "recursive") {
		t.Errorf("recursive message: err = %v", err)
	}
	if _, err := schemas.CompileProtobuf(`syntax = "proto3"; message M { int64 a = 1 }`); err == nil || !strings.Contains(err.Error(), "schema.proto:1:") {
		t.Errorf("syntax error: err = %v", err)
	}
}

// TestProtobufDirectMatchesMarshal checks the direct encoder byte-for-byte
// against proto.Marshal over every scalar kind, singular (with and without
// presence, zero and not) and packed.
func TestProtobufDirectMatchesMarshal(t *testing.T) {
	kinds := []string{"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64",
		"sfixed32", "sfixed64", "bool", "float", "double", "string", "bytes", "E"}
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\nenum E { Z = 0; ONE = 1; }\nmessage M {\n")
	for i, k := range kinds {
		fmt.Fprintf(&b, "  %s s%d = %d;\n  optional %s o%d = %d;\n  repeated %s r%d = %d;\n", k, i, 3*i+1, k, i, 3*i+2, k, i, 3*i+3)
	}
	b.WriteString("}\n")
	c, err := schemas.NewProtobufCodecFromText(b.String(), "M")
	if err != nil {
		t.Fatal(err)
	}
	val := func(k string, x int64) runtime.Value {
		switch k {
		case "bool":
			return runtime.Bool(x != 0)
		case "float", "double":
			if x == 0 {
				return runtime.Float(math.Copysign(0, -1))
			}
			return runtime.Float(float64(x) / 4)
		case "string", "bytes":
			return runtime.String(strings.Repeat("é", int(x)))
		case "E":
			return runtime.String([]string{"Z", "ONE"}[x&1])
		}
		if strings.HasPrefix(k, "u") || strings.HasPrefix(k, "fixed") {
			return runtime.Int(x * 1000)
		}
		return runtime.Int(-x * 1000)
	}
	for _, x := range []int64{0, 1, 2, 200} {
		var row []runtime.Value
		for _, k := range kinds {
			list := make([]runtime.Value, x%5)
			for j := range list {
				list[j] = val(k, int64(j))
			}
			row = append(row, val(k, x), val(k, x), runtime.ArrayValue(list))
		}
		buf, err := c.Append(nil, row)
		if err != nil {
			t.Fatalf("x=%d: %v", x, err)
		}
		// Zero allocations proves the direct encoder ran, not dynamicpb.
		scratch := make([]byte, 0, 2*len(buf))
		if n := testing.AllocsPerRun(5, func() { _, _ = c.Append(scratch, row) }); n != 0 {
			t.Fatalf("x=%d: Append allocates %.0f times; the direct path was not taken", x, n)
		}
		m := dynamicpb.NewMessage(c.Descriptor())
		if err := proto.Unmarshal(buf, m); err != nil {
			t.Fatalf("x=%d: %v", x, err)
		}
		if want, err := (proto.MarshalOptions{Deterministic: true}).Marshal(m); err != nil || !bytes.Equal(buf, want) {
			t.Fatalf("x=%d: direct encoding differs from proto.Marshal (%v)\n got %x\nwant %x", x, err, buf, want)
		}
		got, err := c.Decode(buf)
		if err != nil {
			t.Fatal(err)
		}
		for j := range row {
			if !got[j].Equal(row[j]) {
				t.Errorf("x=%d field %s: got %s, want %s", x, c.Schema().Fields[j].Name, runtime.AppendJSON(nil, got[j]), runtime.AppendJSON(nil, row[j]))
			}
		}
	}
	bad := make([]runtime.Value, 3*len(kinds))
	for i := range bad {
		bad[i] = runtime.Null()
		if i%3 != 1 {
			bad[i] = val(kinds[i/3], 0)
		}
		if i%3 == 2 {
			bad[i] = runtime.ArrayValue(nil)
		}
	}
	bad[3*13] = runtime.String("\xff")
	if _, err := c.Append(nil, bad); err == nil || !strings.Contains(err.Error(), "field s13: string is not valid UTF-8") {
		t.Errorf("invalid UTF-8: err = %v", err)
	}
}

// TestProtobufKeywordNames pins that field names which are .proto keywords
// still make a schema that compiles and round-trips.
func TestProtobufKeywordNames(t *testing.T) {
	names := []string{"message", "optional", "repeated", "required", "reserved", "syntax", "option", "map",
		"oneof", "enum", "group", "extensions", "extend", "to", "max", "returns", "stream", "service",
		"rpc", "package", "import", "public", "weak", "true", "false", "inf", "nan", "int64", "string", "bool", "double", "edition"}
	var fields []runtime.Field
	var row []runtime.Value
	for i, n := range names {
		switch i % 3 {
		case 0:
			fields = append(fields, runtime.Field{Name: n, Type: runtime.Type{Kind: runtime.KindInt}})
			row = append(row, runtime.Int(int64(i)))
		case 1:
			fields = append(fields, runtime.Field{Name: n, Type: runtime.Type{Kind: runtime.KindString}, Nullable: true})
			row = append(row, runtime.String(n))
		default:
			fields = append(fields, runtime.Field{Name: n, Type: runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{{Name: n, Type: runtime.Type{Kind: runtime.KindBool}}}}})
			row = append(row, runtime.ObjectValue(runtime.NewObject(1).Set(n, runtime.Bool(true))))
		}
	}
	s := runtime.NewSchema(fields...)
	c, err := schemas.NewProtobufCodec(s, "kw")
	if err != nil {
		t.Fatalf("%v\n%s", err, schemas.ProtobufSchema(s, "kw"))
	}
	buf, err := c.Append(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	for j := range row {
		if !got[j].Equal(row[j]) {
			t.Errorf("field %s: got %s, want %s", names[j], runtime.AppendJSON(nil, got[j]), runtime.AppendJSON(nil, row[j]))
		}
	}
	if _, err := schemas.ParseProtobufCanonical(c.Canonical()); err != nil {
		t.Errorf("canonical text does not compile: %v", err)
	}
}
