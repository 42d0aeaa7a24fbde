package datagen

import (
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/rivven/rivven-connect/runtime"
)

// generator produces the pattern fields of rows. It owns the RNG and the
// per-source caches; it is used by one goroutine.
type generator struct {
	pat pattern
	rng *rand.PCG
	buf []byte // scratch for building strings

	nowSec int64  // second of nowStr
	nowStr string // RFC 3339 of nowSec; "" = not yet built

	dayBase int64    // day number that dates is relative to
	dates   []string // dates[k] = date of dayBase-k; "" = not yet built
	emails  []string // by emailIndex; "" = not yet built

	users   []string // userIDs()
	pages   []string // pageURLs()
	buttons []string // buttonIDs()

	empty runtime.Value   // the shared {} payload
	tags  []runtime.Value // shared tag objects, index env*len(regions)+region
}

const signupDays = 3 * 365    // signup_date is within the last 3 years
const createdSecs = 7 * 86400 // created_at is within the last 7 days

// seedStream is the second PCG seed word; any constant works.
const seedStream = 0x9e3779b97f4a7c15

func newGenerator(p pattern, seed uint64) *generator { return newGeneratorStream(p, seed, 0) }

// newGeneratorStream is newGenerator drawing from the PCG stream of seed
// numbered stream (a task's, Source.Split).
func newGeneratorStream(p pattern, seed, stream uint64) *generator {
	g := &generator{
		pat:     p,
		rng:     rand.NewPCG(seed, seedStream+2*stream),
		buf:     make([]byte, 0, 64),
		dayBase: math.MinInt64,
	}
	switch p {
	case patUsers:
		g.dates = make([]string, signupDays)
		g.emails = make([]string, len(firstNames)*len(lastNames)*len(domains))
		g.users = userIDs()
	case patOrders:
		g.users = userIDs()
	case patEvents:
		g.users = userIDs()
		g.pages = pageURLs()
		g.buttons = buttonIDs()
		g.empty = runtime.ObjectValue(&runtime.Object{Keys: []string{}, Values: []runtime.Value{}})
	case patMetrics:
		g.tags = make([]runtime.Value, 0, len(envs)*len(regions))
		for _, e := range envs {
			for _, r := range regions {
				g.tags = append(g.tags, runtime.ObjectValue(&runtime.Object{
					Keys:   tagKeys,
					Values: []runtime.Value{runtime.String(e), runtime.String(r)},
				}))
			}
		}
	}
	return g
}

// Keys of the nested objects. Objects share these slices; len == cap, so
// an Object.Set of a new key copies instead of writing into them.
var (
	tagKeys      = []string{"env", "region"}
	pageViewKeys = []string{"url", "referrer", "duration_ms"}
	clickKeys    = []string{"element_id", "x", "y"}
	purchaseKeys = []string{"amount", "items"}
)

// ---- RNG helpers (concrete PCG calls, no interface dispatch) ----

// intn returns a uniform int in [0, n), n > 0 (Lemire's method).
func (g *generator) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(g.rng.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(g.rng.Uint64(), un)
		}
	}
	return int(hi)
}

// float returns a uniform float64 in [0, 1).
func (g *generator) float() float64 {
	return float64(g.rng.Uint64()>>11) * 0x1p-53
}

func (g *generator) coin() bool {
	return g.rng.Uint64()>>63 != 0
}

// ---- string caches ----

// nowString returns the RFC 3339 form of the Unix second sec, reusing the
// previous string while the second does not change.
func (g *generator) nowString(sec int64) string {
	if sec != g.nowSec || g.nowStr == "" {
		g.buf = appendRFC3339(g.buf[:0], sec)
		g.nowStr = string(g.buf)
		g.nowSec = sec
	}
	return g.nowStr
}

// date returns "YYYY-MM-DD" of the day k days before today (0 <= k <
// signupDays), cached per day.
func (g *generator) date(today int64, k int) string {
	if today != g.dayBase {
		clear(g.dates)
		g.dayBase = today
	}
	s := g.dates[k]
	if s == "" {
		g.buf = appendDate(g.buf[:0], today-int64(k))
		s = string(g.buf)
		g.dates[k] = s
	}
	return s
}

