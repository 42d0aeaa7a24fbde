package s3sink

import (
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// TestRenderTimeVariables: the time variables render as time.Format
// writes them in UTC, years outside 0…9999 and other zones included.
func TestRenderTimeVariables(t *testing.T) {
	parts, err := parseTemplate("{date}|{hour}|{year}|{month}|{day}|{position}")
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range []time.Time{
		time.Date(2026, 3, 4, 22, 30, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 10, 9, 8, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 2, 3, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 2, 3, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 14, 2, 0, 0, 0, time.FixedZone("UTC+5", 5*3600)),
		time.Unix(0, 0),
	} {
		r := runtime.Record{Time: tm}
		got := string(render(nil, parts, &r, "", false, runtime.Position{}))
		u := tm.UTC()
		want := u.Format(time.DateOnly) + "|" + u.Format("15") + "|" + u.Format("2006") + "|" + u.Format("01") + "|" + u.Format("02") + "|\x00"
		if got != want {
			t.Errorf("%v: rendered %q, want %q", tm, got, want)
		}
	}
}
