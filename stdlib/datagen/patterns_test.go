package datagen

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

const sampleN = 3000

// sample returns sampleN records of pattern p (seed 7, fixed clock).
func sample(t *testing.T, p string) []runtime.Record {
	t.Helper()
	s := mustNew(t, Config{Pattern: p, Seed: 7, HasSeed: true})
	recs := readAll(t, s, sampleN, 128)
	if len(recs) != sampleN {
		t.Fatalf("got %d records, want %d", len(recs), sampleN)
	}
	return recs
}

func TestSchemaFieldsPerPattern(t *testing.T) {
	want := map[string]string{
		"sequence":  "value int",
		"random":    "id string, value int, ratio float, active bool, category string",
		"users":     "user_id string, first_name string, last_name string, email string, age int, country string, premium bool, signup_date string",
		"orders":    "order_id string, customer_id string, product string, quantity int, unit_price float, total_amount float, currency string, status string, created_at string",
		"events":    "event_id string, event_type string, sequence int, source string, user_id string, session_id string, payload object{...}",
		"metrics":   "metric_id int, name string, value float, unit string, host string, tags object{env string, region string}, timestamp string",
		"key_value": "key string, value string",
		"":          "id string, value int, ratio float, active bool, category string",
	}
	for p, w := range want {
		sch, err := Schema(Config{Pattern: p})
		if err != nil {
			t.Fatalf("Schema(%q): %v", p, err)
		}
		var parts []string
		for _, f := range sch.Fields {
			if f.Nullable {
				t.Errorf("%q: field %s nullable", p, f.Name)
			}
			parts = append(parts, f.Name+" "+f.Type.String())
		}
		if got := strings.Join(parts, ", "); got != w {
			t.Errorf("Schema(%q) =\n %s\nwant\n %s", p, got, w)
		}
	}
	if len(want)-1 != len(Patterns) {
		t.Fatalf("test covers %d patterns, Patterns has %d", len(want)-1, len(Patterns))
	}
}

func TestRecordsMatchSchemaAllPatterns(t *testing.T) {
	obj := runtime.NewObject(2).Set("a", runtime.Int(1)).Set("b", runtime.Null())
	custom := []CustomField{
		{Name: "env", Value: runtime.String("test")},
		{Name: "version", Value: runtime.Int(1)},
		{Name: "weight", Value: runtime.Float(0.5)},
		{Name: "flag", Value: runtime.Bool(true)},
		{Name: "nothing", Value: runtime.Null()},
		{Name: "obj", Value: runtime.ObjectValue(obj)},
		{Name: "list", Value: runtime.ArrayValue([]runtime.Value{runtime.Int(1), runtime.Int(2)})},
	}
	for _, cdc := range []bool{false, true} {
		for _, p := range Patterns {
			t.Run(fmt.Sprintf("%s/cdc=%v", p, cdc), func(t *testing.T) {
				cfg := Config{Pattern: p, Seed: 1, HasSeed: true, IncludeSequence: true,
					IncludeTimestamp: true, CustomFields: custom, CDCMode: cdc}
				sch, err := Schema(cfg)
				if err != nil {
					t.Fatal(err)
				}
				names := sch.Names()
				base := len(patternFields[pattern(indexOf(Patterns, p))])
				wantTail := []string{"_sequence", "_timestamp", "env", "version", "weight", "flag", "nothing", "obj", "list"}
				if got := strings.Join(names[base:], ","); got != strings.Join(wantTail, ",") {
					t.Fatalf("tail fields %s, want %s", got, strings.Join(wantTail, ","))
				}
				if f := sch.Fields[sch.Index("nothing")]; !f.Nullable || f.Type.Kind != runtime.KindNull {
					t.Fatalf("null custom field: %+v", f)
				}
				if got := sch.Fields[sch.Index("obj")].Type.String(); got != "object{a int, b ?any}" {
					t.Fatalf("obj type %s", got)
				}
				if got := sch.Fields[sch.Index("list")].Type.String(); got != "array<int>" {
					t.Fatalf("list type %s", got)
				}
				s := mustNew(t, cfg)
				if got := strings.Join(s.Schema().Names(), ","); got != strings.Join(names, ",") {
					t.Fatalf("Source.Schema %s != Schema %s", got, strings.Join(names, ","))
				}
				for i, r := range readAll(t, s, 2000, 100) {
					if r.Schema != s.Schema() {
						t.Fatal("record schema is not the source's shared schema")
					}
					if r.After != nil {
						checkRow(t, r.Schema, r.After)
					}
					if r.Before != nil {
						checkRow(t, r.Schema, r.Before)
					}
					row := r.Row()
					// A delete carries the row as last inserted/updated.
					if got := row[base].AsInt(); r.Op != runtime.OpDelete && got != int64(i) || got > int64(i) {
						t.Fatalf("record %d (%s): _sequence %d", i, r.Op, got)
					}
					if got := row[base+1].AsString(); got != clockRFC3339 {
						t.Fatalf("_timestamp %q, want %q", got, clockRFC3339)
					}
					for j, cf := range custom {
						if !row[base+2+j].Equal(cf.Value) || row[base+2+j].Kind() != cf.Value.Kind() {
							t.Fatalf("custom field %s = %v", cf.Name, row[base+2+j])
						}
					}
				}
			})
		}
	}
}

