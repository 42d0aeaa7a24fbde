package schemas_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/schemas"
)

const pbBase = `syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  string sku = 2;
  sint32 delta = 3;
  fixed32 crc = 4;
  Line line = 5;
  repeated int64 codes = 6;
  oneof who { string user = 7; int64 account = 8; }
  double price = 9;
  reserved 20;
}
message Line { string text = 1; }
message Unused { message Inner { int32 x = 1; } }
`

// pbEdit returns pbBase with each old string replaced by its new one.
func pbEdit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := pbBase
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("pbBase lacks %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestCheckProtobuf(t *testing.T) {
	cases := []struct {
		name      string
		level     schemas.Compatibility
		candidate string
		want      string // "" when compatible
	}{
		{"identical", schemas.CompatFullTransitive, pbBase, ""},
		{"field added", schemas.CompatFull, pbEdit(t, "double price = 9;", "double price = 9; string note = 10;"), ""},
		{"field removed", schemas.CompatFull, pbEdit(t, "double price = 9;", ""), ""},
		{"field removed and reserved", schemas.CompatFull, pbEdit(t, "double price = 9;", "reserved 9;"), ""},
		{"renamed field", schemas.CompatFull, pbEdit(t, "string sku = 2;", "string code = 2;"), ""},
		{"number reused with another type", schemas.CompatBackward, pbEdit(t, "string sku = 2;", "int64 sku = 2;"),
			"shop.Order.sku: type changed from string to int64"},
		{"scalar to message", schemas.CompatForward, pbEdit(t, "double price = 9;", "Line price = 9;"),
			"shop.Order.price: type changed from .shop.Line to double"},
		{"varint group", schemas.CompatFull, pbEdit(t, "int64 id = 1;", "uint32 id = 1;"), ""},
		{"varint to bool", schemas.CompatFull, pbEdit(t, "int64 id = 1;", "bool id = 1;"), ""},
		{"varint to zigzag", schemas.CompatBackward, pbEdit(t, "int64 id = 1;", "sint64 id = 1;"),
			"shop.Order.id: type changed from int64 to sint64"},
		{"zigzag group", schemas.CompatFull, pbEdit(t, "sint32 delta = 3;", "sint64 delta = 3;"), ""},
		{"zigzag to fixed", schemas.CompatBackward, pbEdit(t, "sint32 delta = 3;", "sfixed32 delta = 3;"),
			"type changed from sint32 to sfixed32"},
		{"fixed32 group", schemas.CompatFull, pbEdit(t, "fixed32 crc = 4;", "sfixed32 crc = 4;"), ""},
		{"fixed32 to fixed64", schemas.CompatBackward, pbEdit(t, "fixed32 crc = 4;", "fixed64 crc = 4;"),
			"type changed from fixed32 to fixed64"},
		{"string to bytes", schemas.CompatFull, pbEdit(t, "string sku = 2;", "bytes sku = 2;"), ""},
		{"double to float", schemas.CompatBackward, pbEdit(t, "double price = 9;", "float price = 9;"),
			"type changed from double to float"},
		{"message type renamed", schemas.CompatBackward, pbEdit(t, "Line line = 5;", "Other line = 5;", "message Unused", "message Other { string text = 1; }\nmessage Unused"),
			"shop.Order.line: message type changed from Line to Other"},
		{"string becomes repeated", schemas.CompatFull, pbEdit(t, "string sku = 2;", "repeated string sku = 2;"), ""},
		{"message becomes repeated", schemas.CompatFull, pbEdit(t, "Line line = 5;", "repeated Line line = 5;"), ""},
		{"packable becomes singular", schemas.CompatBackward, pbEdit(t, "repeated int64 codes = 6;", "int64 codes = 6;"),
			"shop.Order.codes: label changed from repeated to singular, which int64 values cannot survive"},
		{"used message removed", schemas.CompatBackward, pbEdit(t, "Line line = 5;", "", "message Line { string text = 1; }", ""),
			"shop.Line: message removed but the writer schema uses it"},
		{"unused nested message removed", schemas.CompatFull, pbEdit(t, "message Unused { message Inner { int32 x = 1; } }", "message Unused {}"), ""},
		{"message added", schemas.CompatFull, pbEdit(t, "message Unused", "message Added { int32 y = 1; }\nmessage Unused"), ""},
		{"unused top-level message removed", schemas.CompatFull, pbEdit(t, "message Unused { message Inner { int32 x = 1; } }", ""), ""},
		{"first message removed", schemas.CompatBackward, strings.Replace(pbBase, pbBase[strings.Index(pbBase, "message Order"):strings.Index(pbBase, "message Line")], "", 1),
			"shop.Order: message removed but the writer schema uses it"},
		{"message inserted first", schemas.CompatForward, pbEdit(t, "message Order", "message First { int32 y = 1; }\nmessage Order"),
			"shop.First: message removed but the writer schema uses it"},
		{"reserved number reused", schemas.CompatForward, pbEdit(t, "reserved 20;", "int32 extra = 20;"),
			"shop.Order.extra: field number 20 is reserved in the previous schema"},
		{"number outside reserved range", schemas.CompatFull, pbEdit(t, "reserved 20;", "reserved 20; int32 extra = 21;"), ""},
		{"field removed from oneof", schemas.CompatBackward, pbEdit(t, "oneof who { string user = 7; int64 account = 8; }", "oneof who { string user = 7; }"),
			"shop.Order.account: field 8 removed from oneof who"},
		{"whole oneof removed", schemas.CompatBackward, pbEdit(t, "oneof who { string user = 7; int64 account = 8; }", ""), ""},
		{"one field into new oneof", schemas.CompatFull, pbEdit(t, "double price = 9;", "oneof cost { double price = 9; }"), ""},
		{"two fields into new oneof", schemas.CompatBackward, pbEdit(t, "double price = 9;", "oneof cost { double price = 9; fixed32 crc = 4; }", "fixed32 crc = 4;", ""),
			"shop.Order.cost: 2 fields moved into new oneof cost"},
		{"field into existing oneof", schemas.CompatBackward, pbEdit(t, "int64 account = 8; }", "int64 account = 8; double price = 9; }", "double price = 9;\n", ""),
			"shop.Order.who: field moved into existing oneof who"},
		{"package changed", schemas.CompatBackward, pbEdit(t, "package shop;", "package store;"),
			`package changed from "shop" to "store"`},
		{"none allows anything", schemas.CompatNone, pbEdit(t, "string sku = 2;", "int64 sku = 2;"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := schemas.CheckProtobuf(c.level, c.candidate, []string{pbBase})
			if c.want == "" {
				if err != nil {
					t.Fatalf("want compatible, got %v", err)
				}
				return
			}
			var ce *schemas.CompatError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant a *CompatError containing %q", err, c.want)
			}
		})
	}
}

