package s3sink

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// TestParquetReadBackByArrow reads the sink's parquet objects with an
// independent implementation, Apache Arrow's Go parquet reader (its
// low-level file and column-chunk readers: pqarrow would add Arrow's
// compute and Flight/gRPC packages for nothing), and checks the schema
// (physical and logical types, optional columns), the codec, the row
// counts and every value of every row, across rotated objects (by record
// count and by hour of event time) and across the data pages of a large
// object.
func TestParquetReadBackByArrow(t *testing.T) {
	readBack(t, FormatParquet, checkParquet)
}

// parquetColumn is what a column of the sink's objects must be.
type parquetColumn struct {
	phys     parquet.Type
	logical  schema.LogicalType
	optional bool
}

var parquetColumns = map[string]parquetColumn{
	"id":          {parquet.Types.Int64, schema.NewIntLogicalType(64, true), true},
	"n":           {parquet.Types.Int64, schema.NewIntLogicalType(64, true), true},
	"x":           {parquet.Types.Double, schema.NoLogicalType{}, true},
	"name":        {parquet.Types.ByteArray, schema.StringLogicalType{}, true},
	"flag":        {parquet.Types.Boolean, schema.NoLogicalType{}, true},
	"blob":        {parquet.Types.ByteArray, schema.StringLogicalType{}, true},
	"ts":          {parquet.Types.ByteArray, schema.StringLogicalType{}, true},
	"day":         {parquet.Types.ByteArray, schema.StringLogicalType{}, true},
	"amount":      {parquet.Types.ByteArray, schema.StringLogicalType{}, true},
	"address":     {parquet.Types.ByteArray, schema.JSONLogicalType{}, true},
	"tags":        {parquet.Types.ByteArray, schema.JSONLogicalType{}, true},
	"attrs":       {parquet.Types.ByteArray, schema.JSONLogicalType{}, true},
	"extra":       {parquet.Types.ByteArray, schema.JSONLogicalType{}, true},
	"mixed":       {parquet.Types.ByteArray, schema.JSONLogicalType{}, true},
	"_event_type": {parquet.Types.ByteArray, schema.StringLogicalType{}, false},
	"_event_time": {parquet.Types.Int64, schema.NewTimestampLogicalType(true, schema.TimeUnitMillis), false},
}

// checkParquet checks that data, stored under key, is a parquet file of
// records from … end-1 (event times step apart). multiPage: some column
// chunk must span several data pages.
func checkParquet(t *testing.T, key string, data []byte, comp string, from, end int, step time.Duration, multiPage bool) {
	t.Helper()
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: arrow-go cannot open it: %v", key, err)
	}
	defer rdr.Close()
	if got := rdr.NumRows(); got != int64(end-from) {
		t.Fatalf("%s: %d rows, want %d", key, got, end-from)
	}
	sch := rdr.MetaData().Schema
	if sch.NumColumns() != len(parquetColumns) {
		t.Fatalf("%s: %d columns, want %d (%v)", key, sch.NumColumns(), len(parquetColumns), sch)
	}
	idx := map[string]int{}
	for name, want := range parquetColumns {
		i := sch.ColumnIndexByName(name)
		if i < 0 {
			t.Fatalf("%s: no column %s", key, name)
		}
		idx[name] = i
		c := sch.Column(i)
		if c.PhysicalType() != want.phys || !c.LogicalType().Equals(want.logical) {
			t.Errorf("%s: column %s is %s %s, want %s %s", key, name, c.PhysicalType(), c.LogicalType(), want.phys, want.logical)
		}
		if opt := c.MaxDefinitionLevel() == 1; opt != want.optional || c.MaxRepetitionLevel() != 0 {
			t.Errorf("%s: column %s: max definition level %d, repetition level %d; want optional=%v, not repeated", key, name, c.MaxDefinitionLevel(), c.MaxRepetitionLevel(), want.optional)
		}
	}
	wantCodec := map[string]compress.Compression{"none": compress.Codecs.Uncompressed, "gzip": compress.Codecs.Gzip, "zstd": compress.Codecs.Zstd, "snappy": compress.Codecs.Snappy}[comp]
	cols := map[string][]any{}
	pages := 0
	for g := range rdr.NumRowGroups() {
		rg := rdr.RowGroup(g)
		for name, i := range idx {
			cc, err := rg.MetaData().ColumnChunk(i)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != wantCodec {
				t.Errorf("%s: row group %d, column %s: codec %s, want %s", key, g, name, cc.Compression(), wantCodec)
			}
			vals, err := readColumn(rg, i)
			if err != nil {
				t.Fatalf("%s: row group %d, column %s: %v", key, g, name, err)
			}
			if int64(len(vals)) != rg.NumRows() {
				t.Fatalf("%s: row group %d, column %s: %d values for %d rows", key, g, name, len(vals), rg.NumRows())
			}
			cols[name] = append(cols[name], vals...)
			n, err := dataPages(rg, i)
			if err != nil {
				t.Fatalf("%s: row group %d, column %s: pages: %v", key, g, name, err)
			}
			pages = max(pages, n)
		}
	}
	if multiPage && pages < 2 {
		t.Fatalf("%s: every column chunk has one data page: the test does not cover page boundaries", key)
	}
	for r := range end - from {
		i := from + r
		w := richWantOf(i, step)
		get := func(name string) any { return cols[name][r] }
		bad := func(name string, got, want any) {
			t.Fatalf("%s: row %d (record %d), column %s = %#v, want %#v", key, r, i, name, got, want)
		}
		if got := get("id"); got != w.id {
			bad("id", got, w.id)
		}
		if got := get("n"); w.n == nil && got != nil || w.n != nil && got != *w.n {
			bad("n", got, w.n)
		}
		if got, ok := get("x").(float64); !ok || !sameFloat(got, w.x) {
			bad("x", get("x"), w.x)
		}
		if got := get("name"); w.name == nil && got != nil || w.name != nil && got != *w.name {
			bad("name", got, w.name)
		}
		if got := get("flag"); w.flag == nil && got != nil || w.flag != nil && got != *w.flag {
			bad("flag", got, w.flag)
		}
		for name, want := range map[string]string{"blob": w.blob, "day": w.day, "amount": w.amount} {
			if got := get(name); got != want {
				bad(name, got, want)
			}
		}
		if got := get("ts"); w.ts == nil && got != nil || w.ts != nil && got != *w.ts {
			bad("ts", got, w.ts)
		}
		for name, want := range map[string]any{"address": w.address, "extra": w.extra} {
			got := get(name)
			if want.(map[string]any) == nil {
				if got != nil {
					bad(name, got, nil)
				}
			} else if s, ok := got.(string); !ok || !sameJSON(s, want) {
				bad(name, got, want)
			}
		}
		for name, want := range map[string]any{"tags": w.tags, "mixed": w.mixed} {
			if s, ok := get(name).(string); !ok || !sameJSON(s, want) {
				bad(name, get(name), want)
			}
		}
		if got := get("attrs"); w.attrs == nil && got != nil || w.attrs != nil && !isJSON(got, w.attrs) {
			bad("attrs", got, w.attrs)
		}
		if got := get("_event_type"); got != w.op {
			bad("_event_type", got, w.op)
		}
		if got := get("_event_time"); got != w.timeMs {
			bad("_event_time", got, w.timeMs)
		}
	}
}

