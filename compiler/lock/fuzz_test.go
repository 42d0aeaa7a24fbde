package lock_test

import (
	"testing"

	"github.com/rivven/rivven-connect/compiler/lock"
)

// FuzzParse: any bytes give a lock or positioned errors, never a panic;
// a lock that parses writes back to a text that parses to the same text.
func FuzzParse(f *testing.F) {
	f.Add(string(lock.Write(sample(), "c.yaml")))
	f.Add("version: 1\nsources:\n  db:\n    connector: x\n    streams:\n      - {name: t, key: [a], columns: [{name: a, kind: \"object{a ?int, ...}\"}]}\n")
	f.Add("version: 1\nsources: {db: {connector: c, streams: [{name: t, columns: [{name: b, kind: array<array<>}]}]}}\n")
	f.Fuzz(func(t *testing.T, text string) {
		l, errs := lock.Parse("f.lock.yaml", []byte(text))
		for _, e := range errs {
			if e.Pos.Line == 0 {
				t.Fatalf("unpositioned error %v for %q", e, text)
			}
		}
		if l == nil {
			return
		}
		once := lock.Write(l, "c.yaml")
		l2, errs := lock.Parse("f.lock.yaml", once)
		if len(errs) > 0 {
			t.Fatalf("written lock does not parse: %v\n%s", errs, once)
		}
		if twice := lock.Write(l2, "c.yaml"); string(twice) != string(once) {
			t.Fatalf("write/parse not stable:\n%s\n---\n%s", once, twice)
		}
	})
}
