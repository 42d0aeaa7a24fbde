package datagen

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

func TestRecordEnvelope(t *testing.T) {
	for _, tc := range []struct{ stream, ns, wantStream string }{
		{"", "", "datagen"},
		{"orders", "demo", "orders"},
	} {
		s := mustNew(t, Config{Pattern: "orders", StreamName: tc.stream, Namespace: tc.ns, Seed: 3, HasSeed: true})
		for i, r := range readAll(t, s, 300, 64) {
			switch {
			case r.Stream != tc.wantStream || r.Namespace != tc.ns:
				t.Fatalf("stream %q namespace %q", r.Stream, r.Namespace)
			case r.Op != runtime.OpRecord:
				t.Fatalf("op %s", r.Op)
			case r.Before != nil || r.Meta != nil:
				t.Fatalf("non-CDC record has Before %v / Meta %v", r.Before, r.Meta)
			case !r.Time.Equal(clockTime):
				t.Fatalf("time %s", r.Time)
			case r.Position.Offset != uint64(i):
				t.Fatalf("record %d has offset %d", i, r.Position.Offset)
			}
		}
	}
}

func TestSameSeedSameRecords(t *testing.T) {
	for _, cdc := range []bool{false, true} {
		for _, p := range Patterns {
			cfg := Config{Pattern: p, Seed: 99, HasSeed: true, IncludeSequence: true, IncludeTimestamp: true, CDCMode: cdc}
			// Different batch sizes must not change the records.
			a := readAll(t, mustNew(t, cfg), 1500, 7)
			b := readAll(t, mustNew(t, cfg), 1500, 256)
			for i := range a {
				if da, db := dumpRecord(a[i]), dumpRecord(b[i]); da != db {
					t.Fatalf("%s cdc=%v record %d differs:\n%s\n%s", p, cdc, i, da, db)
				}
			}
			if p == "sequence" && !cdc {
				continue // nothing random to differ
			}
			cfg.Seed = 100
			c := readAll(t, mustNew(t, cfg), 1500, 256)
			same := 0
			for i := range a {
				if dumpRecord(a[i]) == dumpRecord(c[i]) {
					same++
				}
			}
			limit := len(a) / 10
			if p == "sequence" {
				// Only the op sequence is random; inserts at the same
				// position coincide.
				limit = len(a) * 3 / 4
			}
			if same > limit {
				t.Errorf("%s cdc=%v: seeds 99 and 100 give %d identical records of %d", p, cdc, same, len(a))
			}
		}
	}
}

func TestUnseededUsesClock(t *testing.T) {
	cfg := Config{Pattern: "key_value"}
	a := readAll(t, mustNew(t, cfg), 10, 10)
	b := readAll(t, mustNew(t, cfg), 10, 10)
	other, err := New(cfg, func() time.Time { return clockTime.Add(time.Nanosecond) })
	if err != nil {
		t.Fatal(err)
	}
	c := readAll(t, other, 10, 10)
	for i := range a {
		if dumpRecord(a[i]) != dumpRecord(b[i]) {
			t.Fatalf("same clock, different records:\n%s\n%s", dumpRecord(a[i]), dumpRecord(b[i]))
		}
		if dumpRow(a[i].After) == dumpRow(c[i].After) {
			t.Fatalf("different clock seeds, same record %s", dumpRow(a[i].After))
		}
	}
}

func TestMaxEvents(t *testing.T) {
	for _, cdc := range []bool{false, true} {
		for _, tc := range []struct {
			max   int64
			batch int
			want  []int // n of each Read; the last one returns io.EOF
		}{
			{25, 10, []int{10, 10, 5}},
			{20, 10, []int{10, 10}},
			{1, 10, []int{1}},
		} {
			s := mustNew(t, Config{Pattern: "users", MaxEvents: tc.max, Seed: 1, HasSeed: true, CDCMode: cdc})
			buf := make([]runtime.Record, tc.batch)
			var offsets []uint64
			for i, w := range tc.want {
				n, err := s.Read(context.Background(), buf)
				last := i == len(tc.want)-1
				if n != w || last != errors.Is(err, io.EOF) || (!last && err != nil) {
					t.Fatalf("max %d cdc=%v read %d: n=%d err=%v, want n=%d eof=%v", tc.max, cdc, i, n, err, w, last)
				}
				for _, r := range buf[:n] {
					offsets = append(offsets, r.Position.Offset)
				}
			}
			for i := 0; i < 2; i++ {
				if n, err := s.Read(context.Background(), buf); n != 0 || err != io.EOF {
					t.Fatalf("read after the end: n=%d err=%v", n, err)
				}
			}
			if int64(len(offsets)) != tc.max || offsets[len(offsets)-1] != uint64(tc.max-1) {
				t.Fatalf("offsets %v", offsets)
			}
		}
	}
}

func TestEmptyBatch(t *testing.T) {
	s := mustNew(t, Config{EventsPerSecond: 1})
	start := time.Now()
	if n, err := s.Read(context.Background(), nil); n != 0 || err != nil {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("empty read blocked %s", d)
	}
}

