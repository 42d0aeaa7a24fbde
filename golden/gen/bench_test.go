package gen_test

import (
	"context"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/golden/gen"
	"github.com/rivven/rivven-connect/golden/goldentest"
	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/datagen"
	"github.com/rivven/rivven-connect/stdlib/mask"
	"github.com/rivven/rivven-connect/stdlib/ops"
)

// programs returns the interpreted and the compiled program of a golden
// case's first pipeline.
func programs(b *testing.B, name string) (interp, compiled runtime.Program) {
	b.Helper()
	cases, err := goldentest.Load("..")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range cases {
		if c.Name != name {
			continue
		}
		p, errs := compiler.Compile("pipeline.yaml", []byte(c.Sections["pipeline.yaml"]), c.Lookup)
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		env := runtime.Env{Now: goldentest.Clock, Stdout: io.Discard, Stderr: io.Discard}
		ip, err := compiler.Interpret(p, env)
		if err != nil {
			b.Fatal(err)
		}
		cp, err := gen.Cases[name].Build(env, c.Lookup)
		if err != nil {
			b.Fatal(err)
		}
		return ip[0].Program, cp[0].Program
	}
	b.Fatalf("no golden case %s", name)
	return nil, nil
}

func records(b *testing.B, pattern string, seed int64) []runtime.Record {
	src, err := datagen.New(datagen.Config{Pattern: pattern, MaxEvents: 1024, Seed: seed, HasSeed: true}, goldentest.Clock)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]runtime.Record, 1024)
	n, _ := src.Read(context.Background(), recs)
	return recs[:n]
}

func bench(b *testing.B, recs []runtime.Record, p runtime.Program) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := p.Process(&recs[i&1023]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQuickstart compares the quick-start chain (filter + redact)
// compiled, interpreted and hand-written (the baseline).
func BenchmarkQuickstart(b *testing.B) {
	recs := records(b, "orders", 42)
	ip, cp := programs(b, "quickstart")
	b.Run("baseline", func(b *testing.B) {
		bench(b, recs, runtime.ProgramFunc(func(r *runtime.Record) (bool, error) {
			row := r.After
			if !(row[5].AsFloat() > 100 && row[7].AsString() != "cancelled") {
				return false, nil
			}
			row[1] = runtime.String(mask.Asterisks(utf8.RuneCountInString(row[1].AsString())))
			return true, nil
		}))
	})
	b.Run("interp", func(b *testing.B) { bench(b, recs, ip) })
	b.Run("compiled", func(b *testing.B) { bench(b, recs, cp) })
}

// BenchmarkChain5 compares a chain of 5 transforms (2 filters, hash,
// partial, conditional redact).
func BenchmarkChain5(b *testing.B) {
	recs := records(b, "users", 8)
	ip, cp := programs(b, "chain-5")
	countries := []runtime.Value{runtime.String("US"), runtime.String("UK"), runtime.String("DE"), runtime.String("FR"), runtime.String("JP"), runtime.String("CA")}
	b.Run("baseline", func(b *testing.B) {
		bench(b, recs, runtime.ProgramFunc(func(r *runtime.Record) (bool, error) {
			row := r.After
			if row[4].AsInt() < 21 {
				return false, nil
			}
			email := row[3].AsString()
			if len(email) >= 8 && email[len(email)-8:] == "test.org" || !ops.In(row[5], countries) {
				return false, nil
			}
			row[3] = mask.HashValue(row[3], "s4lt")
			row[2] = mask.PartialValue(row[2], 1, 0)
			if row[6].AsBool() {
				row[7] = mask.RedactValue(row[7])
			}
			return true, nil
		}))
	})
	b.Run("interp", func(b *testing.B) { bench(b, recs, ip) })
	b.Run("compiled", func(b *testing.B) { bench(b, recs, cp) })
}
