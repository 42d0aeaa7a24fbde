package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// result decodes a frame the plugin returned, copying it (the plugin
// reuses its buffer on the next call).
func result(t *testing.T, b []byte) abi.Frame {
	t.Helper()
	f, err := abi.ParseFrame(append([]byte(nil), b...))
	if err != nil {
		t.Fatalf("frame: %v", err)
	}
	return f
}

func wantStatus(t *testing.T, f abi.Frame, st abi.Status, errPart string) {
	t.Helper()
	if f.Status != st || !strings.Contains(f.Error, errPart) {
		t.Fatalf("frame %s %q; want %s with %q", f.Status, f.Error, st, errPart)
	}
}

func initReq(kind, config string) []byte {
	return []byte(fmt.Sprintf(`{"abi":1,"plugin":"p","kind":%q,"config":%s}`, kind, config))
}

// people is a batch of two records of one schema {id int key, name
// string, email ?string}; the second is an update with a before row.
func people() *abi.Batch {
	return &abi.Batch{
		Schemas: []abi.Schema{{Fields: []abi.Field{
			{Name: "id", Kind: abi.KindInt}, {Name: "name", Kind: abi.KindString}, {Name: "email", Kind: abi.KindString, Nullable: true},
		}, Key: []int{0}}},
		Records: []abi.Record{
			{Stream: "people", Op: abi.OpInsert, After: []Value{Int(1), String("ada"), Null()}},
			{Stream: "people", Op: abi.OpUpdate, HasTime: true, TimeNanos: 42,
				After: []Value{Int(2), String("bob"), String("b@x")}, Before: []Value{Int(2), String("rob"), Null()}},
		},
	}
}

type cfgT struct {
	Field string `json:"field"`
}

func upperPlugin(t *testing.T, encoding string) *plugin {
	t.Helper()
	p := &plugin{}
	var cfg cfgT
	p.registerTransform(Manifest{Name: "upper", Version: "1.0.0", KeepsSchema: true, Encoding: encoding}, func(b *Batch) error {
		for _, r := range b.All() {
			if v, ok := r.Get(cfg.Field); ok && v.Kind == abi.KindString {
				r.Set(cfg.Field, String(strings.ToUpper(v.Str)))
			}
			if r.Stream() == "drop" {
				r.Drop()
			}
		}
		return nil
	})
	p.onInit = func(req *InitRequest) error { return req.DecodeConfig(&cfg) }
	wantStatus(t, result(t, p.init(initReq("transform", `{"field":"name"}`))), abi.StatusOK, "")
	return p
}

func TestManifestFrame(t *testing.T) {
	p := &plugin{}
	p.registerTransform(Manifest{Name: "upper", Version: "1.0.0", KeepsSchema: true, ConfigSchema: json.RawMessage(`{"type":"object"}`)}, func(*Batch) error { return nil })
	f := result(t, p.getManifest())
	wantStatus(t, f, abi.StatusOK, "")
	var m abi.Manifest
	if err := json.Unmarshal(f.Payload, &m); err != nil {
		t.Fatal(err)
	}
	if m.ABI != abi.Version || m.Kind != abi.KindTransform || m.Name != "upper" || !m.KeepsSchema || string(m.ConfigSchema) != `{"type":"object"}` {
		t.Fatalf("manifest %+v", m)
	}
}