// email returns first.last@domain in lower case for the table indexes.
func (g *generator) email(f, l, d int) string {
	i := (f*len(lastNames)+l)*len(domains) + d
	s := g.emails[i]
	if s == "" {
		b := append(g.buf[:0], lowerFirst[f]...)
		b = append(b, '.')
		b = append(b, lowerLast[l]...)
		b = append(b, '@')
		b = append(b, domains[d]...)
		g.buf = b
		s = string(b)
		g.emails[i] = s
	}
	return s
}

// userID returns "user_%08d" of n.
func (g *generator) userID(n uint64) string {
	if n < uint64(len(g.users)) {
		return g.users[n]
	}
	b := append(g.buf[:0], "user_"...)
	g.buf = appendPad8(b, n)
	return string(g.buf)
}

// ---- pattern generators: each appends the pattern's fields, in the order
// of patternFields, to dst. seq is the record's sequence number and sec the
// clock's Unix second. ----

func (g *generator) sequence(dst []runtime.Value, seq uint64) []runtime.Value {
	return append(dst, runtime.Int(int64(seq)))
}

func (g *generator) random(dst []runtime.Value) []runtime.Value {
	id := g.rng.Uint64()
	value := g.intn(1000)
	ratio := round2(g.float())
	active := g.coin()
	cat := g.intn(len(categories))
	g.buf = appendHex(g.buf[:0], id, 16)
	return append(dst,
		runtime.String(string(g.buf)),
		runtime.Int(int64(value)),
		runtime.Float(ratio),
		runtime.Bool(active),
		runtime.String(categories[cat]),
	)
}

func (g *generator) usersRow(dst []runtime.Value, seq uint64, sec int64) []runtime.Value {
	f := g.intn(len(firstNames))
	l := g.intn(len(lastNames))
	d := g.intn(len(domains))
	c := g.intn(len(countries))
	age := 18 + g.intn(62)
	premium := g.coin()
	ago := g.intn(signupDays)
	today, _ := splitUnix(sec)
	return append(dst,
		runtime.String(g.userID(seq)),
		runtime.String(firstNames[f]),
		runtime.String(lastNames[l]),
		runtime.String(g.email(f, l, d)),
		runtime.Int(int64(age)),
		runtime.String(countries[c]),
		runtime.Bool(premium),
		runtime.String(g.date(today, ago)),
	)
}

func (g *generator) orders(dst []runtime.Value, seq uint64, sec int64) []runtime.Value {
	prod := g.intn(len(products))
	qty := 1 + g.intn(9)
	price := round2(10 + g.float()*200)
	cust := 1 + g.intn(maxCustomer)
	cur := g.intn(len(currencies))
	st := g.intn(len(statuses))
	ago := g.intn(createdSecs)
	// order_id and created_at share one allocation.
	b := append(g.buf[:0], "ORD-"...)
	b = appendPad8(b, seq)
	split := len(b)
	b = appendRFC3339(b, sec-int64(ago))
	g.buf = b
	s := string(b)
	return append(dst,
		runtime.String(s[:split]),
		runtime.String(g.users[cust]),
		runtime.String(products[prod]),
		runtime.Int(int64(qty)),
		runtime.Float(price),
		runtime.Float(round2(price*float64(qty))),
		runtime.String(currencies[cur]),
		runtime.String(statuses[st]),
		runtime.String(s[split:]),
	)
}

func (g *generator) events(dst []runtime.Value, seq uint64) []runtime.Value {
	evt := g.rng.Uint64()
	et := g.intn(len(eventTypes))
	src := g.intn(len(eventSources))
	user := 1 + g.intn(maxCustomer)
	sess := g.rng.Uint64() >> 16
	// event_id and session_id share one allocation.
	b := append(g.buf[:0], "evt_"...)
	b = appendHex(b, evt, 16)
	split := len(b)
	b = append(b, "sess_"...)
	b = appendHex(b, sess, 12)
	g.buf = b
	s := string(b)
	return append(dst,
		runtime.String(s[:split]),
		runtime.String(eventTypes[et]),
		runtime.Int(int64(seq)),
		runtime.String(eventSources[src]),
		runtime.String(g.users[user]),
		runtime.String(s[split:]),
		g.payload(et),
	)
}

