package schemas_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
)

func TestProtobufWireIndexes(t *testing.T) {
	cases := []struct {
		indexes []int
		want    []byte // bytes after the 5-byte header
		back    []int
	}{
		{[]int{0}, []byte{0}, []int{0}},
		{nil, []byte{0}, []int{0}},
		{[]int{1}, []byte{2, 2}, []int{1}},
		{[]int{0, 0}, []byte{4, 0, 0}, []int{0, 0}},
		{[]int{1, 0}, []byte{4, 2, 0}, []int{1, 0}},
		{[]int{2, 3, 64}, []byte{6, 4, 6, 0x80, 0x01}, []int{2, 3, 64}},
	}
	for _, c := range cases {
		msg := schemas.AppendProtobufWireHeader(nil, 0x01020304, c.indexes)
		if !bytes.Equal(msg[:5], []byte{0, 1, 2, 3, 4}) || !bytes.Equal(msg[5:], c.want) {
			t.Errorf("%v: header = %x, want 0001020304%x", c.indexes, msg, c.want)
		}
		msg = append(msg, "body"...)
		id, idx, p, err := schemas.SplitProtobufWire(msg)
		if err != nil || id != 0x01020304 || !slices.Equal(idx, c.back) || string(p) != "body" {
			t.Errorf("%v: SplitProtobufWire = %d, %v, %q, %v", c.indexes, id, idx, p, err)
		}
	}
	bad := []struct {
		msg  []byte
		want string
	}{
		{[]byte{0, 0, 0, 0, 1}, "count is truncated"},
		{[]byte{0, 0, 0, 0, 1, 1}, "count -1 is invalid"},
		{[]byte{0, 0, 0, 0, 1, 6, 2}, "count 3 is invalid for 1 remaining bytes"},
		{[]byte{0, 0, 0, 0, 1, 4, 2, 0x80}, "message index 1 is truncated"},
		{[]byte{0, 0, 0, 0, 1, 2, 1}, "message index 0 is -1"},
		{[]byte{1, 0, 0, 0, 1, 0}, "magic byte"},
	}
	for _, c := range bad {
		_, _, _, err := schemas.SplitProtobufWire(c.msg)
		var we *schemas.WireError
		if !errors.As(err, &we) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%x: err = %v, want %q", c.msg, err, c.want)
		}
	}
}

// TestProtobufWireCodec frames an encoded row with the codec's own index
// path and reads it back.
func TestProtobufWireCodec(t *testing.T) {
	text := `syntax = "proto3"; package p; message A { int64 x = 1; } message B { message C { string s = 1; } C c = 1; }`
	c, err := schemas.NewProtobufCodecFromText(text, "B.C")
	if err != nil {
		t.Fatal(err)
	}
	msg := schemas.AppendProtobufWireHeader(nil, 7, c.MessageIndexes())
	if !bytes.Equal(msg[5:], []byte{4, 2, 0}) {
		t.Fatalf("index bytes = %x, want 040200", msg[5:])
	}
	msg, err = c.Append(msg, []runtime.Value{runtime.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	id, idx, payload, err := schemas.SplitProtobufWire(msg)
	if err != nil || id != 7 || !slices.Equal(idx, []int{1, 0}) {
		t.Fatalf("SplitProtobufWire = %d, %v, %v", id, idx, err)
	}
	row, err := c.Decode(payload)
	if err != nil || len(row) != 1 || row[0].AsString() != "hello" {
		t.Fatalf("Decode = %v, %v", row, err)
	}
}