func TestSequencePattern(t *testing.T) {
	for i, r := range sample(t, "sequence") {
		if v := field(t, r, "value"); v.Kind() != runtime.KindInt || v.AsInt() != int64(i) {
			t.Fatalf("record %d: value %v", i, v)
		}
	}
}

func TestRandomPattern(t *testing.T) {
	seenCat := map[string]bool{}
	seenActive := map[bool]bool{}
	ids := map[string]bool{}
	minV, maxV := int64(1000), int64(-1)
	for _, r := range sample(t, "random") {
		id := field(t, r, "id").AsString()
		if !isHex(id, 16) {
			t.Fatalf("id %q is not 16 hex digits", id)
		}
		ids[id] = true
		v := field(t, r, "value").AsInt()
		if v < 0 || v > 999 {
			t.Fatalf("value %d out of 0..999", v)
		}
		minV, maxV = min(minV, v), max(maxV, v)
		ratio := field(t, r, "ratio").AsFloat()
		if ratio < 0 || ratio > 1 || !has2Decimals(ratio) {
			t.Fatalf("ratio %v", ratio)
		}
		c := field(t, r, "category").AsString()
		if !inSet(c, []string{"A", "B", "C", "D"}) {
			t.Fatalf("category %q", c)
		}
		seenCat[c] = true
		seenActive[field(t, r, "active").AsBool()] = true
	}
	if len(seenCat) != 4 || len(seenActive) != 2 || len(ids) < sampleN-1 {
		t.Fatalf("poor coverage: categories %v, active %v, %d distinct ids", seenCat, seenActive, len(ids))
	}
	if minV > 10 || maxV < 990 {
		t.Fatalf("value range %d..%d does not span 0..999", minV, maxV)
	}
}

func TestUsersPattern(t *testing.T) {
	today := clockTime.Truncate(24 * time.Hour)
	oldest := today.AddDate(0, 0, -(3*365 - 1))
	seen := map[string]map[string]bool{"first": {}, "last": {}, "domain": {}, "country": {}}
	minAge, maxAge := int64(100), int64(0)
	for i, r := range sample(t, "users") {
		if got, want := field(t, r, "user_id").AsString(), fmt.Sprintf("user_%08d", i); got != want {
			t.Fatalf("user_id %q, want %q", got, want)
		}
		first := field(t, r, "first_name").AsString()
		last := field(t, r, "last_name").AsString()
		if !inSet(first, firstNames) || !inSet(last, lastNames) {
			t.Fatalf("name %q %q", first, last)
		}
		email := field(t, r, "email").AsString()
		local, domain, ok := strings.Cut(email, "@")
		if !ok || local != strings.ToLower(first)+"."+strings.ToLower(last) || !inSet(domain, domains) {
			t.Fatalf("email %q for %s %s", email, first, last)
		}
		age := field(t, r, "age").AsInt()
		if age < 18 || age > 79 {
			t.Fatalf("age %d", age)
		}
		minAge, maxAge = min(minAge, age), max(maxAge, age)
		country := field(t, r, "country").AsString()
		if !inSet(country, countries) {
			t.Fatalf("country %q", country)
		}
		d, err := time.Parse(time.DateOnly, field(t, r, "signup_date").AsString())
		if err != nil {
			t.Fatal(err)
		}
		if d.After(today) || d.Before(oldest) {
			t.Fatalf("signup_date %s outside %s..%s", d, oldest, today)
		}
		seen["first"][first] = true
		seen["last"][last] = true
		seen["domain"][domain] = true
		seen["country"][country] = true
	}
	for k, n := range map[string]int{"first": 16, "last": 14, "domain": 5, "country": 10} {
		if len(seen[k]) != n {
			t.Errorf("%s: saw %d distinct values, want %d", k, len(seen[k]), n)
		}
	}
	if minAge != 18 || maxAge != 79 {
		t.Errorf("age range %d..%d", minAge, maxAge)
	}
}

