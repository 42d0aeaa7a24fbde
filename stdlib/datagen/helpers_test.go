package datagen

import (
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// clockTime is the fixed clock of the tests; it has a fractional second
// and sits right after a day boundary to exercise date arithmetic.
var clockTime = time.Date(2026, 11, 27, 0, 4, 5, 123456789, time.UTC)

const clockRFC3339 = "2026-11-27T00:04:05Z"

func fixedClock() time.Time { return clockTime }

func mustNew(t testing.TB, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg, fixedClock)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return s
}

// readAll reads up to n records in batches of size batch and returns deep
// copies of them (the slots' slices are reused by later reads). It stops
// early at io.EOF.
func readAll(t testing.TB, s *Source, n, batch int) []runtime.Record {
	t.Helper()
	buf := make([]runtime.Record, batch)
	var out []runtime.Record
	for len(out) < n {
		k, err := s.Read(context.Background(), buf[:min(batch, n-len(out))])
		for _, r := range buf[:k] {
			c := r
			if r.After != nil {
				c.After = append([]runtime.Value(nil), r.After...)
			}
			if r.Before != nil {
				c.Before = append([]runtime.Value(nil), r.Before...)
			}
			out = append(out, c)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	return out
}

// dumpValue renders v canonically with its kind, so that equal dumps mean
// identical values (a float 1 and an int 1 differ).
func dumpValue(b *strings.Builder, v runtime.Value) {
	switch v.Kind() {
	case runtime.KindNull:
		b.WriteString("null")
	case runtime.KindAbsent:
		b.WriteString("absent")
	case runtime.KindBool:
		b.WriteString(strconv.FormatBool(v.AsBool()))
	case runtime.KindInt:
		b.WriteString("i" + strconv.FormatInt(v.AsInt(), 10))
	case runtime.KindFloat:
		b.WriteString("f" + strconv.FormatUint(math.Float64bits(v.AsFloat()), 16))
	case runtime.KindString:
		b.WriteString(strconv.Quote(v.AsString()))
	case runtime.KindObject:
		o := v.AsObject()
		b.WriteByte('{')
		for i, k := range o.Keys {
			b.WriteString(strconv.Quote(k) + ":")
			dumpValue(b, o.Values[i])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case runtime.KindArray:
		b.WriteByte('[')
		for _, e := range v.AsArray() {
			dumpValue(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	}
}

func dumpRow(row []runtime.Value) string {
	if row == nil {
		return "nil"
	}
	var b strings.Builder
	b.WriteByte('[')
	for _, v := range row {
		dumpValue(&b, v)
		b.WriteByte(',')
	}
	b.WriteByte(']')
	return b.String()
}

// dumpRecord renders every field of r.
func dumpRecord(r runtime.Record) string {
	var b strings.Builder
	b.WriteString(r.Stream + "|" + r.Namespace + "|" + r.Op.String() + "|")
	b.WriteString(strings.Join(r.Schema.Names(), ",") + "|")
	b.WriteString(dumpRow(r.After) + "|" + dumpRow(r.Before) + "|")
	b.WriteString(r.Time.Format(time.RFC3339Nano) + "|" + strconv.FormatUint(r.Position.Offset, 10) + "|")
	if r.Meta != nil {
		dumpValue(&b, runtime.ObjectValue(r.Meta))
	} else {
		b.WriteString("nil")
	}
	return b.String()
}

// checkType fails unless v conforms to typ (nullable allows null).
func checkType(t testing.TB, path string, v runtime.Value, typ runtime.Type, nullable bool) {
	t.Helper()
	if v.IsNull() {
		if !nullable && typ.Kind != runtime.KindNull {
			t.Fatalf("%s: null value in non-nullable field of type %s", path, typ)
		}
		return
	}
	if typ.Kind == runtime.KindNull { // any
		return
	}
	if v.Kind() != typ.Kind {
		t.Fatalf("%s: value kind %s, schema type %s", path, v.Kind(), typ)
	}
	switch typ.Kind {
	case runtime.KindObject:
		o := v.AsObject()
		if !typ.Open && len(o.Keys) != len(typ.Fields) {
			t.Fatalf("%s: object keys %v, closed type %s", path, o.Keys, typ)
		}
		for i, f := range typ.Fields {
			if !typ.Open && o.Keys[i] != f.Name {
				t.Fatalf("%s: key %d is %q, type %s", path, i, o.Keys[i], typ)
			}
			fv, ok := o.Get(f.Name)
			if !ok {
				t.Fatalf("%s: missing key %q", path, f.Name)
			}
			checkType(t, path+"."+f.Name, fv, f.Type, f.Nullable)
		}
	case runtime.KindArray:
		if typ.Elem != nil {
			for i, e := range v.AsArray() {
				checkType(t, path+"["+strconv.Itoa(i)+"]", e, *typ.Elem, false)
			}
		}
	}
}

// checkRow fails unless row conforms to schema (positions, kinds).
func checkRow(t testing.TB, schema *runtime.Schema, row []runtime.Value) {
	t.Helper()
	if len(row) != len(schema.Fields) {
		t.Fatalf("row has %d values, schema %d fields (%v)", len(row), len(schema.Fields), schema.Names())
	}
	for i, f := range schema.Fields {
		checkType(t, f.Name, row[i], f.Type, f.Nullable)
	}
}

// field returns the value of the named field of r's row.
func field(t testing.TB, r runtime.Record, name string) runtime.Value {
	t.Helper()
	i := r.Schema.Index(name)
	if i < 0 {
		t.Fatalf("no field %q in %v", name, r.Schema.Names())
	}
	return r.Row()[i]
}

func inSet(v string, set []string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// has2Decimals reports whether f is a value rounded to 2 decimals.
func has2Decimals(f float64) bool {
	return math.Round(f*100)/100 == f
}
