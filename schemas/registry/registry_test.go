package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rivven/rivven-connect/schemas"
)

// avroRecord returns an Avro record schema named name with the given
// fields (JSON field objects, comma-separated).
func avroRecord(name, fields string) string {
	return fmt.Sprintf(`{"type":"record","name":%q,"fields":[%s]}`, name, fields)
}

var (
	ordersV1 = avroRecord("Order", `{"name":"id","type":"long"}`)
	// ordersV1Spaced is ordersV1 written differently: same canonical form.
	ordersV1Spaced = `{ "name": "Order", "type": "record", "doc": "orders",
		"fields": [ { "type": "long", "name": "id" } ] }`
	ordersV2 = avroRecord("Order", `{"name":"id","type":"long"},{"name":"note","type":"string","default":""}`)
	// ordersBad adds a field without a default: not backward compatible.
	ordersBad = avroRecord("Order", `{"name":"id","type":"long"},{"name":"amount","type":"double"}`)
)

func openDir(t *testing.T, dir string, opts Options) *Registry {
	t.Helper()
	store, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts.Store = store
	r, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRegister(t *testing.T, r *Registry, subject, typ, schema string) Schema {
	t.Helper()
	s, err := r.Register(subject, typ, schema)
	if err != nil {
		t.Fatalf("register %s: %v", subject, err)
	}
	return s
}

func TestRegisterDedupeAndIDs(t *testing.T) {
	r, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a := mustRegister(t, r, "orders-value", "", ordersV1)
	if a.ID != 1 || a.Version != 1 || a.Type != TypeAvro || a.Text != ordersV1 {
		t.Fatalf("first registration = %+v", a)
	}
	again := mustRegister(t, r, "orders-value", "AVRO", ordersV1Spaced)
	if again != a {
		t.Fatalf("identical schema registered again = %+v, want %+v", again, a)
	}
	b := mustRegister(t, r, "orders-value", "", ordersV2)
	if b.ID != 2 || b.Version != 2 {
		t.Fatalf("second version = %+v", b)
	}
	// The first schema again returns its old version, not a new one.
	if s := mustRegister(t, r, "orders-value", "", ordersV1); s.Version != 1 || s.ID != 1 {
		t.Fatalf("re-registering version 1 = %+v", s)
	}
	// Same schema, other subject: same id, version 1 there.
	o := mustRegister(t, r, "archive-value", "", ordersV2)
	if o.ID != 2 || o.Version != 1 {
		t.Fatalf("same schema under another subject = %+v, want id 2 version 1", o)
	}
	if got := strings.Join(r.Subjects(), ","); got != "archive-value,orders-value" {
		t.Fatalf("subjects = %s", got)
	}
	if v, _ := r.Versions("orders-value"); fmt.Sprint(v) != "[1 2]" {
		t.Fatalf("versions = %v", v)
	}
	if s, _ := r.Version("orders-value", Latest); s.ID != 2 || s.Version != 2 {
		t.Fatalf("latest = %+v", s)
	}
	if s, err := r.SchemaByID(1); err != nil || s.Text != ordersV1 || s.Subject != "" {
		t.Fatalf("schema 1 = %+v, %v", s, err)
	}
	if s, err := r.Lookup("orders-value", "", ordersV1Spaced); err != nil || s.Version != 1 || s.ID != 1 {
		t.Fatalf("lookup = %+v, %v", s, err)
	}
	for _, tc := range []struct {
		err  error
		want error
	}{
		{lookupErr(r.Lookup("orders-value", "", ordersBad)), ErrSchemaNotFound},
		{lookupErr(r.Lookup("nope", "", ordersV1)), ErrSubjectNotFound},
		{lookupErr(r.Version("orders-value", 3)), ErrVersionNotFound},
		{lookupErr(r.Version("orders-value", 0)), ErrInvalidVersion},
		{lookupErr(r.SchemaByID(9)), ErrSchemaNotFound},
		{lookupErr(r.Register("x", "", `{"type":"nonsense"}`)), ErrInvalidSchema},
		{lookupErr(r.Register("x", "XML", `<a/>`)), ErrInvalidSchema},
		{lookupErr(r.Register("", "", ordersV1)), ErrInvalidSubject},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("error %v, want %v", tc.err, tc.want)
		}
	}
}

func lookupErr[T any](_ T, err error) error { return err }

