package s3sink

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/rivven/rivven-connect/runtime"
)

// TestParquetWriterWritesAsRows pins that pqWriter, which hands the
// column writers pqRowsPerWrite values of each column at a time, writes
// the same bytes as parquet-go's WriteRows of whole rows (the sink's
// objects before it; a replay must find its objects unchanged): for
// each compression, for objects of many data pages, nulls, JSON values
// and fields a transform removed, with a new writer and with one reused
// for the next file. Objects of fewer than pqPendingRows rows get their
// parquet writer only when they end.
func TestParquetWriterWritesAsRows(t *testing.T) {
	var recs []runtime.Record
	for i := range 5000 {
		recs = append(recs, richRecord(i, time.Second))
	}
	for i := range 700 { // removed fields: objects of their own schema
		r := genRecord(i, time.Second)
		r.After[2] = runtime.Absent()
		if i%5 == 0 {
			r.After[4] = runtime.Absent()
		}
		recs = append(recs, r)
	}
	for _, comp := range []string{"none", "gzip", "zstd", "snappy"} {
		t.Run(comp, func(t *testing.T) {
			cfg := Defaults()
			cfg.Format, cfg.Compression = FormatParquet, comp
			c, err := newCodecs(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			var order []*parquetSchema
			rows := map[*parquetSchema][]parquet.Row{}
			byRows := map[*parquetSchema][]*runtime.Record{}
			var e encoded
			for i := range recs {
				if err := c.prepare(&recs[i], &e); err != nil {
					t.Fatal(err)
				}
				ps := c.parquet[e.schema]
				if rows[ps] == nil {
					order = append(order, ps)
				}
				rows[ps] = append(rows[ps], refRow(ps, &recs[i]))
				byRows[ps] = append(byRows[ps], &recs[i])
			}
			if len(order) != 3 {
				t.Fatalf("%d schemas, want 3 (rich, and gen with two sets of fields removed)", len(order))
			}
			for _, ps := range order {
				var ref bytes.Buffer
				w := parquet.NewGenericWriter[any](&ref, ps.opts...)
				if _, err := w.WriteRows(rows[ps]); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				for round := range 2 { // the second reuses the first's writer
					pw := ps.writer(new(bytes.Buffer))
					for _, r := range byRows[ps] {
						pw.append(r)
					}
					if (pw.f != nil) != (len(byRows[ps]) >= pqPendingRows) {
						t.Fatalf("%d rows: parquet writer %v before the object ends (from row %d)", len(byRows[ps]), pw.f != nil, pqPendingRows)
					}
					got, err := pw.finish()
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, ref.Bytes()) {
						t.Fatalf("schema %s, round %d: %d bytes differ from WriteRows' %d", ps.schema, round, len(got), ref.Len())
					}
				}
				if len(ps.idle.items) != 1 {
					t.Fatalf("%d idle writers, want the one reused", len(ps.idle.items))
				}
			}
		})
	}
}

// refRow is r as a parquet.Row of ps, built value by value as the sink
// built its rows before pqWriter.
func refRow(ps *parquetSchema, r *runtime.Record) parquet.Row {
	row := make(parquet.Row, ps.ncols)
	vals := r.Row()
	for i, f := range ps.fields {
		col := ps.col[i]
		if col < 0 {
			continue
		}
		var v runtime.Value
		if i < len(vals) {
			v = vals[i]
		}
		if v.IsNull() {
			row[col] = parquet.NullValue().Level(0, 0, col)
			continue
		}
		var pv parquet.Value
		switch f.Type.Kind {
		case runtime.KindBool:
			pv = parquet.BooleanValue(v.AsBool())
		case runtime.KindInt:
			pv = parquet.Int64Value(v.AsInt())
		case runtime.KindFloat:
			pv = parquet.DoubleValue(v.AsFloat())
		case runtime.KindString:
			pv = parquet.ByteArrayValue([]byte(v.AsString()))
		default:
			pv = parquet.ByteArrayValue(runtime.AppendJSON(nil, v))
		}
		row[col] = pv.Level(0, 1, col)
	}
	row[ps.typeC] = parquet.ByteArrayValue([]byte(r.Op.String())).Level(0, 0, ps.typeC)
	row[ps.timeC] = parquet.Int64Value(r.Time.UnixMilli()).Level(0, 0, ps.timeC)
	return row
}

// TestBadRecordTakesNothing: a record whose value does not fit its
// parquet column fails the whole Hold, naming the record and the field,
// before any record of it is taken — also when an object would have
// ended (and been stored) at an earlier record of the write.
func TestBadRecordTakesNothing(t *testing.T) {
	b := srv.NewBucket(t)
	cfg := testConfig(b)
	cfg.Format = FormatParquet
	cfg.Rotate.MaxRecords = 3
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var recs []runtime.Record
	for i := range 10 {
		recs = append(recs, genRecord(i, time.Second))
	}
	recs[7].After[0] = runtime.String("seven") // id is an int column
	none := func(int) runtime.HeldPiece { return runtime.HeldPiece{} }
	err = s.Hold(t.Context(), recs, none)
	if err == nil || !strings.Contains(err.Error(), "position 7") || !strings.Contains(err.Error(), "field id") {
		t.Fatalf("Hold: %v, want the error of record 7's field id", err)
	}
	if err := s.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if objs := srv.Objects(t, b); len(objs) != 0 {
		t.Fatalf("objects %v stored from a write that failed", keys(objs))
	}
	recs[7].After[0] = runtime.Int(7)
	if err := s.Write(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	objs := srv.Objects(t, b)
	want := []string{"out/users/dt=2026-03-04/hr=22/users+0+0.parquet", "out/users/dt=2026-03-04/hr=22/users+0+3.parquet",
		"out/users/dt=2026-03-04/hr=22/users+0+6.parquet", "out/users/dt=2026-03-04/hr=22/users+0+9.parquet"}
	if got := keys(objs); !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	for k, data := range objs {
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if n := f.NumRows(); n != 3 && !(strings.HasSuffix(k, "+9.parquet") && n == 1) {
			t.Fatalf("%s: %d rows", k, n)
		}
	}
}