func TestOrdersPattern(t *testing.T) {
	seenStatus := map[string]bool{}
	seenProduct := map[string]bool{}
	for i, r := range sample(t, "orders") {
		if got, want := field(t, r, "order_id").AsString(), fmt.Sprintf("ORD-%08d", i); got != want {
			t.Fatalf("order_id %q, want %q", got, want)
		}
		cust := field(t, r, "customer_id").AsString()
		var n int
		if _, err := fmt.Sscanf(cust, "user_%08d", &n); err != nil || n < 1 || n > 9999 || cust != fmt.Sprintf("user_%08d", n) {
			t.Fatalf("customer_id %q", cust)
		}
		p := field(t, r, "product").AsString()
		if !inSet(p, products) {
			t.Fatalf("product %q", p)
		}
		seenProduct[p] = true
		q := field(t, r, "quantity").AsInt()
		if q < 1 || q > 9 {
			t.Fatalf("quantity %d", q)
		}
		price := field(t, r, "unit_price").AsFloat()
		if price < 10 || price > 210 || !has2Decimals(price) {
			t.Fatalf("unit_price %v", price)
		}
		total := field(t, r, "total_amount")
		if total.Kind() != runtime.KindFloat || total.AsFloat() != math.Round(price*float64(q)*100)/100 {
			t.Fatalf("total_amount %v for %v × %d", total, price, q)
		}
		if c := field(t, r, "currency").AsString(); !inSet(c, currencies) {
			t.Fatalf("currency %q", c)
		}
		st := field(t, r, "status").AsString()
		if !inSet(st, statuses) {
			t.Fatalf("status %q", st)
		}
		seenStatus[st] = true
		ts := field(t, r, "created_at").AsString()
		created, err := time.Parse(time.RFC3339, ts)
		if err != nil || !strings.HasSuffix(ts, "Z") {
			t.Fatalf("created_at %q: %v", ts, err)
		}
		if age := clockTime.Sub(created); age < 0 || age > 7*24*time.Hour {
			t.Fatalf("created_at %s is %s before the clock", ts, age)
		}
	}
	if len(seenStatus) != 6 || len(seenProduct) != 10 {
		t.Fatalf("coverage: statuses %v, products %v", seenStatus, seenProduct)
	}
}

func TestEventsPattern(t *testing.T) {
	seenType := map[string]bool{}
	var nullRef, strRef int
	for i, r := range sample(t, "events") {
		id := field(t, r, "event_id").AsString()
		if !strings.HasPrefix(id, "evt_") || !isHex(id[4:], 16) {
			t.Fatalf("event_id %q", id)
		}
		et := field(t, r, "event_type").AsString()
		if !inSet(et, eventTypes) {
			t.Fatalf("event_type %q", et)
		}
		seenType[et] = true
		if got := field(t, r, "sequence").AsInt(); got != int64(i) {
			t.Fatalf("sequence %d, want %d", got, i)
		}
		if src := field(t, r, "source").AsString(); !inSet(src, eventSources) {
			t.Fatalf("source %q", src)
		}
		var n int
		uid := field(t, r, "user_id").AsString()
		if _, err := fmt.Sscanf(uid, "user_%08d", &n); err != nil || n < 1 || n > 9999 || len(uid) != 13 {
			t.Fatalf("user_id %q", uid)
		}
		sess := field(t, r, "session_id").AsString()
		if !strings.HasPrefix(sess, "sess_") || !isHex(sess[5:], 12) {
			t.Fatalf("session_id %q", sess)
		}
		pv := field(t, r, "payload")
		if pv.Kind() != runtime.KindObject {
			t.Fatalf("payload kind %s", pv.Kind())
		}
		p := pv.AsObject()
		keys := strings.Join(p.Keys, ",")
		get := func(k string) runtime.Value { v, _ := p.Get(k); return v }
		switch et {
		case "page_view":
			if keys != "url,referrer,duration_ms" {
				t.Fatalf("page_view keys %s", keys)
			}
			var page int
			url := get("url").AsString()
			if _, err := fmt.Sscanf(url, "/page/%d", &page); err != nil || page < 1 || page > 99 || url != fmt.Sprintf("/page/%d", page) {
				t.Fatalf("url %q", url)
			}
			switch ref := get("referrer"); {
			case ref.Kind() == runtime.KindNull:
				nullRef++
			case ref.AsString() == "https://search.example.com":
				strRef++
			default:
				t.Fatalf("referrer %v", ref)
			}
			if d := get("duration_ms"); d.Kind() != runtime.KindInt || d.AsInt() < 100 || d.AsInt() >= 30000 {
				t.Fatalf("duration_ms %v", d)
			}
		case "click":
			if keys != "element_id,x,y" {
				t.Fatalf("click keys %s", keys)
			}
			var btn int
			el := get("element_id").AsString()
			if _, err := fmt.Sscanf(el, "btn_%d", &btn); err != nil || btn < 1 || btn > 49 || el != fmt.Sprintf("btn_%d", btn) {
				t.Fatalf("element_id %q", el)
			}
			if x, y := get("x"), get("y"); x.Kind() != runtime.KindInt || y.Kind() != runtime.KindInt ||
				x.AsInt() < 0 || x.AsInt() >= 1920 || y.AsInt() < 0 || y.AsInt() >= 1080 {
				t.Fatalf("click at %v,%v", x, y)
			}
		case "purchase":
			if keys != "amount,items" {
				t.Fatalf("purchase keys %s", keys)
			}
			if a := get("amount"); a.Kind() != runtime.KindFloat || a.AsFloat() < 0 || a.AsFloat() > 500 || !has2Decimals(a.AsFloat()) {
				t.Fatalf("amount %v", a)
			}
			if it := get("items"); it.Kind() != runtime.KindInt || it.AsInt() < 1 || it.AsInt() > 9 {
				t.Fatalf("items %v", it)
			}
		default:
			if len(p.Keys) != 0 || len(p.Values) != 0 {
				t.Fatalf("%s payload %s, want {}", et, keys)
			}
		}
	}
	if len(seenType) != 10 || nullRef == 0 || strRef == 0 {
		t.Fatalf("coverage: types %v, referrer null %d / set %d", seenType, nullRef, strRef)
	}
}

