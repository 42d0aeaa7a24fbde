package s3sink

import (
	"bytes"
	"fmt"
	"slices"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	pqgzip "github.com/parquet-go/parquet-go/compress/gzip"
	pqsnappy "github.com/parquet-go/parquet-go/compress/snappy"
	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/schemaformat"
)

// parquetSchema maps one record schema to typed parquet columns: bool →
// BOOLEAN, int → INT64, float → DOUBLE, string → STRING, objects, arrays
// and values of type any → JSON (their compact JSON text); every field is
// optional. _event_type is a STRING, _event_time a TIMESTAMP(MILLIS).
type parquetSchema struct {
	schema *parquet.Schema
	fields []runtime.Field
	col    []int                  // column of fields[i]; -1 for absent fields
	kinds  []runtime.Kind         // kind of fields[i]'s values: its type's; KindAbsent: any (JSON columns, absent fields)
	ncols  int                    // columns: the fields' and the two extra ones
	typeC  int                    // column of _event_type
	timeC  int                    // column of _event_time
	opts   []parquet.WriterOption // the writers'

	idle  freeList[*pqFile]         // writers of finished files, for the next
	pends freeList[[]parquet.Value] // emptied pqWriter.pend arrays, for the next objects
}

func (c *codecs) parquetOf(sch *runtime.Schema, stream string) (*parquetSchema, error) {
	if ps := c.parquet[sch]; ps != nil {
		return ps, nil
	}
	if err := extFields(sch, stream); err != nil {
		return nil, err
	}
	g := parquet.Group{}
	for _, f := range sch.Fields {
		var n parquet.Node
		switch f.Type.Kind {
		case runtime.KindAbsent:
			continue
		case runtime.KindBool:
			n = parquet.Leaf(parquet.BooleanType)
		case runtime.KindInt:
			n = parquet.Int(64)
		case runtime.KindFloat:
			n = parquet.Leaf(parquet.DoubleType)
		case runtime.KindString:
			n = parquet.String()
		default:
			n = parquet.JSON()
		}
		g[f.Name] = parquet.Optional(n)
	}
	g[colEventType] = parquet.String()
	g[colEventTime] = parquet.Timestamp(parquet.Millisecond)
	ps := &parquetSchema{schema: parquet.NewSchema(schemaformat.AvroName(stream), g), fields: sch.Fields}
	ps.ncols = len(ps.schema.Columns())
	for _, f := range sch.Fields {
		col, kind := -1, runtime.KindAbsent
		if f.Type.Kind != runtime.KindAbsent {
			lc, _ := ps.schema.Lookup(f.Name)
			col = lc.ColumnIndex
		}
		switch f.Type.Kind {
		case runtime.KindBool, runtime.KindInt, runtime.KindFloat, runtime.KindString:
			kind = f.Type.Kind
		}
		ps.col, ps.kinds = append(ps.col, col), append(ps.kinds, kind)
	}
	lc, _ := ps.schema.Lookup(colEventType)
	ps.typeC = lc.ColumnIndex
	lc, _ = ps.schema.Lookup(colEventTime)
	ps.timeC = lc.ColumnIndex
	ps.opts = []parquet.WriterOption{ps.schema, parquet.CreatedBy("rivven-connect", "1", "")}
	switch c.compression {
	case "gzip":
		ps.opts = append(ps.opts, parquet.Compression(&pqgzip.Codec{}))
	case "zstd":
		ps.opts = append(ps.opts, parquet.Compression(&pqzstd.Codec{}))
	case "snappy":
		ps.opts = append(ps.opts, parquet.Compression(&pqsnappy.Codec{}))
	}
	c.parquet[sch] = ps
	return ps, nil
}

// check fails, naming the field, when r has a value its column cannot
// hold; append takes only records check accepted. It reports whether r
// has absent values (fields a transform removed), which the schema of
// r's object leaves out (see codecs.effective).
func (ps *parquetSchema) check(r *runtime.Record) (absent bool, err error) {
	vals := r.Row()
	n := min(len(ps.kinds), len(vals))
	for i := range vals[:n] {
		k, want := vals[i].Kind(), ps.kinds[i]
		switch {
		case k == want && k != runtime.KindAbsent, k == runtime.KindNull:
		case k == runtime.KindAbsent:
			absent = true
		case want == runtime.KindAbsent, want == runtime.KindFloat && k == runtime.KindInt:
		default:
			return absent, kindErr(ps.fields[i], vals[i])
		}
	}
	for i := range vals[n:] {
		absent = absent || vals[n+i].Kind() == runtime.KindAbsent
	}
	return absent, nil
}

