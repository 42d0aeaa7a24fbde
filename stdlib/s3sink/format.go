package s3sink

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/schemas"
	"github.com/rivven/rivven-connect/stdlib/schemaformat"
)

// The extra columns avro and parquet objects carry after the row's fields.
const (
	colEventType = "_event_type" // the record's operation ("insert", …)
	colEventTime = "_event_time" // its event time, ms since the epoch (UTC)
)

// encoded is what preparing a record for its object (codecs.prepare)
// gives.
type encoded struct {
	data   []byte          // avro: the row's binary encoding
	schema *runtime.Schema // avro, parquet: the schema encoded with (effective)
}

// codecs holds what a format needs per record schema.
type codecs struct {
	format, compression, envelope string
	avro                          map[*runtime.Schema]*avroSchema
	parquet                       map[*runtime.Schema]*parquetSchema
	removed                       map[removedKey]*runtime.Schema // see effective
	mask                          []byte                         // effective's scratch
	zenc                          *zstd.Encoder
	bufs                          buffers // objects' data and bodies
}

func newCodecs(cfg *Config) (*codecs, error) {
	c := &codecs{format: cfg.Format, compression: cfg.Compression, envelope: cfg.Envelope,
		avro: map[*runtime.Schema]*avroSchema{}, parquet: map[*runtime.Schema]*parquetSchema{}, removed: map[removedKey]*runtime.Schema{}}
	if cfg.Compression == "zstd" && cfg.Format != FormatParquet {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		c.zenc = enc
	}
	return c, nil
}

// ext is the {ext} of the format.
func (c *codecs) ext() string {
	switch c.format {
	case FormatAvro:
		return "avro"
	case FormatParquet:
		return "parquet"
	}
	switch c.compression {
	case "gzip":
		return "jsonl.gz"
	case "zstd":
		return "jsonl.zst"
	}
	return "jsonl"
}

// contentType is the objects' Content-Type.
func (c *codecs) contentType() string {
	switch c.format {
	case FormatAvro:
		return "application/avro"
	case FormatParquet:
		return "application/vnd.apache.parquet"
	}
	return "application/x-ndjson"
}

// prepare checks r before anything of its write is taken: it fails,
// naming the field, when r does not fit its schema in the format. For
// avro it encodes r's row into e (reusing e's buffer); for avro and
// parquet it sets e.schema. JSON lines and parquet rows go straight into
// their object (appendLine, pqWriter.append), which cannot fail then.
func (c *codecs) prepare(r *runtime.Record, e *encoded) error {
	switch c.format {
	case FormatAvro:
		e.schema = c.effective(r)
		as, err := c.avroOf(e.schema, r.Stream)
		if err != nil {
			return err
		}
		b, err := as.codec.Append(e.data[:0], extRow(r, e.schema))
		if err != nil {
			return err
		}
		e.data = b
	case FormatParquet:
		// r's own schema first: one scan finds both the values its
		// columns cannot hold and the absent ones (rare) that make
		// another schema effective
		e.schema = r.Schema
		ps, err := c.parquetOf(r.Schema, r.Stream)
		if err != nil {
			return err
		}
		absent, err := ps.check(r)
		if !absent {
			return err
		}
		e.schema = c.effective(r)
		if ps, err = c.parquetOf(e.schema, r.Stream); err != nil {
			return err
		}
		_, err = ps.check(r)
		return err
	}
	return nil
}

// appendLine appends r's JSON line (its envelope and a newline) to b.
func (c *codecs) appendLine(b []byte, r *runtime.Record) []byte {
	switch c.envelope {
	case "debezium":
		b = runtime.AppendDebezium(b, r)
	case "row":
		b = runtime.AppendJSONRow(b, r.Schema, r.Row(), "", 0)
	default:
		b = runtime.AppendSourceEvent(b, r, true, true)
	}
	return append(b, '\n')
}

// removedKey names a record schema with some fields removed.
type removedKey struct {
	schema *runtime.Schema
	mask   string // byte i is 1 when field i was removed
}

// effective returns the schema r is encoded with in avro and parquet: its
// own, or, when a transform removed fields of it (field-mask strategy
// remove leaves absent values), a copy of it whose removed fields have
// kind absent — no column — cached per schema and set of removed fields,
// so records with and without them go to objects of their own.
func (c *codecs) effective(r *runtime.Record) *runtime.Schema {
	row := r.Row()
	first := slices.IndexFunc(row, func(v runtime.Value) bool { return v.Kind() == runtime.KindAbsent })
	if first < 0 {
		return r.Schema // the common case: one scan, nothing built
	}
	c.mask = c.mask[:0]
	for _, v := range row {
		c.mask = append(c.mask, b2byte(v.Kind() == runtime.KindAbsent))
	}
	if sch := c.removed[removedKey{r.Schema, string(c.mask)}]; sch != nil {
		return sch
	}
	fields := append([]runtime.Field(nil), r.Schema.Fields...)
	for i := range fields {
		if i < len(c.mask) && c.mask[i] == 1 {
			fields[i].Type = runtime.Type{Kind: runtime.KindAbsent}
		}
	}
	sch := runtime.NewSchema(fields...)
	c.removed[removedKey{r.Schema, string(c.mask)}] = sch
	return sch
}