func TestSlotSlicesReused(t *testing.T) {
	s := mustNew(t, Config{Pattern: "orders", IncludeSequence: true})
	buf := make([]runtime.Record, 4)
	if _, err := s.Read(context.Background(), buf); err != nil {
		t.Fatal(err)
	}
	first := &buf[2].After[0]
	if _, err := s.Read(context.Background(), buf); err != nil {
		t.Fatal(err)
	}
	if &buf[2].After[0] != first {
		t.Fatal("After slice was not reused")
	}
	if got := buf[2].After[s.Schema().Index("_sequence")].AsInt(); got != 6 {
		t.Fatalf("reused slot holds _sequence %d, want 6", got)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := Schema(Config{Pattern: "user"})
	if err == nil {
		t.Fatal("Schema accepted pattern user")
	}
	if _, err2 := New(Config{Pattern: "user"}, fixedClock); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("New error %v, Schema error %v", err2, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, `"user"`) {
		t.Errorf("error %q does not name the pattern", msg)
	}
	for _, p := range Patterns {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q does not list %s", msg, p)
		}
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{EventsPerSecond: -1}, "events_per_second"},
		{Config{EventsPerSecond: 100_001}, "events_per_second"},
		{Config{MaxEvents: -5}, "max_events"},
		{Config{StreamName: strings.Repeat("s", 256)}, "stream_name"},
		{Config{CustomFields: []CustomField{{Name: "", Value: runtime.Int(1)}}}, "empty name"},
		{Config{CustomFields: []CustomField{{Name: "a", Value: runtime.Int(1)}, {Name: "a", Value: runtime.Int(2)}}}, `"a"`},
		{Config{Pattern: "orders", CustomFields: []CustomField{{Name: "status", Value: runtime.Int(1)}}}, `"status"`},
		{Config{IncludeSequence: true, CustomFields: []CustomField{{Name: "_sequence", Value: runtime.Int(1)}}}, `"_sequence"`},
		{Config{CustomFields: []CustomField{{Name: "gone", Value: runtime.Absent()}}}, `"gone"`},
	} {
		if _, err := New(tc.cfg, fixedClock); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) error %v, want one mentioning %s", tc.cfg, err, tc.want)
		}
	}
	// Not colliding when the optional field is off.
	if _, err := New(Config{CustomFields: []CustomField{{Name: "_sequence", Value: runtime.Int(1)}}}, fixedClock); err != nil {
		t.Errorf("custom _sequence without IncludeSequence: %v", err)
	}
	if _, err := New(Config{EventsPerSecond: 100_000, StreamName: strings.Repeat("s", 255)}, nil); err != nil {
		t.Errorf("limits rejected: %v", err)
	}
}

func TestLifecycleNoOps(t *testing.T) {
	s := mustNew(t, Config{})
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, runtime.Position{Offset: 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRateLimitedSmallBatches(t *testing.T) {
	s := mustNew(t, Config{Pattern: "orders", EventsPerSecond: 20})
	buf := make([]runtime.Record, 100)
	start := time.Now()
	total := 0
	for total < 6 {
		n, err := s.Read(context.Background(), buf)
		if err != nil {
			t.Fatal(err)
		}
		if n < 1 || n > 2 {
			t.Fatalf("rate 20/s read a batch of %d", n)
		}
		total += n
	}
	// 6 events at 20/s with burst 1: at least 5 intervals of 50 ms.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("6 events at 20/s took only %s", d)
	}
}

func TestRateLimitedHighRate(t *testing.T) {
	const eps = 50_000
	s := mustNew(t, Config{Pattern: "sequence", EventsPerSecond: eps})
	buf := make([]runtime.Record, 1024)
	start := time.Now()
	total, reads := 0, 0
	for time.Since(start) < 300*time.Millisecond {
		n, err := s.Read(context.Background(), buf)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		reads++
	}
	elapsed := time.Since(start).Seconds()
	burst := eps / 20
	if upper := int(eps*elapsed) + burst + 1; total > upper {
		t.Fatalf("%d events in %.3fs exceeds rate %d (+burst %d)", total, elapsed, eps, burst)
	}
	if lower := int(eps * elapsed / 5); total < lower {
		t.Fatalf("only %d events in %.3fs at rate %d (%d reads)", total, elapsed, eps, reads)
	}
}

func TestRateLimitedCancel(t *testing.T) {
	s := mustNew(t, Config{Pattern: "orders", EventsPerSecond: 1})
	buf := make([]runtime.Record, 10)
	if n, err := s.Read(context.Background(), buf); n != 1 || err != nil {
		t.Fatalf("first read: n=%d err=%v", n, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	n, err := s.Read(ctx, buf)
	if n != 0 || !errors.Is(err, context.Canceled) || err != ctx.Err() {
		t.Fatalf("cancelled read: n=%d err=%v", n, err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("cancellation took %s", d)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	start = time.Now()
	n, err = s.Read(dctx, buf)
	if n != 0 || err != context.DeadlineExceeded {
		t.Fatalf("deadline read: n=%d err=%v", n, err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 400*time.Millisecond {
		t.Fatalf("deadline read returned after %s, want ≈50ms", d)
	}

	// The cancelled reservations were returned: the next token comes about
	// 1 s after the first one, not later.
	start = time.Now()
	if n, err := s.Read(context.Background(), buf); n != 1 || err != nil {
		t.Fatalf("read after cancel: n=%d err=%v", n, err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("read after cancellation waited %s", d)
	}
}

func TestCancelledContextUnlimited(t *testing.T) {
	s := mustNew(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := s.Read(ctx, make([]runtime.Record, 5)); n != 0 || err != context.Canceled {
		t.Fatalf("n=%d err=%v", n, err)
	}
}