func TestIncompatibleNamesField(t *testing.T) {
	r, _ := Open(Options{})
	defer r.Close()
	mustRegister(t, r, "orders-value", "", ordersV1)
	_, err := r.Register("orders-value", "", ordersBad)
	var ce *schemas.CompatError
	if !errors.Is(err, ErrIncompatible) || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want ErrIncompatible wrapping a CompatError", err)
	}
	if ce.Version != 1 || !strings.Contains(err.Error(), "Order.amount") || !strings.Contains(err.Error(), "orders-value") {
		t.Fatalf("error does not name the subject, field and version: %v (version %d)", err, ce.Version)
	}
	if v, _ := r.Versions("orders-value"); len(v) != 1 {
		t.Fatalf("rejected schema was registered: versions %v", v)
	}
	// Under NONE for this subject only, the same schema goes in.
	if _, err := r.SetCompatibility("orders-value", "none"); err != nil {
		t.Fatal(err)
	}
	if s := mustRegister(t, r, "orders-value", "", ordersBad); s.Version != 2 {
		t.Fatalf("registration under NONE = %+v", s)
	}
	if r.Compatibility("other") != schemas.CompatBackward {
		t.Fatalf("global level = %s", r.Compatibility("other"))
	}
	if _, err := r.SetCompatibility("", "sideways"); !errors.Is(err, ErrInvalidCompatibility) {
		t.Fatalf("invalid level: %v", err)
	}
}

func TestCompatibilityVersionsAndTransitive(t *testing.T) {
	r, _ := Open(Options{Compatibility: schemas.CompatNone})
	defer r.Close()
	v1 := avroRecord("R", `{"name":"a","type":"long"}`)
	v2 := avroRecord("R", `{"name":"a","type":"long"},{"name":"b","type":"long"}`)
	v3 := avroRecord("R", `{"name":"a","type":"long"},{"name":"b","type":"long"},{"name":"c","type":"long","default":0}`)
	for _, s := range []string{v1, v2} {
		mustRegister(t, r, "s", "", s)
	}
	// v3 reads v2's data but not v1's (b has no default).
	if err := r.TestCompatibility("s", Latest, "", v3); err != nil {
		t.Fatalf("NONE: %v", err)
	}
	if _, err := r.SetCompatibility("", schemas.CompatBackward); err != nil {
		t.Fatal(err)
	}
	if err := r.TestCompatibility("s", Latest, "", v3); err != nil {
		t.Fatalf("BACKWARD against latest: %v", err)
	}
	err := r.TestCompatibility("s", 1, "", v3)
	var ce *schemas.CompatError
	if !errors.As(err, &ce) || ce.Version != 1 || ce.Changes[0].Path != "R.b" {
		t.Fatalf("BACKWARD against version 1: %v", err)
	}
	if _, err := r.SetCompatibility("s", schemas.CompatBackwardTransitive); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Register("s", "", v3); !errors.As(err, &ce) || ce.Version != 1 {
		t.Fatalf("BACKWARD_TRANSITIVE register: %v", err)
	}
	if err := r.TestCompatibility("s", 2, "", v3); err != nil {
		t.Fatalf("against version 2 only: %v", err)
	}
	if err := r.TestCompatibility("s", 3, "", v3); !errors.Is(err, ErrVersionNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if err := r.TestCompatibility("t", Latest, "", v3); !errors.Is(err, ErrSubjectNotFound) {
		t.Fatalf("missing subject: %v", err)
	}
	// A type change is incompatible under any level but NONE.
	js := `{"type":"object","properties":{"a":{"type":"integer"}}}`
	if _, err := r.Register("s", TypeJSON, js); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "AVRO to JSON") {
		t.Fatalf("type change: %v", err)
	}
}

func TestJSONSchemaType(t *testing.T) {
	r, _ := Open(Options{})
	defer r.Close()
	a := mustRegister(t, r, "j", "json", `{"type":"object","properties":{"x":{"type":"string"}}}`)
	b := mustRegister(t, r, "j", "JSON", `{"properties": {"x": {"type": "string"}}, "type": "object"}`)
	if a != b || a.Type != TypeJSON {
		t.Fatalf("key order changed the schema: %+v %+v", a, b)
	}
	// Requiring a property the previous version left optional is not
	// backward compatible.
	_, err := r.Register("j", "JSON", `{"type":"object","properties":{"x":{"type":"string"}},"required":["x"]}`)
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "$.x") {
		t.Fatalf("required property: %v", err)
	}
	if _, err := r.Register("j2", "JSON", `[1]`); !errors.Is(err, ErrInvalidSchema) {
		t.Fatalf("array as JSON Schema: %v", err)
	}
}

// lineFormat is an injected format: schemas are lists of lines, canonical
// when sorted; a candidate must keep every line of the previous versions.
var lineFormat = Format{
	Canonical: func(s string) (string, error) {
		if s == "" {
			return "", errors.New("empty schema")
		}
		lines := strings.Split(s, "\n")
		slices.Sort(lines)
		return strings.Join(lines, "\n"), nil
	},
	Check: func(level schemas.Compatibility, candidate string, previous []string) error {
		for i, p := range previous {
			for _, l := range strings.Split(p, "\n") {
				if !strings.Contains("\n"+candidate+"\n", "\n"+l+"\n") {
					return &schemas.CompatError{Level: level, Version: i + 1, Direction: "backward",
						Changes: []schemas.Incompatibility{{Path: l, Reason: "line removed"}}}
				}
			}
		}
		return nil
	},
}