func TestMetricsPattern(t *testing.T) {
	units := map[string]string{
		"cpu_usage": "percent", "memory_used": "percent", "error_rate": "percent",
		"latency_ms": "milliseconds", "requests_per_sec": "req/s",
		"disk_io": "bytes/s", "network_rx": "bytes/s", "network_tx": "bytes/s", "queue_depth": "count",
	}
	limits := map[string][2]float64{"percent": {0, 100}, "milliseconds": {1, 501}, "req/s": {0, 10000}, "bytes/s": {0, 1000}, "count": {0, 1000}}
	seenTags := map[string]bool{}
	seenName := map[string]bool{}
	for i, r := range sample(t, "metrics") {
		if got := field(t, r, "metric_id").AsInt(); got != int64(i) {
			t.Fatalf("metric_id %d, want %d", got, i)
		}
		name := field(t, r, "name").AsString()
		unit, ok := units[name]
		if !ok {
			t.Fatalf("name %q", name)
		}
		seenName[name] = true
		if got := field(t, r, "unit").AsString(); got != unit {
			t.Fatalf("unit of %s is %q, want %q", name, got, unit)
		}
		v := field(t, r, "value").AsFloat()
		if lim := limits[unit]; v < lim[0] || v > lim[1] || !has2Decimals(v) {
			t.Fatalf("%s value %v outside %v", name, v, lim)
		}
		if h := field(t, r, "host").AsString(); !inSet(h, hosts) {
			t.Fatalf("host %q", h)
		}
		tags := field(t, r, "tags").AsObject()
		env, _ := tags.Get("env")
		region, _ := tags.Get("region")
		if strings.Join(tags.Keys, ",") != "env,region" || !inSet(env.AsString(), envs) || !inSet(region.AsString(), regions) {
			t.Fatalf("tags %v %v", tags.Keys, tags.Values)
		}
		seenTags[env.AsString()+"/"+region.AsString()] = true
		if ts := field(t, r, "timestamp").AsString(); ts != clockRFC3339 {
			t.Fatalf("timestamp %q, want %q", ts, clockRFC3339)
		}
	}
	if len(seenTags) != 12 || len(seenName) != 9 {
		t.Fatalf("coverage: tags %v, names %v", seenTags, seenName)
	}
}

func TestKeyValuePattern(t *testing.T) {
	vals := map[string]bool{}
	for i, r := range sample(t, "key_value") {
		if got, want := field(t, r, "key").AsString(), fmt.Sprintf("key_%08d", i); got != want {
			t.Fatalf("key %q, want %q", got, want)
		}
		v := field(t, r, "value").AsString()
		if !strings.HasPrefix(v, "value_") || !isHex(v[6:], 16) {
			t.Fatalf("value %q", v)
		}
		vals[v] = true
	}
	if len(vals) < sampleN-1 {
		t.Fatalf("only %d distinct values", len(vals))
	}
}

func TestKeyField(t *testing.T) {
	want := map[string]string{"sequence": "value", "random": "id", "": "id", "users": "user_id",
		"orders": "order_id", "events": "event_id", "metrics": "metric_id", "key_value": "key", "nope": ""}
	for p, w := range want {
		if got := KeyField(p); got != w {
			t.Errorf("KeyField(%q) = %q, want %q", p, got, w)
		}
	}
}
