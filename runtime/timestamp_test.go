package runtime

import (
	"math/rand/v2"
	"testing"
	"time"
)

// AppendTimestamp writes what AppendFormat writes, for times of every
// range and zone (the years outside 0–9999 take AppendFormat itself).
func TestAppendTimestampIsAppendFormat(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("x", -7*3600-30*60), time.FixedZone("y", 14*3600)}
	times := []time.Time{
		{}, time.Unix(0, 0), time.Unix(-1, 999_999_999), time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 1e6, time.UTC),
		time.Date(2024, 2, 29, 12, 34, 56, 7e6, time.UTC),
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		times = append(times, time.Unix(rnd.Int64N(1<<40)-1<<39, rnd.Int64N(1e9)))
	}
	for i, tm := range times {
		tm = tm.In(zones[i%len(zones)])
		want := tm.UTC().AppendFormat(nil, "2006-01-02T15:04:05.000Z07:00")
		if got := AppendTimestamp([]byte("x"), tm); string(got[1:]) != string(want) || got[0] != 'x' {
			t.Fatalf("%v: %s, want %s", tm, got[1:], want)
		}
	}
}