func TestInjectedFormat(t *testing.T) {
	dir := t.TempDir()
	r := openDir(t, dir, Options{Formats: map[string]Format{TypeProtobuf: lineFormat}})
	a := mustRegister(t, r, "p", "protobuf", "a\nb")
	if b := mustRegister(t, r, "p", TypeProtobuf, "b\na"); b != a {
		t.Fatalf("canonical dedupe: %+v vs %+v", b, a)
	}
	mustRegister(t, r, "p", TypeProtobuf, "a\nb\nc")
	if _, err := r.Register("p", TypeProtobuf, "a\nc"); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "b: line removed") {
		t.Fatalf("injected check: %v", err)
	}
	if got := strings.Join(r.Types(), ","); got != "AVRO,JSON,PROTOBUF" {
		t.Fatalf("types = %s", got)
	}
	r.Close()
	// Replay trusts the logged canonical form: the format need not be
	// configured to read the log back.
	r = openDir(t, dir, Options{})
	defer r.Close()
	if s, err := r.Version("p", Latest); err != nil || s.ID != 2 || s.Type != TypeProtobuf {
		t.Fatalf("after restart: %+v, %v", s, err)
	}
	if _, err := Open(Options{Formats: map[string]Format{"proto": lineFormat}}); err == nil {
		t.Fatal("lower-case format name accepted")
	}
}

func TestRestartKeepsIDsAndConfig(t *testing.T) {
	dir := t.TempDir()
	r := openDir(t, dir, Options{})
	mustRegister(t, r, "a-value", "", ordersV1)
	mustRegister(t, r, "a-value", "", ordersV2)
	mustRegister(t, r, "b-value", "", ordersV2)
	if _, err := r.SetCompatibility("", schemas.CompatFull); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetCompatibility("b-value", schemas.CompatNone); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteSubject("a-value"); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Register("c", "", ordersV1); !errors.Is(err, ErrBackend) {
		t.Fatalf("register after close: %v", err)
	}

	r = openDir(t, dir, Options{Compatibility: schemas.CompatNone})
	defer r.Close()
	if got := r.Compatibility(""); got != schemas.CompatFull {
		t.Fatalf("global level after restart = %s, want the logged FULL", got)
	}
	if got, ok := r.SubjectCompatibility("b-value"); !ok || got != schemas.CompatNone {
		t.Fatalf("subject level after restart = %s %v", got, ok)
	}
	if _, err := r.Versions("a-value"); !errors.Is(err, ErrSubjectNotFound) {
		t.Fatalf("deleted subject: %v", err)
	}
	if s, err := r.SchemaByID(1); err != nil || s.Text != ordersV1 {
		t.Fatalf("id 1 after delete and restart: %+v %v", s, err)
	}
	// Re-registering reuses ids and restarts versions; new schemas get
	// fresh ids.
	if s := mustRegister(t, r, "a-value", "", ordersV2); s.ID != 2 || s.Version != 1 {
		t.Fatalf("re-register = %+v", s)
	}
	if s := mustRegister(t, r, "d-value", "", avroRecord("D", `{"name":"x","type":"int"}`)); s.ID != 3 {
		t.Fatalf("new schema id = %d, want 3", s.ID)
	}
}

func TestConcurrentRegister(t *testing.T) {
	r := openDir(t, t.TempDir(), Options{Compatibility: schemas.CompatNone})
	defer r.Close()
	const n = 8
	ids := make([][2]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Two goroutines per schema, each on its own subject.
			s := avroRecord("R", fmt.Sprintf(`{"name":"f%d","type":"long"}`, i/2))
			a, err := r.Register(fmt.Sprintf("s%d", i), "", s)
			if err != nil {
				t.Error(err)
			}
			b, err := r.Register("shared", "", s)
			if err != nil {
				t.Error(err)
			}
			ids[i] = [2]int{a.ID, b.ID}
		})
	}
	wg.Wait()
	byID := map[int]int{}
	for i, p := range ids {
		if p[0] != p[1] {
			t.Fatalf("goroutine %d: ids %v differ for one schema", i, p)
		}
		byID[p[0]] = i / 2
	}
	if len(byID) != n/2 {
		t.Fatalf("ids %v: want %d distinct", ids, n/2)
	}
	if v, _ := r.Versions("shared"); len(v) != n/2 {
		t.Fatalf("shared versions = %v", v)
	}
}
