package s3sink

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// The records of the read-back tests (readback_*_test.go): one field of
// every type the sink writes to typed avro and parquet columns, with
// nulls, extreme values, empty strings and arrays, and the shapes
// postgres-cdc gives values that have no runtime type of their own
// (bytea as base64, timestamps and dates as ISO 8601, numeric as an exact
// string). Expected values are plain Go values (richWant), built apart
// from the runtime values the sink encodes, so that a read-back compares
// against what the records meant, not against the sink's own encoders.

var (
	tInt    = runtime.Type{Kind: runtime.KindInt}
	tString = runtime.Type{Kind: runtime.KindString}
)

var richSchema = runtime.NewSchema(
	runtime.Field{Name: "id", Type: tInt},
	runtime.Field{Name: "n", Type: tInt, Nullable: true},
	runtime.Field{Name: "x", Type: runtime.Type{Kind: runtime.KindFloat}},
	runtime.Field{Name: "name", Type: tString, Nullable: true},
	runtime.Field{Name: "flag", Type: runtime.Type{Kind: runtime.KindBool}, Nullable: true},
	runtime.Field{Name: "blob", Type: tString},               // bytea: base64
	runtime.Field{Name: "ts", Type: tString, Nullable: true}, // timestamptz: ISO 8601
	runtime.Field{Name: "day", Type: tString},                // date
	runtime.Field{Name: "amount", Type: tString},             // numeric: exact decimal string
	runtime.Field{Name: "address", Nullable: true, Type: runtime.Type{Kind: runtime.KindObject, Fields: []runtime.Field{
		{Name: "city", Type: tString},
		{Name: "zip", Type: tInt, Nullable: true},
	}}},
	runtime.Field{Name: "tags", Type: runtime.Type{Kind: runtime.KindArray, Elem: &tString}},
	runtime.Field{Name: "attrs", Type: runtime.Any},
	runtime.Field{Name: "extra", Type: runtime.Type{Kind: runtime.KindObject, Open: true}, Nullable: true},
	runtime.Field{Name: "mixed", Type: runtime.Type{Kind: runtime.KindArray}}, // elements of any type
	runtime.Field{Name: "gone", Type: runtime.Type{Kind: runtime.KindAbsent}}, // no column
)

// richWant is what record i holds, as plain Go values: nil is null; ints
// are int64; objects are map[string]any; arrays []any.
type richWant struct {
	id      int64
	n       *int64
	x       float64
	name    *string
	flag    *bool
	blob    string
	ts      *string
	day     string
	amount  string
	address map[string]any // {"city": string, "zip": int64 or nil}; nil = null
	tags    []any          // strings
	attrs   any
	extra   map[string]any // nil = null
	mixed   []any
	op      string
	timeMs  int64 // _event_time
}