func kindErr(f runtime.Field, v runtime.Value) error {
	return fmt.Errorf("field %s: a %s value in a %s column", f.Name, v.Kind(), f.Type)
}

// pqWriter writes the rows of an open parquet object to its file as
// they come: each value goes straight into the chunk of its column, and
// every pqRowsPerWrite rows the chunks go to the file's columns. No row
// (a parquet.Row per record) is built and kept until the object ends:
// building, copying and collecting them cost more CPU than writing the
// file. A parquet writer holds half a megabyte of buffers, so an object
// gets one only at its pqPendingRows-th row (or when it ends): until
// then its values wait in pend, and a unit of many small objects holds
// about their values only.
type pqWriter struct {
	ps    *parquetSchema
	out   *bytes.Buffer
	f     *pqFile         // nil: the rows are in pend
	pend  []parquet.Value // f nil: the rows so far, ps.ncols values each
	bytes []byte          // the bytes of the byte arrays not yet written that are no record's string
	rows  int             // rows in pend, or in f.chunk
	err   error           // the first write error, which finish returns
}

// pqFile is a parquet writer, reused from one object's file to the
// next: a new one allocates its column buffers anew.
type pqFile struct {
	w     *parquet.GenericWriter[any]
	cws   []*parquet.ColumnWriter
	chunk []parquet.Value // the values of the rows not yet written: column i's from i*pqRowsPerWrite
}

// pqRowsPerWrite is how many rows parquet.Writer.WriteRows hands its
// column writers at a time (parquet-go's maxRowsPerWrite): a column
// writer ends a page only between such writes, so writing the columns
// in the same steps gives the same pages — the same bytes — as WriteRows
// of the rows (TestParquetWriterWritesAsRows pins it).
const pqRowsPerWrite = 64

// pqPendingRows is the row at which an object gets its parquet writer; a
// multiple of pqRowsPerWrite, so the writes that follow keep their steps.
const pqPendingRows = 16 * pqRowsPerWrite

// writer returns the writer of a new object's file, written to out.
func (ps *parquetSchema) writer(out *bytes.Buffer) *pqWriter {
	pend, ok := ps.pends.take()
	if !ok {
		pend = make([]parquet.Value, 0, pqPendingRows*ps.ncols)
	}
	return &pqWriter{ps: ps, out: out, pend: pend}
}

// releasePend takes back the pend array of a writer that has started
// its file.
func (ps *parquetSchema) releasePend(pend []parquet.Value) {
	clear(pend[:cap(pend)]) // the records' strings
	ps.pends.keep(pend[:0])
}

// file returns a parquet writer of ps's schema writing to out: an idle
// one if there is one.
func (ps *parquetSchema) file(out *bytes.Buffer) *pqFile {
	if f, ok := ps.idle.take(); ok {
		f.w.Reset(out)
		return f
	}
	w := parquet.NewGenericWriter[any](out, ps.opts...)
	return &pqFile{w: w, cws: w.ColumnWriters(), chunk: make([]parquet.Value, ps.ncols*pqRowsPerWrite)}
}

// release takes back f, whose file is closed.
func (ps *parquetSchema) release(f *pqFile) {
	clear(f.chunk) // the records' strings
	ps.idle.keep(f)
}