func b2byte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// extRow is r's row without the values of fields sch has removed,
// followed by the extra columns.
func extRow(r *runtime.Record, sch *runtime.Schema) []runtime.Value {
	row := r.Row()
	out := make([]runtime.Value, 0, len(sch.Fields)+2)
	for i, f := range sch.Fields {
		if f.Type.Kind == runtime.KindAbsent {
			continue
		}
		v := runtime.Null()
		if i < len(row) {
			v = row[i]
		}
		out = append(out, v)
	}
	return append(out, runtime.String(r.Op.String()), runtime.Int(r.Time.UnixMilli()))
}

// extFields checks that s does not already use the extra columns' names.
func extFields(s *runtime.Schema, stream string) error {
	for _, n := range []string{colEventType, colEventTime} {
		if s.Index(n) >= 0 {
			return fmt.Errorf("stream %s has a field %s, a column the s3 sink adds to avro and parquet objects: rename it (field-mask or a transform)", stream, n)
		}
	}
	return nil
}

// avroSchema is the OCF schema of one record schema.
type avroSchema struct {
	codec *schemas.AvroCodec
	json  []byte
}

func (c *codecs) avroOf(rs *runtime.Schema, stream string) (*avroSchema, error) {
	if as := c.avro[rs]; as != nil {
		return as, nil
	}
	if err := extFields(rs, stream); err != nil {
		return nil, err
	}
	var fields []runtime.Field
	for _, f := range rs.Fields {
		if f.Type.Kind != runtime.KindAbsent {
			fields = append(fields, f)
		}
	}
	fields = append(fields,
		runtime.Field{Name: colEventType, Type: runtime.Type{Kind: runtime.KindString}},
		runtime.Field{Name: colEventTime, Type: runtime.Type{Kind: runtime.KindInt}})
	ext := runtime.NewSchema(fields...)
	name := schemaformat.AvroName(stream)
	codec, err := schemas.NewAvroCodec(ext, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	sch := schemas.AvroSchema(ext, name)
	fs := sch["fields"].([]any)
	last := fs[len(fs)-1].(map[string]any)
	last["type"] = map[string]any{"type": "long", "logicalType": "timestamp-millis"}
	js, err := json.Marshal(sch)
	if err != nil {
		return nil, err
	}
	as := &avroSchema{codec: codec, json: js}
	c.avro[rs] = as
	return as, nil
}

// finish returns the bytes of object o, stored under key.
func (c *codecs) finish(o *object, key string) ([]byte, error) {
	switch c.format {
	case FormatAvro:
		return c.finishAvro(o, key)
	case FormatParquet:
		return o.pw.finish()
	}
	switch c.compression {
	case "gzip":
		buf := bytes.NewBuffer(c.bufs.get())
		w := gzip.NewWriter(buf) // no name, zero mtime: the same bytes every time
		if _, err := w.Write(o.data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case "zstd":
		return c.zenc.EncodeAll(o.data, c.bufs.get()), nil
	}
	return o.data, nil
}

// recycle gives the buffers of o, stored with body (or not sent: finish
// failed, body nil), back to c.bufs; body may be o's data itself.
func (c *codecs) recycle(o *object, body []byte) {
	if len(body) > 0 && len(o.data) > 0 && &body[0] == &o.data[0] {
		body = nil
	}
	c.bufs.put(o.data)
	c.bufs.put(body)
	o.data, o.pw = nil, nil
}

// avroBlockBytes is the size at which an OCF block ends.
const avroBlockBytes = 64 << 10

// finishAvro writes an Avro object container file: the header (schema,
// codec), then o's rows in blocks of about avroBlockBytes. The sync
// marker is derived from the key, so the same records under the same key
// give the same bytes.
func (c *codecs) finishAvro(o *object, key string) ([]byte, error) {
	sum := sha256.Sum256([]byte(key))
	sync := sum[:16]
	codec := "null"
	switch c.compression {
	case "gzip":
		codec = "deflate"
	case "zstd":
		codec = "zstandard"
	case "snappy":
		codec = "snappy"
	}
	out := append(slices.Grow(c.bufs.get(), len(o.data)+len(o.avro.json)+256), 'O', 'b', 'j', 1)
	out = appendAvroLong(out, 2)
	out = appendAvroBytes(out, []byte("avro.codec"))
	out = appendAvroBytes(out, []byte(codec))
	out = appendAvroBytes(out, []byte("avro.schema"))
	out = appendAvroBytes(out, o.avro.json)
	out = appendAvroLong(out, 0)
	out = append(out, sync...)
	start := 0
	for _, b := range o.blocks {
		data := o.data[start:b.end]
		start = b.end
		switch codec {
		case "deflate":
			var buf bytes.Buffer
			w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
			if _, err := w.Write(data); err != nil {
				return nil, err
			}
			if err := w.Close(); err != nil {
				return nil, err
			}
			data = buf.Bytes()
		case "zstandard":
			data = c.zenc.EncodeAll(data, nil)
		case "snappy":
			// the Avro spec's snappy: the block, then the CRC-32 (IEEE,
			// big-endian) of its uncompressed bytes
			data = binary.BigEndian.AppendUint32(snappy.Encode(nil, data), crc32.ChecksumIEEE(data))
		}
		out = appendAvroLong(out, int64(b.count))
		out = appendAvroBytes(out, data)
		out = append(out, sync...)
	}
	return out, nil
}

func appendAvroLong(b []byte, n int64) []byte {
	return binary.AppendUvarint(b, uint64(n<<1)^uint64(n>>63))
}

func appendAvroBytes(b, v []byte) []byte {
	return append(appendAvroLong(b, int64(len(v))), v...)
}
