// Package schemaformat renders records in the typed formats that need a
// schema registry (avro; protobuf later) and opens the process's registry
// (embedded or external) from its settings.
//
// A record is encoded as an envelope — op, stream, namespace, ts_ms, and
// the before and after rows as nested records whose fields are the
// stream's — in the Confluent wire format: magic byte 0, the 4-byte
// big-endian id of the envelope's schema registered under the record's
// subject, then the Avro binary body. A stream whose schema changes (a
// column added mid-stream) registers a new version under the same subject
// when the subject's compatibility level allows it; otherwise the write
// fails with the registry's message naming the incompatible change.
package schemaformat

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/schemas/registry"
)

// Formats are the typed formats this package encodes.
var Formats = runtime.TypedFormatNames

// Registry is where an Encoder registers schemas: the embedded registry or
// an external one's client. Safe for concurrent use.
type Registry interface {
	Register(ctx context.Context, subject, schemaType, schema string) (id int, err error)
}

// Encoder encodes records of any stream in one typed format, registering
// each stream schema it meets once per subject. It is used by one
// goroutine at a time (a sink's Write); the registry may be shared.
type Encoder struct {
	format  string
	reg     Registry
	cache   map[cacheKey]*entry
	byText  map[string]*entry // subject + "\x00" + schema text
	scratch []byte            // a protobuf row before its length prefix
	last    *entry            // the entry of lastKey (nil: look in cache)
	lastKey cacheKey
}

type cacheKey struct {
	subject string
	schema  *runtime.Schema
}

type entry struct {
	// encode encodes the envelope's values with the envelope codec (the
	// reference the direct path must match byte for byte).
	encode func(buf []byte, env []runtime.Value) ([]byte, error)
	// row encodes one row with a codec of the stream's schema: the
	// envelope's before and after are nested records (messages) of exactly
	// that encoding, so the envelope is written directly around it.
	row    func(buf []byte, row []runtime.Value) ([]byte, error)
	proto  bool
	json   bool   // json_schema: the envelope as JSON
	header []byte // the Confluent wire header: magic, id (and protobuf's message indexes)
}

// NewEncoder returns an encoder for format (see Formats) registering with
// reg. A nil reg is an error that says how to configure one.
func NewEncoder(format string, reg Registry) (*Encoder, error) {
	if !runtime.IsTypedFormat(format) {
		return nil, fmt.Errorf("unknown typed format %q (valid: %s)", format, strings.Join(Formats, ", "))
	}
	if reg == nil {
		_, err := runtime.NewEncoder(nil, format)
		return nil, err
	}
	return &Encoder{format: format, reg: reg, cache: map[cacheKey]*entry{}, byText: map[string]*entry{}}, nil
}

// Append appends r, encoded, to buf. subject is where its schema is
// registered (Confluent's topic name strategy: "<topic>-value"). A failed
// registration is retriable unless the registry refused the schema.
func (e *Encoder) Append(ctx context.Context, buf []byte, subject string, r *runtime.Record) ([]byte, error) {
	if r.Schema == nil {
		return buf, fmt.Errorf("format %s: the record of stream %q carries no schema", e.format, r.Stream)
	}
	key := cacheKey{subject, r.Schema}
	en := e.last
	if en == nil || e.lastKey != key { // a batch is mostly one stream: skip the map then
		en = e.cache[key]
		e.last, e.lastKey = en, key
	}
	if en == nil {
		var err error
		if en, err = e.register(ctx, subject, r); err != nil {
			return buf, err
		}
		e.last = en
	}
	start := len(buf)
	buf = append(buf, en.header...)
	var out []byte
	var err error
	switch {
	case en.json:
		out = appendJSONEnvelope(buf, r)
	case en.proto:
		out, err = e.appendProto(buf, en, r)
	default:
		out, err = appendAvro(buf, en, r)
	}
	if err != nil {
		return buf[:start], fmt.Errorf("format %s: stream %q: %w", e.format, r.Stream, err)
	}
	return out, nil
}

// envelopeValues are r's envelope as values (the reference encoding).
func envelopeValues(r *runtime.Record) []runtime.Value {
	ns := runtime.Null()
	if r.Namespace != "" {
		ns = runtime.String(r.Namespace)
	}
	ms := timeMillis(r)
	return []runtime.Value{runtime.String(r.Op.String()), runtime.String(r.Stream), ns, runtime.Int(ms),
		rowObject(r.Schema, r.Before), rowObject(r.Schema, r.After)}
}

func timeMillis(r *runtime.Record) int64 {
	if r.Time.IsZero() {
		return 0
	}
	return r.Time.UnixMilli()
}