// payloadObj holds a payload object and its values in one allocation.
type payloadObj struct {
	obj  runtime.Object
	vals [3]runtime.Value
}

// payload returns the payload of an event of type eventTypes[et]:
// page_view {url, referrer (string or null), duration_ms}, click
// {element_id, x, y}, purchase {amount, items}, otherwise {}.
func (g *generator) payload(et int) runtime.Value {
	switch et {
	case evPageView:
		page := 1 + g.intn(maxPage)
		ref := g.coin()
		dur := 100 + g.intn(29900)
		p := &payloadObj{}
		p.vals[0] = runtime.String(g.pages[page])
		if ref {
			p.vals[1] = runtime.String(referrerURL)
		}
		p.vals[2] = runtime.Int(int64(dur))
		p.obj = runtime.Object{Keys: pageViewKeys, Values: p.vals[:]}
		return runtime.ObjectValue(&p.obj)
	case evClick:
		btn := 1 + g.intn(maxButton)
		x := g.intn(1920)
		y := g.intn(1080)
		p := &payloadObj{}
		p.vals[0] = runtime.String(g.buttons[btn])
		p.vals[1] = runtime.Int(int64(x))
		p.vals[2] = runtime.Int(int64(y))
		p.obj = runtime.Object{Keys: clickKeys, Values: p.vals[:]}
		return runtime.ObjectValue(&p.obj)
	case evPurchase:
		amount := round2(g.float() * 500)
		items := 1 + g.intn(9)
		p := &payloadObj{}
		p.vals[0] = runtime.Float(amount)
		p.vals[1] = runtime.Int(int64(items))
		p.obj = runtime.Object{Keys: purchaseKeys, Values: p.vals[:2:2]}
		return runtime.ObjectValue(&p.obj)
	}
	return g.empty
}

// metricValue draws a reading of metricNames[m], rounded to 2 decimals.
func (g *generator) metricValue(m int) float64 {
	spec := metricSpecs[m]
	return round2(spec.lo + g.float()*spec.span)
}

func (g *generator) metrics(dst []runtime.Value, seq uint64, sec int64) []runtime.Value {
	m := g.intn(len(metricNames))
	h := g.intn(len(hosts))
	v := g.metricValue(m)
	env := g.intn(len(envs))
	reg := g.intn(len(regions))
	return append(dst,
		runtime.Int(int64(seq)),
		runtime.String(metricNames[m]),
		runtime.Float(v),
		runtime.String(metricSpecs[m].unit),
		runtime.String(hosts[h]),
		g.tags[env*len(regions)+reg],
		runtime.String(g.nowString(sec)),
	)
}

func (g *generator) keyValue(dst []runtime.Value, seq uint64) []runtime.Value {
	v := g.rng.Uint64()
	// key and value share one allocation.
	b := append(g.buf[:0], "key_"...)
	b = appendPad8(b, seq)
	split := len(b)
	b = append(b, "value_"...)
	b = appendHex(b, v, 16)
	g.buf = b
	s := string(b)
	return append(dst, runtime.String(s[:split]), runtime.String(s[split:]))
}

// row appends the pattern fields of record seq to dst.
func (g *generator) row(dst []runtime.Value, seq uint64, sec int64) []runtime.Value {
	switch g.pat {
	case patSequence:
		return g.sequence(dst, seq)
	case patRandom:
		return g.random(dst)
	case patUsers:
		return g.usersRow(dst, seq, sec)
	case patOrders:
		return g.orders(dst, seq, sec)
	case patEvents:
		return g.events(dst, seq)
	case patMetrics:
		return g.metrics(dst, seq, sec)
	default:
		return g.keyValue(dst, seq)
	}
}