func TestRegistrationMistakes(t *testing.T) {
	noop := func(*Batch) error { return nil }
	cases := []struct {
		name string
		reg  func(p *plugin)
		want string
	}{
		{"nothing", func(*plugin) {}, "registered nothing"},
		{"no name", func(p *plugin) { p.registerTransform(Manifest{Version: "1"}, noop) }, "no Name"},
		{"no version", func(p *plugin) { p.registerSink(Manifest{Name: "s"}, noop) }, `manifest "s" has no Version`},
		{"twice", func(p *plugin) {
			p.registerTransform(Manifest{Name: "a", Version: "1"}, noop)
			p.registerSink(Manifest{Name: "b", Version: "1"}, noop)
		}, "registered a sink after a transform"},
		{"encoding", func(p *plugin) { p.registerSink(Manifest{Name: "s", Version: "1", Encoding: "xml"}, noop) }, `Encoding "xml"`},
		{"keeps schema sink", func(p *plugin) { p.registerSink(Manifest{Name: "s", Version: "1", KeepsSchema: true}, noop) }, "KeepsSchema is for transforms"},
		{"bad key", func(p *plugin) {
			p.registerSource(Manifest{Name: "s", Version: "1", Streams: []abi.StreamSpec{{Name: "x", Fields: []abi.FieldSpec{{Name: "a", Type: "int"}}, Key: []string{"b"}}}}, &seqSource{})
		}, `key field "b"`},
		{"bad schema", func(p *plugin) {
			p.registerTransform(Manifest{Name: "a", Version: "1", ConfigSchema: json.RawMessage(`{`)}, noop)
		}, "ConfigSchema is not valid JSON"},
		{"nil func", func(p *plugin) { p.registerTransform(Manifest{Name: "a", Version: "1"}, nil) }, "function is nil"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &plugin{}
			c.reg(p)
			wantStatus(t, result(t, p.getManifest()), abi.StatusError, c.want)
			wantStatus(t, result(t, p.init(initReq("transform", "{}"))), abi.StatusError, c.want)
		})
	}
}

func TestInitChecks(t *testing.T) {
	p := &plugin{}
	p.registerTransform(Manifest{Name: "a", Version: "1"}, func(*Batch) error { return nil })
	in := abi.AppendBatch(nil, people())
	wantStatus(t, result(t, p.transformCall(in)), abi.StatusError, "rivven_transform called before rivven_init succeeded")
	wantStatus(t, result(t, p.init([]byte(`{"abi":2,"kind":"transform"}`))), abi.StatusError, "host speaks plugin ABI 2")
	wantStatus(t, result(t, p.init(initReq("sink", "{}"))), abi.StatusError, "uses the plugin as a sink, but it is a transform")
	wantStatus(t, result(t, p.init([]byte(`{"abi":`))), abi.StatusError, "not valid JSON")
	wantStatus(t, result(t, p.init(initReq("transform", "{}"))), abi.StatusOK, "")
	wantStatus(t, result(t, p.init(initReq("transform", "{}"))), abi.StatusError, "called twice")
	wantStatus(t, result(t, p.poll([]byte{1, 0, 0, 0})), abi.StatusError, "rivven_poll called, but the plugin is a transform, not a source")
	wantStatus(t, result(t, p.transformCall([]byte("RVB\x07"))), abi.StatusError, "the host's batch: batch byte 0: batch version 7")
}

func TestDecodeConfig(t *testing.T) {
	var c cfgT
	req := &InitRequest{abi.InitRequest{Config: json.RawMessage(`{"field":"x","password":"hunter2"}`)}}
	err := req.DecodeConfig(&c)
	if err == nil || !strings.Contains(err.Error(), `unknown field "password"`) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err %v", err)
	}
	req.Config = json.RawMessage(`{"field": 5}`)
	if err := req.DecodeConfig(&c); err == nil || !strings.Contains(err.Error(), "field") {
		t.Fatalf("err %v", err)
	}
	c = cfgT{Field: "default"}
	req.Config = nil
	if err := req.DecodeConfig(&c); err != nil || c.Field != "default" {
		t.Fatalf("absent config: %v %+v", err, c)
	}
}

func TestTransformBinary(t *testing.T) {
	p := upperPlugin(t, "")
	in := people()
	in.Records = append(in.Records, abi.Record{Stream: "drop", After: []Value{Int(3), String("cy"), Null()}})
	f := result(t, p.transformCall(abi.AppendBatch(nil, in)))
	wantStatus(t, f, abi.StatusOK, "")
	out, err := abi.ParseBatch(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Schemas) != 1 || len(out.Schemas[0].Fields) != 3 || len(out.Records) != 3 {
		t.Fatalf("out %+v", out)
	}
	r0, r1, r2 := out.Records[0], out.Records[1], out.Records[2]
	if r0.After[1].Str != "ADA" || r1.After[1].Str != "BOB" || r1.Before[1].Str != "rob" || !r1.HasTime || r1.TimeNanos != 42 {
		t.Fatalf("records %+v %+v", r0, r1)
	}
	if r0.Status != abi.RecordKeep || r2.Status != abi.RecordDrop {
		t.Fatalf("statuses %d %d", r0.Status, r2.Status)
	}
}