// appendAvro writes the envelope record: op, stream, namespace (union
// null|string), ts_ms, before and after (unions null|row record).
func appendAvro(buf []byte, en *entry, r *runtime.Record) ([]byte, error) {
	buf = avroString(buf, r.Op.String())
	buf = avroString(buf, r.Stream)
	if r.Namespace == "" {
		buf = binary.AppendVarint(buf, 0)
	} else {
		buf = avroString(binary.AppendVarint(buf, 1), r.Namespace)
	}
	buf = binary.AppendVarint(buf, timeMillis(r))
	for _, row := range [2][]runtime.Value{r.Before, r.After} {
		if row == nil {
			buf = binary.AppendVarint(buf, 0)
			continue
		}
		var err error
		if buf, err = en.row(binary.AppendVarint(buf, 1), row); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// avroString appends an Avro string (zig-zag length, bytes); Avro's long
// is binary.AppendVarint's zig-zag varint.
func avroString(buf []byte, s string) []byte {
	return append(binary.AppendVarint(buf, int64(len(s))), s...)
}

// appendProto writes the envelope message as proto.Marshal would: fields
// 1 op, 2 stream (omitted when empty), 3 namespace (optional), 4 ts_ms
// (omitted when 0), 5 before and 6 after (length-delimited row messages,
// omitted when null).
func (e *Encoder) appendProto(buf []byte, en *entry, r *runtime.Record) ([]byte, error) {
	str := func(buf []byte, tag byte, s string, always bool) []byte {
		if s == "" && !always {
			return buf
		}
		buf = append(buf, tag)
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		return append(buf, s...)
	}
	// proto3 strings must be UTF-8 (the codec refuses others, and so do
	// consumers' parsers).
	for _, f := range [...]struct{ name, v string }{{"stream", r.Stream}, {"namespace", r.Namespace}} {
		if !utf8.ValidString(f.v) {
			return buf, fmt.Errorf("protobuf: field %s: string is not valid UTF-8", f.name)
		}
	}
	buf = str(buf, 1<<3|2, r.Op.String(), false)
	buf = str(buf, 2<<3|2, r.Stream, false)
	if r.Namespace != "" {
		buf = str(buf, 3<<3|2, r.Namespace, true)
	}
	if ms := timeMillis(r); ms != 0 {
		buf = binary.AppendUvarint(append(buf, 4<<3), uint64(ms)) // field 4, varint
	}
	for i, row := range [2][]runtime.Value{r.Before, r.After} {
		if row == nil {
			continue
		}
		var err error
		if e.scratch, err = en.row(e.scratch[:0], row); err != nil {
			return buf, err
		}
		buf = append(buf, byte(5+i)<<3|2)
		buf = binary.AppendUvarint(buf, uint64(len(e.scratch)))
		buf = append(buf, e.scratch...)
	}
	return buf, nil
}

func (e *Encoder) register(ctx context.Context, subject string, r *runtime.Record) (*entry, error) {
	env, name := envelopeSchema(r.Schema), AvroName(r.Stream)
	var (
		en        = &entry{}
		text, typ string
		indexes   []int
	)
	switch e.format {
	case "json_schema":
		js, err := json.Marshal(schemas.JSONSchema(env))
		if err != nil {
			return nil, fmt.Errorf("format %s: stream %q: %w", e.format, r.Stream, err)
		}
		text, typ, en.json = string(js), registry.TypeJSON, true
		en.encode = func(buf []byte, env []runtime.Value) ([]byte, error) {
			return runtime.AppendJSON(buf, runtime.ObjectValue(envelopeObject(env))), nil
		}
	case "protobuf":
		codec, err := schemas.NewProtobufCodec(env, name)
		if err != nil {
			return nil, fmt.Errorf("format %s: stream %q: %w", e.format, r.Stream, err)
		}
		rc, err := schemas.NewProtobufCodec(r.Schema, name)
		if err != nil {
			return nil, fmt.Errorf("format %s: stream %q: %w", e.format, r.Stream, err)
		}
		en.encode, text, typ, indexes = codec.Append, schemas.ProtobufSchema(env, name), registry.TypeProtobuf, codec.MessageIndexes()
		en.row, en.proto = rc.Append, true
	default:
		codec, err := schemas.NewAvroCodec(env, name)
		if err != nil {
			return nil, fmt.Errorf("format %s: stream %q: %w", e.format, r.Stream, err)
		}
		// The full schema, not its canonical form: the canonical form drops
		// the defaults that make an added nullable column backward compatible.
		js, err := json.Marshal(schemas.AvroSchema(env, name))
		if err != nil {
			return nil, fmt.Errorf("format %s: stream %q: %w", e.format, r.Stream, err)
		}
		rc, err := schemas.NewAvroCodec(r.Schema, name)
		if err != nil {
			return nil, fmt.Errorf("format %s: stream %q: %w", e.format, r.Stream, err)
		}
		en.encode, en.row, text, typ = codec.Append, rc.Append, string(js), registry.TypeAvro
	}
	if en := e.byText[subject+"\x00"+text]; en != nil {
		e.cache[cacheKey{subject, r.Schema}] = en
		return en, nil
	}
	id, err := e.reg.Register(ctx, subject, typ, text)
	if err != nil {
		err = fmt.Errorf("format %s: register the schema of stream %q under subject %q: %w", e.format, r.Stream, subject, err)
		var re *registry.Error
		if errors.As(err, &re) && (re.Code/100 == 4 || re.Code/10000 == 4) {
			return nil, err // refused: another try cannot fix it
		}
		return nil, runtime.Retriable(err)
	}
	if e.format == "protobuf" {
		en.header = schemas.AppendProtobufWireHeader(nil, uint32(id), indexes)
	} else {
		en.header = schemas.AppendWireHeader(nil, uint32(id))
	}
	e.cache[cacheKey{subject, r.Schema}] = en
	e.byText[subject+"\x00"+text] = en
	return en, nil
}

// envelopeSchema is the record schema of the envelope of rows of s.
func envelopeSchema(s *runtime.Schema) *runtime.Schema {
	row := runtime.Type{Kind: runtime.KindObject, Fields: s.Fields}
	return runtime.NewSchema(
		runtime.Field{Name: "op", Type: runtime.Type{Kind: runtime.KindString}},
		runtime.Field{Name: "stream", Type: runtime.Type{Kind: runtime.KindString}},
		runtime.Field{Name: "namespace", Type: runtime.Type{Kind: runtime.KindString}, Nullable: true},
		runtime.Field{Name: "ts_ms", Type: runtime.Type{Kind: runtime.KindInt}},
		runtime.Field{Name: "before", Type: row, Nullable: true},
		runtime.Field{Name: "after", Type: row, Nullable: true},
	)
}

// rowObject turns a row into an object value of s's fields (null for no
// row).
func rowObject(s *runtime.Schema, row []runtime.Value) runtime.Value {
	if row == nil {
		return runtime.Null()
	}
	o := runtime.NewObject(len(s.Fields))
	for i, f := range s.Fields {
		if i < len(row) {
			o.Set(f.Name, row[i])
		}
	}
	return runtime.ObjectValue(o)
}

// AvroName turns a stream name into a valid Avro name: letters, digits
// (not first: a leading digit gets a "_" before it) and "_", every other
// character "_"; "record" when nothing is left.
func AvroName(stream string) string {
	var b strings.Builder
	for i, c := range stream {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c >= '0' && c <= '9' && i > 0:
			b.WriteRune(c)
		case c >= '0' && c <= '9':
			b.WriteString("_")
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "record"
	}
	return b.String()
}

// appendJSONEnvelope writes the envelope as compact JSON, fields in
// schema order: {"op","stream","namespace","ts_ms","before","after"}.
func appendJSONEnvelope(buf []byte, r *runtime.Record) []byte {
	buf = append(buf, `{"op":`...)
	buf = runtime.AppendJSON(buf, runtime.String(r.Op.String()))
	buf = append(buf, `,"stream":`...)
	buf = runtime.AppendJSON(buf, runtime.String(r.Stream))
	buf = append(buf, `,"namespace":`...)
	if r.Namespace == "" {
		buf = append(buf, "null"...)
	} else {
		buf = runtime.AppendJSON(buf, runtime.String(r.Namespace))
	}
	buf = append(buf, `,"ts_ms":`...)
	buf = strconv.AppendInt(buf, timeMillis(r), 10)
	buf = append(buf, `,"before":`...)
	buf = runtime.AppendJSONRow(buf, r.Schema, r.Before, "", 0)
	buf = append(buf, `,"after":`...)
	buf = runtime.AppendJSONRow(buf, r.Schema, r.After, "", 0)
	return append(buf, '}')
}

// envelopeObject names the envelope's values (the reference JSON).
func envelopeObject(env []runtime.Value) *runtime.Object {
	o := runtime.NewObject(len(env))
	for i, name := range []string{"op", "stream", "namespace", "ts_ms", "before", "after"} {
		o.Set(name, env[i])
	}
	return o
}
