package schemaformat

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/schemas/registry"
	"github.com/rivven/rivven-connect/stdlib/datagen"
)

func memRegistry(t *testing.T) (*registry.Registry, Registry) {
	t.Helper()
	r, err := registry.Open(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, embedded{r}
}

var (
	str    = runtime.Type{Kind: runtime.KindString}
	intT   = runtime.Type{Kind: runtime.KindInt}
	v1     = runtime.NewSchema(runtime.Field{Name: "id", Type: intT}, runtime.Field{Name: "name", Type: str, Nullable: true})
	v2     = runtime.NewSchema(runtime.Field{Name: "id", Type: intT}, runtime.Field{Name: "name", Type: str, Nullable: true}, runtime.Field{Name: "email", Type: str, Nullable: true})
	at     = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	insert = runtime.Record{Stream: "users", Namespace: "public", Op: runtime.OpInsert, Schema: v1, Time: at,
		After: []runtime.Value{runtime.Int(7), runtime.String("ada")}}
)

// decode splits a message and decodes its envelope with the registered
// schema's codec.
func decode(t *testing.T, reg *registry.Registry, s *runtime.Schema, msg []byte) (int, []runtime.Value) {
	t.Helper()
	id, payload, err := schemas.SplitWire(msg)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := schemas.NewAvroCodec(envelopeSchema(s), "users")
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.SchemaByID(int(id))
	canon, cerr := schemas.ParseAvroCanonical(got.Text)
	if err != nil || cerr != nil || canon != codec.Canonical() {
		t.Fatalf("schema %d = %q, %v %v; want the envelope's schema", id, got.Text, err, cerr)
	}
	row, err := codec.Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	return int(id), row
}

func TestEncodeRoundTrip(t *testing.T) {
	reg, sr := memRegistry(t)
	enc, err := NewEncoder("avro", sr)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := enc.Append(context.Background(), nil, "users-value", &insert)
	if err != nil {
		t.Fatal(err)
	}
	_, env := decode(t, reg, v1, msg)
	if got := runtime.AppendJSON(nil, runtime.ArrayValue(env)); string(got) != `["insert","users","public",1795867200000,null,{"id":7,"name":"ada"}]` {
		t.Fatalf("envelope %s", got)
	}
	// A delete carries the before row.
	del := insert
	del.Op, del.Before, del.After = runtime.OpDelete, insert.After, nil
	msg, err = enc.Append(context.Background(), nil, "users-value", &del)
	if err != nil {
		t.Fatal(err)
	}
	if _, env = decode(t, reg, v1, msg); env[0].AsString() != "delete" || !env[5].IsNull() || env[4].IsNull() {
		t.Fatalf("delete envelope %s", runtime.AppendJSON(nil, runtime.ArrayValue(env)))
	}
}

func TestAddedColumnIsVersion2UnderBackward(t *testing.T) {
	reg, sr := memRegistry(t)
	enc, _ := NewEncoder("avro", sr)
	ctx := context.Background()
	m1, err := enc.Append(ctx, nil, "users-value", &insert)
	if err != nil {
		t.Fatal(err)
	}
	r2 := insert
	r2.Schema, r2.After = v2, []runtime.Value{runtime.Int(8), runtime.String("bob"), runtime.String("b@x.io")}
	m2, err := enc.Append(ctx, nil, "users-value", &r2)
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := decode(t, reg, v1, m1)
	id2, env := decode(t, reg, v2, m2)
	vs, _ := reg.Versions("users-value")
	email, _ := env[5].AsObject().Get("email")
	if id1 == id2 || len(vs) != 2 || email.AsString() != "b@x.io" {
		t.Fatalf("ids %d %d, versions %v", id1, id2, vs)
	}
	// The same schema again is not registered again.
	if _, err := enc.Append(ctx, nil, "users-value", &r2); err != nil {
		t.Fatal(err)
	}
	if vs, _ := reg.Versions("users-value"); len(vs) != 2 {
		t.Fatalf("versions %v after re-encoding", vs)
	}
	// A type change is refused, naming the field, and is not retriable.
	v3 := runtime.NewSchema(runtime.Field{Name: "id", Type: str}, runtime.Field{Name: "name", Type: str, Nullable: true})
	r3 := insert
	r3.Schema, r3.After = v3, []runtime.Value{runtime.String("x"), runtime.Null()}
	_, err = enc.Append(ctx, nil, "users-value", &r3)
	if err == nil || !strings.Contains(err.Error(), "id") || !errors.Is(err, registry.ErrIncompatible) || runtime.IsRetriable(err) {
		t.Fatalf("incompatible change: %v (retriable %v)", err, runtime.IsRetriable(err))
	}
}

func TestNoRegistry(t *testing.T) {
	if _, err := NewEncoder("avro", nil); err == nil || !strings.Contains(err.Error(), "settings.state_dir") {
		t.Fatalf("got %v", err)
	}
	if _, err := NewEncoder("xml", embedded{}); err == nil || !strings.Contains(err.Error(), "unknown typed format") {
		t.Fatalf("got %v", err)
	}
}

func TestOpenEmbeddedKeepsIDsAndServesREST(t *testing.T) {
	dir := t.TempDir()
	h, err := Open(runtime.Registry{Listen: "127.0.0.1:0"}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := NewEncoder("avro", h)
	msg, err := enc.Append(context.Background(), nil, "users-value", &insert)
	if err != nil {
		t.Fatal(err)
	}
	id, _, _ := schemas.SplitWire(msg)
	c, err := registry.NewClient("http://"+h.Addr, registry.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Latest(context.Background(), "users-value")
	if err != nil || got.ID != int(id) || got.Version != 1 {
		t.Fatalf("REST latest = %+v, %v; want id %d", got, err, id)
	}
	h.Close()

	h2, err := Open(runtime.Registry{}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	s, err := h2.Embedded.SchemaByID(int(id))
	if err != nil || !strings.Contains(s.Text, `"name":"users"`) || !strings.Contains(s.Text, `"default":null`) {
		t.Fatalf("after restart id %d = %+v, %v", id, s, err)
	}
	if _, err := Open(runtime.Registry{}, "", nil); err == nil || !strings.Contains(err.Error(), "state_dir") {
		t.Fatalf("embedded without state_dir: %v", err)
	}
	if _, err := Open(runtime.Registry{Mode: "external"}, "", nil); err == nil || !strings.Contains(err.Error(), "url") {
		t.Fatalf("external without url: %v", err)
	}
}

func TestProtobufRoundTripAndVersion2(t *testing.T) {
	reg, err := registry.Open(registry.Options{Formats: Protobuf})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	enc, err := NewEncoder("protobuf", embedded{reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	msg, err := enc.Append(ctx, nil, "users-value", &insert)
	if err != nil {
		t.Fatal(err)
	}
	id, idx, payload, err := schemas.SplitProtobufWire(msg)
	if err != nil || len(idx) != 1 || idx[0] != 0 {
		t.Fatalf("wire: id %d indexes %v: %v", id, idx, err)
	}
	got, err := reg.SchemaByID(int(id))
	if err != nil || got.Type != registry.TypeProtobuf {
		t.Fatalf("schema %d: %+v %v", id, got, err)
	}
	codec, err := schemas.NewProtobufCodecFromText(got.Text, "users")
	if err != nil {
		t.Fatal(err)
	}
	env, err := codec.Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	if js := string(runtime.AppendJSON(nil, runtime.ArrayValue(env))); !strings.Contains(js, `"insert","users","public",1795867200000`) || !strings.Contains(js, `"name":"ada"`) {
		t.Fatalf("decoded %s", js)
	}
	// An added column is a compatible new version; a changed type is not.
	r2 := insert
	r2.Schema, r2.After = v2, []runtime.Value{runtime.Int(8), runtime.String("bob"), runtime.String("b@x.io")}
	if _, err := enc.Append(ctx, nil, "users-value", &r2); err != nil {
		t.Fatal(err)
	}
	if vs, _ := reg.Versions("users-value"); len(vs) != 2 {
		t.Fatalf("versions %v", vs)
	}
	v3 := runtime.NewSchema(runtime.Field{Name: "id", Type: str}, runtime.Field{Name: "name", Type: str, Nullable: true})
	r3 := insert
	r3.Schema, r3.After = v3, []runtime.Value{runtime.String("x"), runtime.Null()}
	if _, err := enc.Append(ctx, nil, "users-value", &r3); err == nil || !errors.Is(err, registry.ErrIncompatible) {
		t.Fatalf("type change: %v", err)
	}
}

// TestDirectEnvelopeMatchesCodec: the envelope written around the row codec
// is byte for byte what the envelope codec writes, for every datagen
// pattern, plain and in CDC mode (updates and deletes carry before rows).
func TestDirectEnvelopeMatchesCodec(t *testing.T) {
	for _, format := range Formats {
		for _, pattern := range datagen.Patterns {
			for _, cdcMode := range []bool{false, true} {
				reg, err := registry.Open(registry.Options{Formats: Protobuf, Compatibility: "NONE"})
				if err != nil {
					t.Fatal(err)
				}
				enc, _ := NewEncoder(format, embedded{reg})
				src, err := datagen.New(datagen.Config{Pattern: pattern, Seed: 3, HasSeed: true, CDCMode: cdcMode, Namespace: "ns"}, func() time.Time { return at })
				if err != nil {
					t.Fatal(err)
				}
				recs := make([]runtime.Record, 64)
				n, err := src.Read(context.Background(), recs)
				if err != nil {
					t.Fatal(err)
				}
				for i := range recs[:n] {
					r := &recs[i]
					got, err := enc.Append(context.Background(), nil, "s-value", r)
					if err != nil {
						t.Fatalf("%s %s cdc=%v: %v", format, pattern, cdcMode, err)
					}
					en := enc.cache[cacheKey{"s-value", r.Schema}]
					want, err := en.encode(append([]byte(nil), en.header...), envelopeValues(r))
					if err != nil {
						t.Fatal(err)
					}
					if string(got) != string(want) {
						t.Fatalf("%s %s cdc=%v record %d (%s):\n got %x\nwant %x", format, pattern, cdcMode, i, r.Op, got, want)
					}
				}
				reg.Close()
			}
		}
	}
}

// TestJSONSchemaFormatValidates: the json_schema payload validates against
// the JSON Schema it registers, for every datagen pattern, and an added
// nullable column is a compatible version 2.
func TestJSONSchemaFormatValidates(t *testing.T) {
	reg, sr := memRegistry(t)
	enc, err := NewEncoder("json_schema", sr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, pattern := range datagen.Patterns {
		for _, cdcMode := range []bool{false, true} {
			src, err := datagen.New(datagen.Config{Pattern: pattern, Seed: 5, HasSeed: true, CDCMode: cdcMode, StreamName: pattern}, func() time.Time { return at })
			if err != nil {
				t.Fatal(err)
			}
			recs := make([]runtime.Record, 32)
			n, _ := src.Read(ctx, recs)
			for i := range recs[:n] {
				msg, err := enc.Append(ctx, nil, pattern+"-value", &recs[i])
				if err != nil {
					t.Fatal(err)
				}
				id, payload, err := schemas.SplitWire(msg)
				if err != nil {
					t.Fatal(err)
				}
				s, err := reg.SchemaByID(int(id))
				if err != nil || s.Type != registry.TypeJSON {
					t.Fatalf("schema %d: %+v %v", id, s, err)
				}
				v, err := schemas.NewJSONValidator([]byte(s.Text))
				if err != nil {
					t.Fatal(err)
				}
				doc, err := runtime.ParseJSON(payload)
				if err != nil {
					t.Fatalf("%s: payload %s: %v", pattern, payload, err)
				}
				if err := v.Validate(doc); err != nil {
					t.Fatalf("%s cdc=%v: %s does not validate: %v", pattern, cdcMode, payload, err)
				}
			}
		}
	}
	r2 := insert
	if _, err := enc.Append(ctx, nil, "people-value", &insert); err != nil {
		t.Fatal(err)
	}
	r2.Schema, r2.After = v2, []runtime.Value{runtime.Int(8), runtime.String("bob"), runtime.String("b@x.io")}
	if _, err := enc.Append(ctx, nil, "people-value", &r2); err != nil {
		t.Fatal(err)
	}
	if vs, _ := reg.Versions("people-value"); len(vs) != 2 {
		t.Fatalf("versions %v", vs)
	}
}

func TestProtobufRefusesInvalidUTF8(t *testing.T) {
	reg, err := registry.Open(registry.Options{Formats: Protobuf})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	enc, _ := NewEncoder("protobuf", embedded{reg})
	r := insert
	r.Namespace = "n\xfe"
	out, err := enc.Append(context.Background(), []byte("keep"), "users-value", &r)
	if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") || string(out) != "keep" {
		t.Fatalf("got %q, %v; want an error and the buffer as it was", out, err)
	}
}