func TestCheckProtobufLevels(t *testing.T) {
	// v1 → v2 adds a required proto2 field: incompatible both ways, as in
	// Confluent's registry.
	v1 := `syntax = "proto2"; message M { optional int64 a = 1; }`
	v2 := `syntax = "proto2"; message M { optional int64 a = 1; required string b = 2; }`
	var ce *schemas.CompatError
	if err := schemas.CheckProtobuf(schemas.CompatForward, v2, []string{v1}); !errors.As(err, &ce) || !strings.Contains(err.Error(), "M.b: required field 2 removed") {
		t.Errorf("forward: %v", err)
	}
	err := schemas.CheckProtobuf(schemas.CompatBackward, v2, []string{v1})
	if !errors.As(err, &ce) || ce.Direction != "backward" || ce.Version != 1 || !strings.Contains(err.Error(), "M.b: required field 2 added") {
		t.Errorf("backward: %v", err)
	}
	// Removing the required field again breaks backward against v2 only.
	err = schemas.CheckProtobuf(schemas.CompatFull, v1, []string{v1, v2})
	if !errors.As(err, &ce) || ce.Direction != "backward" || ce.Version != 2 || !strings.Contains(err.Error(), "M.b: required field 2 removed") {
		t.Errorf("full: %v", err)
	}
	// Making a field required breaks backward.
	v3 := `syntax = "proto2"; message M { required int64 a = 1; }`
	if err := schemas.CheckProtobuf(schemas.CompatBackward, v3, []string{v1}); err == nil || !strings.Contains(err.Error(), "M.a: field became required") {
		t.Errorf("became required: %v", err)
	}
	// Transitive levels check every version, plain ones only the latest.
	v4 := `syntax = "proto2"; message M { optional string a = 1; }`
	if err := schemas.CheckProtobuf(schemas.CompatBackward, v4, []string{v4, v1}); err == nil {
		t.Errorf("backward against latest: no error")
	}
	if err := schemas.CheckProtobuf(schemas.CompatBackward, v4, []string{v1, v4}); err != nil {
		t.Errorf("backward ignores older versions: %v", err)
	}
	if err := schemas.CheckProtobuf(schemas.CompatBackwardTransitive, v4, []string{v1, v4}); !errors.As(err, &ce) || ce.Version != 1 {
		t.Errorf("transitive: %v", err)
	}
	// Errors that are not incompatibilities.
	if err := schemas.CheckProtobuf("SIDEWAYS", v1, nil); err == nil {
		t.Errorf("bad level: no error")
	}
	if err := schemas.CheckProtobuf(schemas.CompatBackward, "message {", []string{v1}); err == nil || errors.As(err, &ce) {
		t.Errorf("bad candidate: %v", err)
	}
	if err := schemas.CheckProtobuf(schemas.CompatBackward, v1, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("bad previous: %v", err)
	}
}