func TestTransformJSON(t *testing.T) {
	p := upperPlugin(t, abi.EncodingJSON)
	f := result(t, p.transformCall(abi.AppendBatchJSON(nil, people())))
	wantStatus(t, f, abi.StatusOK, "")
	want := `{"records":[{"stream":"people","op":"insert","after":{"id":1,"name":"ADA","email":null}},` +
		`{"stream":"people","op":"update","time":"1970-01-01T00:00:00.000000042Z","after":{"id":2,"name":"BOB","email":"b@x"},"before":{"id":2,"name":"rob","email":null}}]}`
	if string(f.Payload) != want {
		t.Fatalf("JSON out\n%s\nwant\n%s", f.Payload, want)
	}
	// A binary batch is not JSON: the error says what the host sent wrong.
	wantStatus(t, result(t, p.transformCall(abi.AppendBatch(nil, people()))), abi.StatusError, "the host's batch: JSON batch")
}

func TestTransformError(t *testing.T) {
	p := &plugin{}
	p.registerTransform(Manifest{Name: "a", Version: "1"}, func(*Batch) error { return Retry(errors.New("lookup table not loaded")) })
	result(t, p.init(initReq("transform", "null")))
	// Retry is for sinks: a transform's error is an error.
	wantStatus(t, result(t, p.transformCall(abi.AppendBatch(nil, people()))), abi.StatusError, "lookup table not loaded")
}

//go:noinline
func boom(b *Batch) error {
	if b.Len() > 0 {
		panic("probe: boom")
	}
	return nil
}

func TestPanicFrame(t *testing.T) {
	p := &plugin{}
	p.registerTransform(Manifest{Name: "a", Version: "1"}, boom)
	result(t, p.init(initReq("transform", "{}")))
	f := result(t, p.transformCall(abi.AppendBatch(nil, people())))
	wantStatus(t, f, abi.StatusPanic, "probe: boom\n")
	lines := strings.Split(f.Error, "\n")
	if len(lines) < 3 || !strings.HasSuffix(lines[1], "/sdk.boom") || !strings.Contains(lines[2], "plugin_test.go:") {
		t.Fatalf("panic text should start with the message and the panicking frame:\n%s", f.Error)
	}
	for _, bad := range []string{"(*plugin)", "runtime/debug", "panic(", "+0x", "goroutine"} {
		if strings.Contains(f.Error, bad) {
			t.Errorf("panic text holds %q:\n%s", bad, f.Error)
		}
	}
	// The plugin goes on answering after a panic (the host drops the
	// instance anyway).
	wantStatus(t, result(t, p.transformCall(abi.AppendBatch(nil, &abi.Batch{}))), abi.StatusOK, "")
}

func TestRuntimeErrorPanic(t *testing.T) {
	p := &plugin{}
	p.registerTransform(Manifest{Name: "a", Version: "1"}, func(b *Batch) error {
		var xs []int
		_ = xs[b.Len()]
		return nil
	})
	result(t, p.init(initReq("transform", "{}")))
	f := result(t, p.transformCall(abi.AppendBatch(nil, people())))
	wantStatus(t, f, abi.StatusPanic, "runtime error: index out of range [2] with length 0\n")
	if lines := strings.Split(f.Error, "\n"); !strings.Contains(lines[1], "TestRuntimeErrorPanic") {
		t.Fatalf("the first frame should be the plugin's function, not the runtime's:\n%s", f.Error)
	}
}

// seqSource counts from 1 (or after Resume) to last, as source "seq".
type seqSource struct {
	next, last int
	acked      [][]byte
	tooMany    bool
}

func (s *seqSource) Init(req *InitRequest) error {
	s.next, s.last = 1, 5
	if req.Resume != nil {
		fmt.Sscan(string(req.Resume), &s.next)
		s.next++
	}
	return nil
}