func isJSON(got, want any) bool {
	s, ok := got.(string)
	return ok && sameJSON(s, want)
}

// readColumn reads column i of rg: one value per row, nil for a null;
// int64, float64, bool or string by the physical type.
func readColumn(rg *file.RowGroupReader, i int) ([]any, error) {
	cr, err := rg.Column(i)
	if err != nil {
		return nil, err
	}
	maxDef := cr.Descriptor().MaxDefinitionLevel()
	const batch = 1000
	defs := make([]int16, batch)
	var out []any
	// take appends the k levels just read, drawing non-null values from v.
	take := func(k int64, v func(int) any) {
		j := 0
		for l := range k {
			if maxDef > 0 && defs[l] < maxDef {
				out = append(out, nil)
				continue
			}
			out = append(out, v(j))
			j++
		}
	}
	for cr.HasNext() {
		switch r := cr.(type) {
		case *file.Int64ColumnChunkReader:
			vals := make([]int64, batch)
			k, _, err := r.ReadBatch(batch, vals, defs, nil)
			if err != nil {
				return nil, err
			}
			take(k, func(j int) any { return vals[j] })
		case *file.Float64ColumnChunkReader:
			vals := make([]float64, batch)
			k, _, err := r.ReadBatch(batch, vals, defs, nil)
			if err != nil {
				return nil, err
			}
			take(k, func(j int) any { return vals[j] })
		case *file.BooleanColumnChunkReader:
			vals := make([]bool, batch)
			k, _, err := r.ReadBatch(batch, vals, defs, nil)
			if err != nil {
				return nil, err
			}
			take(k, func(j int) any { return vals[j] })
		case *file.ByteArrayColumnChunkReader:
			vals := make([]parquet.ByteArray, batch)
			k, _, err := r.ReadBatch(batch, vals, defs, nil)
			if err != nil {
				return nil, err
			}
			take(k, func(j int) any { return string(vals[j]) })
		default:
			return nil, fmt.Errorf("unexpected physical type %s", cr.Type())
		}
	}
	return out, cr.Err()
}

// dataPages counts the data pages of column i of rg.
func dataPages(rg *file.RowGroupReader, i int) (int, error) {
	pr, err := rg.GetColumnPageReader(i)
	if err != nil {
		return 0, err
	}
	n := 0
	for pr.Next() {
		switch pr.Page().Type() {
		case file.PageTypeDataPage, file.PageTypeDataPageV2:
			n++
		}
	}
	return n, pr.Err()
}
