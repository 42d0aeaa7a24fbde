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

// TestGroupKeysFollowTheRecords: groupKeys, which renders again only
// when a variable of the template differs from the last record's, gives
// every record the key render gives it: across hours (before 1970 and in
// other zones too), streams, namespaces and partitions, for templates
// with and without {part}.
func TestGroupKeysFollowTheRecords(t *testing.T) {
	base := time.Date(2026, 3, 4, 22, 59, 58, 0, time.UTC)
	var recs []runtime.Record
	for i := range 40 {
		r := runtime.Record{Stream: "s", Time: base.Add(time.Duration(i) * 700 * time.Millisecond)}
		switch {
		case i%11 == 3:
			r.Stream = "t"
		case i%13 == 5:
			r.Namespace = "ns"
		}
		if i%7 == 2 {
			r.Meta = runtime.NewObject(1).Set("partition", runtime.Int(int64(i%3)))
		}
		recs = append(recs, r)
	}
	for _, tm := range []time.Time{
		time.Unix(-1, 0), time.Unix(-3600, 0), time.Unix(-3601, 0), time.Unix(0, 0), time.Unix(3599, 999),
		time.Date(2026, 10, 14, 2, 59, 59, 0, time.FixedZone("UTC+5", 5*3600)),
		time.Date(2026, 10, 14, 3, 0, 0, 0, time.FixedZone("UTC+5", 5*3600)),
		time.Date(10000, 1, 2, 3, 0, 0, 0, time.UTC), time.Date(-5, 1, 2, 3, 59, 0, 0, time.UTC),
	} {
		recs = append(recs, runtime.Record{Stream: "s", Time: tm})
	}
	for _, tmpl := range []string{DefaultKeyTemplate, "{namespace}/{year}{month}{day}/{stream}-{position}", "{position}"} {
		parts, err := parseTemplate(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		k := newGroupKeys(parts)
		for i := range recs {
			want := string(render(nil, parts, &recs[i], "", false, runtime.Position{}))
			if got := k.of(parts, &recs[i]); got != want {
				t.Errorf("%s: record %d (%s/%s at %v): key %q, want %q", tmpl, i, recs[i].Namespace, recs[i].Stream, recs[i].Time, got, want)
			}
		}
	}
}