func (s *seqSource) Poll(max int) ([]SourceRecord, bool, error) {
	var out []SourceRecord
	for len(out) < max && s.next <= s.last || s.tooMany && len(out) <= max {
		out = append(out, SourceRecord{Stream: "seq", Op: abi.OpInsert, Position: fmt.Appendf(nil, "%d", s.next),
			After: []Member{Field("n", Int(int64(s.next))), Field("label", String("x"))}})
		s.next++
	}
	return out, s.next > s.last, nil
}

func (s *seqSource) Ack(pos []byte) error {
	s.acked = append(s.acked, pos)
	if string(pos) == "bad" {
		return errors.New("ack of an unknown position")
	}
	return nil
}

var seqManifest = Manifest{Name: "seq", Version: "1.0.0", Streams: []abi.StreamSpec{{
	Name: "seq", Fields: []abi.FieldSpec{{Name: "n", Type: "int"}, {Name: "label", Type: "string", Nullable: true}}, Key: []string{"n"},
}}}

func pollReq(max uint32) []byte { return abi.AppendPollRequest(nil, abi.PollRequest{Max: max}) }

func TestSourceDispatch(t *testing.T) {
	src := &seqSource{}
	p := &plugin{}
	p.registerSource(seqManifest, src)
	wantStatus(t, result(t, p.init([]byte(`{"abi":1,"kind":"source","config":{},"resume":"Mg=="}`))), abi.StatusOK, "") // resume "2"
	f := result(t, p.poll(pollReq(2)))
	wantStatus(t, f, abi.StatusOK, "")
	b, err := abi.ParseBatch(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	want := abi.Schema{Fields: []abi.Field{{Name: "n", Kind: abi.KindInt}, {Name: "label", Kind: abi.KindString, Nullable: true}}, Key: []int{0}}
	if len(b.Schemas) != 1 || fmt.Sprint(b.Schemas[0]) != fmt.Sprint(want) {
		t.Fatalf("schemas %+v; want the declared %+v", b.Schemas, want)
	}
	if len(b.Records) != 2 || b.Records[0].After[0].Int != 3 || string(b.Records[1].Position) != "4" || b.Records[1].Op != abi.OpInsert {
		t.Fatalf("records %+v", b.Records)
	}
	f = result(t, p.poll(pollReq(10)))
	wantStatus(t, f, abi.StatusEnd, "")
	if b, _ := abi.ParseBatch(f.Payload); len(b.Records) != 1 || b.Records[0].After[0].Int != 5 {
		t.Fatalf("last batch %+v", b)
	}

	in := []byte("4")
	wantStatus(t, result(t, p.ack(in)), abi.StatusOK, "")
	in[0] = 'X' // the host's buffer is reused; the source kept a copy
	if string(src.acked[0]) != "4" {
		t.Fatalf("acked %q", src.acked)
	}
	wantStatus(t, result(t, p.ack([]byte("bad"))), abi.StatusError, "ack of an unknown position")

	src.tooMany, src.last = true, 100
	wantStatus(t, result(t, p.poll(pollReq(3))), abi.StatusError, "the source's Poll returned 4 records; the host asked for at most 3")
	wantStatus(t, result(t, p.poll([]byte{1})), abi.StatusError, "rivven_poll: poll request shorter than 4 bytes")
}

// funcSource adapts functions to SourcePlugin.
type funcSource struct {
	poll func(max int) ([]SourceRecord, bool, error)
}

func (funcSource) Init(*InitRequest) error                      { return nil }
func (s funcSource) Poll(max int) ([]SourceRecord, bool, error) { return s.poll(max) }
func (funcSource) Ack([]byte) error                             { return nil }

func TestSourceRecordSchemas(t *testing.T) {
	var recs []SourceRecord
	p := &plugin{}
	p.registerSource(seqManifest, funcSource{func(int) ([]SourceRecord, bool, error) { return recs, false, nil }})
	result(t, p.init(initReq("source", "{}")))

	// Fields other than the declared ones: typed "any", key by name.
	recs = []SourceRecord{
		{Stream: "seq", After: []Member{Field("label", Null()), Field("n", Int(1))}},
		{Stream: "seq", After: []Member{Field("label", String("a")), Field("n", Int(2))}},
		{Stream: "seq", After: []Member{Field("n", Int(3)), Field("label", Null())}, Before: []Member{Field("n", Int(3)), Field("label", String("b"))}},
	}
	f := result(t, p.poll(pollReq(10)))
	wantStatus(t, f, abi.StatusOK, "")
	b, err := abi.ParseBatch(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Schemas) != 2 || b.Records[0].Schema != 0 || b.Records[1].Schema != 0 || b.Records[2].Schema != 1 {
		t.Fatalf("schemas %+v records %+v", b.Schemas, b.Records)
	}
	if s := b.Schemas[0]; s.Fields[0] != (abi.Field{Name: "label", Kind: abi.KindNull, Nullable: true}) || fmt.Sprint(s.Key) != "[1]" {
		t.Fatalf("undeclared field order: %+v", s)
	}

	recs = []SourceRecord{{Stream: "seq", After: []Member{Field("n", String("one")), Field("label", Null())}}}
	wantStatus(t, result(t, p.poll(pollReq(10))), abi.StatusError, `record 0 of Poll (stream "seq"): field "n" holds a string; the manifest declares int`)
	recs = []SourceRecord{{Stream: "seq", After: []Member{Field("n", Int(1))}, Before: []Member{Field("m", Int(1))}}}
	wantStatus(t, result(t, p.poll(pollReq(10))), abi.StatusError, "before row has other fields")
}

func TestSinkDispatch(t *testing.T) {
	var got []string
	var fail error
	p := &plugin{}
	p.registerSink(Manifest{Name: "s", Version: "1"}, func(b *Batch) error {
		for _, r := range b.All() {
			m := Object(r.After()...)
			got = append(got, string(abi.AppendValueJSON(nil, &m)))
		}
		return fail
	})
	closed := false
	p.onShutdown = func() error { closed = true; return nil }
	result(t, p.init(initReq("sink", "{}")))
	wantStatus(t, result(t, p.write(abi.AppendBatch(nil, people()))), abi.StatusOK, "")
	if strings.Join(got, " ") != `{"id":1,"name":"ada","email":null} {"id":2,"name":"bob","email":"b@x"}` {
		t.Fatalf("sink saw %q", got)
	}
	if f := result(t, p.write(abi.AppendBatch(nil, people()))); len(f.Payload) != 0 {
		t.Fatalf("a sink's payload is empty: %q", f.Payload)
	}
	fail = Retry(errors.New("target busy"))
	wantStatus(t, result(t, p.write(abi.AppendBatch(nil, people()))), abi.StatusRetry, "target busy")
	fail = fmt.Errorf("table dropped")
	wantStatus(t, result(t, p.write(abi.AppendBatch(nil, people()))), abi.StatusError, "table dropped")
	fail = fmt.Errorf("wrapped: %w", Retry(errors.New("timeout")))
	wantStatus(t, result(t, p.write(abi.AppendBatch(nil, people()))), abi.StatusRetry, "wrapped: timeout")
	wantStatus(t, result(t, p.shutdown()), abi.StatusOK, "")
	if !closed {
		t.Fatal("OnShutdown not called")
	}
	wantStatus(t, result(t, p.write(abi.AppendBatch(nil, people()))), abi.StatusError, "before rivven_init")
}

func TestAlloc(t *testing.T) {
	p := &plugin{}
	if b := p.alloc(0); len(b) != 0 || cap(b) == 0 {
		t.Fatalf("alloc(0): len %d cap %d; want an address", len(b), cap(b))
	}
	b := p.alloc(10)
	b[0] = 7
	if c := p.alloc(5); &c[0] != &b[0] || len(c) != 5 {
		t.Fatal("a smaller alloc should reuse the buffer")
	}
	if c := p.alloc(1000); len(c) != 1000 {
		t.Fatalf("len %d", len(c))
	}
}