var richBase = time.Date(2026, 3, 4, 22, 30, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// richFloats cycles through the doubles that must survive bit for bit.
var richFloats = []float64{math.Copysign(0, -1), 0, 1.5, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN()}

// richWantOf is record i with event times step apart.
func richWantOf(i int, step time.Duration) richWant {
	w := richWant{id: int64(i)}
	switch {
	case i%6 == 1:
	case i == 0:
		w.n = ptr(int64(math.MinInt64))
	case i == 2:
		w.n = ptr(int64(math.MaxInt64))
	default:
		w.n = ptr(int64(i)*1_000_003 - 1<<40)
	}
	if k := i % (len(richFloats) + 1); k < len(richFloats) {
		w.x = richFloats[k]
	} else {
		w.x = float64(i) / 3
	}
	switch {
	case i%5 == 3:
	case i%11 == 0:
		w.name = ptr("")
	default:
		w.name = ptr(fmt.Sprintf("名前-%d-ü \"q\" \\ \n\t€", i))
	}
	if i%4 != 3 {
		w.flag = ptr(i%3 == 0)
	}
	raw := make([]byte, i*37%300)
	for k := range raw {
		raw[k] = byte(i + k*k)
	}
	w.blob = base64.StdEncoding.EncodeToString(raw)
	switch {
	case i%10 == 9:
	case i == 5:
		w.ts = ptr("1969-07-20T20:17:40Z")
	default:
		w.ts = ptr(richBase.Add(time.Duration(i) * 1234567 * time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00"))
	}
	if i == 3 {
		w.day = "0001-01-01"
	} else {
		w.day = richBase.AddDate(0, 0, i).Format(time.DateOnly)
	}
	switch i % 7 {
	case 4:
		w.amount = "12345678901234567890.123456789012345678"
	case 5:
		w.amount = "-0.000000001"
	case 6:
		w.amount = "NaN"
	default:
		w.amount = fmt.Sprintf("%d.%02d", i*13, i%100)
	}
	if i%8 != 5 {
		w.address = map[string]any{"city": []string{"Zürich", "", "São Paulo", "東京"}[i%4], "zip": nil}
		if i%3 != 0 {
			w.address["zip"] = int64(1000 + i)
		}
	}
	w.tags = []any{}
	for k := range i % 4 {
		w.tags = append(w.tags, fmt.Sprintf("t%d-%d", i, k))
	}
	switch i % 7 {
	case 0:
	case 1:
		w.attrs = int64(-i)
	case 2:
		w.attrs = "s" + strconv.Itoa(i)
	case 3:
		w.attrs = i%2 == 0
	case 4:
		w.attrs = 2.25
	case 5:
		w.attrs = map[string]any{"a": []any{int64(1), "x", nil}, "b": map[string]any{"c": true}}
	case 6:
		w.attrs = []any{int64(i), map[string]any{}}
	}
	if i%3 != 0 {
		w.extra = map[string]any{"k": int64(i), "s": "v", "deep": map[string]any{"l": []any{}}}
	}
	w.mixed = []any{int64(i), nil, "s", map[string]any{"z": int64(1)}}[:i%5]
	w.op = []string{"insert", "update", "delete", "snapshot"}[i%4]
	w.timeMs = richTime(i, step).UnixMilli()
	return w
}

// richTime is record i's event time: sub-millisecond digits the
// millisecond columns drop.
func richTime(i int, step time.Duration) time.Time {
	return richBase.Add(time.Duration(i)*step + 789*time.Microsecond)
}

// richRecord is record i as the sink receives it.
func richRecord(i int, step time.Duration) runtime.Record {
	w := richWantOf(i, step)
	row := []runtime.Value{
		runtime.Int(w.id), val(w.n), runtime.Float(w.x), val(w.name), val(w.flag),
		runtime.String(w.blob), val(w.ts), runtime.String(w.day), runtime.String(w.amount),
		val(w.address), val(w.tags), val(w.attrs), val(w.extra), val(w.mixed), runtime.Absent(),
	}
	r := runtime.Record{Stream: "rich", Schema: richSchema, Time: richTime(i, step), Position: runtime.Position{Offset: uint64(i)}}
	switch w.op {
	case "insert":
		r.Op, r.After = runtime.OpInsert, row
	case "update":
		r.Op, r.After, r.Before = runtime.OpUpdate, row, slices.Clone(row)
		r.Before[0] = runtime.Int(-1) // the sink writes the row after
	case "delete":
		r.Op, r.Before = runtime.OpDelete, row
	case "snapshot":
		r.Op, r.After = runtime.OpSnapshot, row
	}
	return r
}

// val converts a plain Go value to a runtime.Value (object keys sorted).
func val(v any) runtime.Value {
	switch v := v.(type) {
	case nil:
		return runtime.Null()
	case *int64:
		if v == nil {
			return runtime.Null()
		}
		return runtime.Int(*v)
	case *string:
		if v == nil {
			return runtime.Null()
		}
		return runtime.String(*v)
	case *bool:
		if v == nil {
			return runtime.Null()
		}
		return runtime.Bool(*v)
	case int64:
		return runtime.Int(v)
	case float64:
		return runtime.Float(v)
	case string:
		return runtime.String(v)
	case bool:
		return runtime.Bool(v)
	case map[string]any:
		if v == nil {
			return runtime.Null()
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		o := runtime.NewObject(len(keys))
		for _, k := range keys {
			o.Set(k, val(v[k]))
		}
		return runtime.ObjectValue(o)
	case []any:
		a := make([]runtime.Value, len(v))
		for k, e := range v {
			a[k] = val(e)
		}
		return runtime.ArrayValue(a)
	}
	panic(fmt.Sprintf("val: %T", v))
}

// sameJSON reports whether text is JSON meaning want (numbers compared
// by their decimal text, so int64 extremes are exact).
func sameJSON(text string, want any) bool {
	got, err := decodeJSON([]byte(text))
	if err != nil {
		return false
	}
	wb, err := json.Marshal(want)
	if err != nil {
		return false
	}
	w, err := decodeJSON(wb)
	return err == nil && reflect.DeepEqual(got, w)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// sameFloat compares doubles bit for bit (-0 is not 0; NaN is NaN).
func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// richSource emits richRecord(from) … richRecord(n-1) and records the
// acknowledged offset.
type richSource struct {
	next, n int
	step    time.Duration
	mu      sync.Mutex
	acked   int // -1 = none
}

func newRichSource(from, n int, step time.Duration) *richSource {
	return &richSource{next: from, n: n, step: step, acked: -1}
}

func (s *richSource) Open(context.Context) error { return nil }
func (s *richSource) Close() error               { return nil }

func (s *richSource) Ack(_ context.Context, p runtime.Position) error {
	s.mu.Lock()
	s.acked = int(p.Offset)
	s.mu.Unlock()
	return nil
}

func (s *richSource) lastAck() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

func (s *richSource) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	k := 0
	for k < len(batch) && s.next < s.n {
		batch[k] = richRecord(s.next, s.step)
		s.next++
		k++
	}
	if s.next == s.n {
		return k, io.EOF
	}
	return k, nil
}

// objectStart is the first position in a key of the default template
// (…/rich+0+POSITION.ext).
func objectStart(t *testing.T, key string) int {
	t.Helper()
	name := key[strings.LastIndexByte(key, '/')+1:]
	name = name[:strings.IndexByte(name, '.')]
	n, err := strconv.Atoi(name[strings.LastIndexByte(name, '+')+1:])
	if err != nil {
		t.Fatalf("key %s: no position: %v", key, err)
	}
	return n
}

// richObjects runs n rich records (event times step apart) through a sink
// of cfg into a new bucket and returns its objects by first position,
// checking that they start where the rotation rules say: after every
// maxRecords records and at every hour of event time.
func richObjects(t *testing.T, cfg Config, n int, step time.Duration) (starts []int, objs map[int][]byte, keyOf map[int]string) {
	t.Helper()
	src := newRichSource(0, n, step)
	mustRun(t, cfg, src, 97)
	if a := src.lastAck(); a != n-1 {
		t.Fatalf("acknowledged up to %d, want %d", a, n-1)
	}
	stored := srv.Objects(t, cfg.Bucket)
	objs, keyOf = map[int][]byte{}, map[int]string{}
	for k, b := range stored {
		p := objectStart(t, k)
		if _, dup := objs[p]; dup {
			t.Fatalf("two objects start at %d", p)
		}
		objs[p], keyOf[p] = b, k
		starts = append(starts, p)
	}
	slices.Sort(starts)
	var want []int
	count := 0
	for i := range n {
		if i == 0 || count == cfg.Rotate.MaxRecords || richTime(i, step).Truncate(time.Hour) != richTime(i-1, step).Truncate(time.Hour) {
			want = append(want, i)
			count = 0
		}
		count++
	}
	if !slices.Equal(starts, want) {
		t.Fatalf("objects start at %v, want %v", starts, want)
	}
	return starts, objs, keyOf
}

// readBack writes the rich records in format with each compression and
// hands every object to check (an independent reader's test): 3000
// records 5 s apart from 22:30, rotated every 700 records and at each
// hour (hours 22, 23, 00 and 01: several objects per hour), then 6000
// records in 10 minutes, one large object (many parquet pages or avro
// blocks: large is true).
func readBack(t *testing.T, format string, check func(t *testing.T, key string, data []byte, comp string, from, end int, step time.Duration, large bool)) {
	comps := []string{"none", "gzip", "zstd"}
	if format != FormatJSONL {
		comps = append(comps, "snappy")
	}
	for _, comp := range comps {
		t.Run(comp, func(t *testing.T) {
			t.Run("rotated", func(t *testing.T) {
				cfg := testConfig(srv.NewBucket(t))
				cfg.Format, cfg.Compression = format, comp
				cfg.Rotate.MaxRecords = 700
				starts, objs, keyOf := richObjects(t, cfg, 3000, 5*time.Second)
				if len(starts) < 6 {
					t.Fatalf("%d objects, want several per hour", len(starts))
				}
				for k, start := range starts {
					end := 3000
					if k+1 < len(starts) {
						end = starts[k+1]
					}
					check(t, keyOf[start], objs[start], comp, start, end, 5*time.Second, false)
				}
			})
			t.Run("large", func(t *testing.T) {
				cfg := testConfig(srv.NewBucket(t))
				cfg.Format, cfg.Compression = format, comp
				starts, objs, keyOf := richObjects(t, cfg, 6000, 100*time.Millisecond)
				check(t, keyOf[starts[0]], objs[starts[0]], comp, 0, 6000, 100*time.Millisecond, true)
			})
		})
	}
}