// append writes r, which check accepted, as the next row; it returns its
// plain size in bytes (the rotation's measure: 1 per bool, 8 per number,
// 4 + length per byte array).
func (pw *pqWriter) append(r *runtime.Record) int {
	ps := pw.ps
	// value of column c: dst[at+c*stride]
	var dst []parquet.Value
	var at, stride int
	if pw.f == nil {
		at = len(pw.pend)
		pw.pend = slices.Grow(pw.pend, ps.ncols)[:at+ps.ncols]
		dst, stride = pw.pend, 1
	} else {
		dst, at, stride = pw.f.chunk, pw.rows, pqRowsPerWrite
	}
	vals := r.Row()
	size := 0
	for i, col := range ps.col {
		if col < 0 {
			continue
		}
		pv := &dst[at+col*stride]
		if i >= len(vals) || vals[i].IsNull() {
			*pv = parquet.NullValue()
			pv.SetColumnIndex(col)
			continue
		}
		v := &vals[i]
		switch ps.kinds[i] {
		case runtime.KindBool:
			*pv = parquet.BooleanValue(v.AsBool())
			size++
		case runtime.KindInt:
			*pv = parquet.Int64Value(v.AsInt())
			size += 8
		case runtime.KindFloat:
			*pv = parquet.DoubleValue(v.AsFloat())
			size += 8
		case runtime.KindString:
			str := v.AsString()
			*pv = parquet.ByteArrayValue(stringBytes(str))
			size += 4 + len(str)
		default:
			n := len(pw.bytes)
			pw.bytes = runtime.AppendJSON(pw.bytes, *v)
			*pv = parquet.ByteArrayValue(pw.bytes[n:len(pw.bytes):len(pw.bytes)])
			size += 4 + len(pw.bytes) - n
		}
		pv.SetDefinitionLevel(1)
		pv.SetColumnIndex(col)
	}
	op := r.Op.String()
	pv := &dst[at+ps.typeC*stride]
	*pv = parquet.ByteArrayValue(stringBytes(op))
	pv.SetColumnIndex(ps.typeC)
	pv = &dst[at+ps.timeC*stride]
	*pv = parquet.Int64Value(r.Time.UnixMilli())
	pv.SetColumnIndex(ps.timeC)
	pw.rows++
	switch {
	case pw.f == nil && pw.rows == pqPendingRows:
		pw.start()
	case pw.f != nil && pw.rows == pqRowsPerWrite:
		pw.flush()
	}
	return size + 4 + len(op) + 8
}

// stringBytes returns the bytes of s, not copied, for a parquet value:
// the column writers only read a value's bytes, copying them before
// WriteRowValues returns, and the value's pointer keeps s alive until
// then. Copying every string of a record first cost a tenth of writing
// the file.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// start gives pw its parquet writer and writes the pending rows to it.
// (A value keeps pointing at its bytes when an append moved pw.bytes
// elsewhere.)
func (pw *pqWriter) start() {
	ncols := pw.ps.ncols
	pw.f = pw.ps.file(pw.out)
	for lo := 0; lo < pw.rows; lo += pqRowsPerWrite {
		hi := min(lo+pqRowsPerWrite, pw.rows)
		for c, cw := range pw.f.cws {
			chunk := pw.f.chunk[c*pqRowsPerWrite : c*pqRowsPerWrite+hi-lo]
			for k := range chunk {
				chunk[k] = pw.pend[(lo+k)*ncols+c]
			}
			if pw.err == nil {
				_, pw.err = cw.WriteRowValues(chunk)
			}
		}
	}
	pw.ps.releasePend(pw.pend)
	pw.pend, pw.bytes, pw.rows = nil, pw.bytes[:0], 0
}

// flush writes the chunks to the columns.
func (pw *pqWriter) flush() {
	for i, cw := range pw.f.cws {
		if pw.err == nil {
			_, pw.err = cw.WriteRowValues(pw.f.chunk[i*pqRowsPerWrite : i*pqRowsPerWrite+pw.rows])
		}
	}
	pw.bytes, pw.rows = pw.bytes[:0], 0
}

// finish ends the file and returns its bytes; its parquet writer goes
// back to the schema for the next file.
func (pw *pqWriter) finish() ([]byte, error) {
	if pw.f == nil {
		pw.start()
	} else if pw.rows > 0 {
		pw.flush()
	}
	if pw.err != nil {
		return nil, pw.err
	}
	if err := pw.f.w.Close(); err != nil {
		return nil, err
	}
	pw.ps.release(pw.f)
	pw.f = nil
	return pw.out.Bytes(), nil
}
