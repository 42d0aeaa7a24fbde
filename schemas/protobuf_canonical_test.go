package schemas_test

import (
	"crypto/sha256"
	"testing"

	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

const pbCanonA = `syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
option java_package = "com.shop";
option go_package = "example.com/shop";

// An order.
message Order {
  option deprecated = true;
  int64 id = 1;
  google.protobuf.Timestamp at = 2;
  Status status = 3 [deprecated = true];
  map<string, Line> lines = 4;
  oneof who { string user = 5; int64 account = 6; }
  optional string note = 7 [json_name = "memo"];
  repeated int32 codes = 8 [packed = false];
  reserved 10 to 12, 15, 100 to max;
  reserved "old";
  message Line { string sku = 1; google.protobuf.Duration ttl = 2; }
}
enum Status { UNKNOWN = 0; PAID = 1; reserved 5 to 7; }
service Orders { rpc Get(Order) returns (stream Order.Line); }
`

// pbCanonB is pbCanonA re-spelled: other whitespace and comments, imports
// and options reordered, type names qualified differently.
const pbCanonB = `// header comment
syntax="proto3"; package shop.v1;
import "google/protobuf/duration.proto"; import "google/protobuf/timestamp.proto";
option go_package="example.com/shop"; option java_package="com.shop";
message Order { option deprecated=true;
  int64 id=1; .google.protobuf.Timestamp at=2; shop.v1.Status status=3 [deprecated=true];
  map<string, .shop.v1.Order.Line> lines=4;
  oneof who { string user=5; int64 account=6; }
  optional string note=7 [json_name="memo"];
  repeated int32 codes=8 [packed=false];
  reserved 10 to 12, 15, 100 to max; reserved "old";
  message Line { string sku=1; google.protobuf.Duration ttl=2; } }
enum Status { UNKNOWN=0; PAID=1; reserved 5 to 7; }
service Orders { rpc Get(.shop.v1.Order) returns (stream Order.Line); }`

const pbCanonWant = `syntax = "proto3";
package shop.v1;
import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
option java_package = "com.shop";
option go_package = "example.com/shop";
message Order {
  option deprecated = true;
  int64 id = 1;
  .google.protobuf.Timestamp at = 2;
  .shop.v1.Status status = 3 [deprecated = true];
  map<string, .shop.v1.Order.Line> lines = 4;
  oneof who {
    string user = 5;
    int64 account = 6;
  }
  optional string note = 7 [json_name = "memo"];
  repeated int32 codes = 8 [packed = false];
  reserved 10 to 12, 15, 100 to max;
  reserved "old";
  message Line {
    string sku = 1;
    .google.protobuf.Duration ttl = 2;
  }
}
enum Status {
  UNKNOWN = 0;
  PAID = 1;
  reserved 5 to 7;
}
service Orders {
  rpc Get(.shop.v1.Order) returns (stream .shop.v1.Order.Line) {
  }
}
`

func TestProtobufCanonical(t *testing.T) {
	a, err := schemas.ParseProtobufCanonical(pbCanonA)
	if err != nil {
		t.Fatal(err)
	}
	if a != pbCanonWant {
		t.Errorf("canonical form\n got:\n%s\nwant:\n%s", a, pbCanonWant)
	}
	b, err := schemas.ParseProtobufCanonical(pbCanonB)
	if err != nil || b != a {
		t.Errorf("re-spelled schema: %v\n%s", err, b)
	}
	// The canonical text is itself a schema with the same canonical text.
	again, err := schemas.ParseProtobufCanonical(a)
	if err != nil || again != a {
		t.Errorf("canonical of canonical: %v\n%s", err, again)
	}
	fd, err := schemas.CompileProtobuf(pbCanonA)
	if err != nil {
		t.Fatal(err)
	}
	fp := schemas.ProtobufFingerprints(fd)
	if fp.SHA256 != sha256.Sum256([]byte(a)) || fp.CRC64 != 0 {
		t.Errorf("fingerprints are not of the canonical text")
	}
	// A change of field number changes the fingerprint.
	other, err := schemas.CompileProtobuf(pbEditText(t, pbCanonA, "int64 id = 1;", "int64 id = 9;"))
	if err != nil {
		t.Fatal(err)
	}
	if schemas.ProtobufFingerprints(other).SHA256 == fp.SHA256 {
		t.Errorf("field number change kept the fingerprint")
	}
}

func TestProtobufCanonicalProto2(t *testing.T) {
	text := `syntax = "proto2";
message M {
  optional int32 a = 1 [default = -3];
  required string b = 2 [default = "x\"y"];
  repeated E e = 3;
  optional E f = 4 [default = TWO];
  optional bytes z = 5 [default = "\001\xffé"];
  extensions 100 to 199;
}
enum E { ONE = 1; TWO = 2; }
extend M { optional bool flag = 100; }
`
	want := `syntax = "proto2";
message M {
  optional int32 a = 1 [default = -3];
  required string b = 2 [default = "x\"y"];
  repeated .E e = 3;
  optional .E f = 4 [default = TWO];
  optional bytes z = 5 [default = "\001\377\303\251"];
  extensions 100 to 199;
}
enum E {
  ONE = 1;
  TWO = 2;
}
extend .M {
  optional bool flag = 100;
}
`
	got, err := schemas.ParseProtobufCanonical(text)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("canonical form\n got:\n%s\nwant:\n%s", got, want)
	}
	if again, err := schemas.ParseProtobufCanonical(got); err != nil || again != got {
		t.Errorf("canonical of canonical: %v\n%s", err, again)
	}
}

// TestProtobufCodecCanonical pins that a codec's canonical text is the
// canonical form of the text ProtobufSchema writes.
func TestProtobufCodecCanonical(t *testing.T) {
	s, err := datagen.Schema(datagen.Config{Pattern: "metrics"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := schemas.NewProtobufCodec(s, "metrics")
	if err != nil {
		t.Fatal(err)
	}
	want, err := schemas.ParseProtobufCanonical(schemas.ProtobufSchema(s, "metrics"))
	if err != nil || c.Canonical() != want {
		t.Errorf("Canonical() = %q, want %q (%v)", c.Canonical(), want, err)
	}
}

func pbEditText(t *testing.T, s, old, new string) string {
	t.Helper()
	i := len(s)
	for j := 0; j+len(old) <= len(s); j++ {
		if s[j:j+len(old)] == old {
			i = j
			break
		}
	}
	if i == len(s) {
		t.Fatalf("text lacks %q", old)
	}
	return s[:i] + new + s[i+len(old):]
}
