package datagen

import (
	"strconv"
	"strings"
	"sync"
)

// Value tables of the patterns, as in the original rivven-connect. The
// generators pick from them by index, so the strings in records are these
// constants (no allocation).
var (
	categories = []string{"A", "B", "C", "D"}

	firstNames = []string{
		"Alice", "Bob", "Carol", "David", "Eve", "Frank", "Grace", "Henry",
		"Ivy", "Jack", "Kate", "Leo", "Mia", "Noah", "Olivia", "Peter",
	}
	lastNames = []string{
		"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
		"Davis", "Martinez", "Anderson", "Taylor", "Thomas", "Moore", "White",
	}
	domains   = []string{"example.com", "test.org", "demo.net", "mail.io", "acme.co"}
	countries = []string{"US", "UK", "DE", "FR", "JP", "AU", "CA", "BR", "IN", "MX"}

	products = []string{
		"Widget Pro", "Gadget X", "Super Tool", "Mega Device", "Ultra Kit",
		"Power Pack", "Smart Hub", "Data Box", "Cloud Unit", "Sync Module",
	}
	currencies = []string{"USD", "EUR", "GBP", "JPY", "AUD"}
	// statuses is in lifecycle order; CDC updates advance along it.
	statuses = []string{"pending", "confirmed", "processing", "shipped", "delivered", "cancelled"}

	eventTypes = []string{
		"page_view", "click", "signup", "purchase", "logout", "error",
		"search", "add_to_cart", "remove_from_cart", "checkout",
	}
	eventSources = []string{"web", "mobile_ios", "mobile_android", "api", "webhook"}

	metricNames = []string{
		"cpu_usage", "memory_used", "disk_io", "network_rx", "network_tx",
		"requests_per_sec", "latency_ms", "error_rate", "queue_depth",
	}
	hosts   = []string{"web-01", "web-02", "api-01", "api-02", "db-01", "cache-01"}
	envs    = []string{"prod", "staging", "dev"}
	regions = []string{"us-east", "us-west", "eu-west", "ap-south"}
)

// Indexes into the tables that the generators branch on.
const (
	statusShipped   = 3
	statusDelivered = 4
	statusCancelled = 5

	evPageView = 0
	evClick    = 1
	evPurchase = 3
)

const referrerURL = "https://search.example.com"

// metricSpec is the unit and value range (lo + [0, span)) of a metric name.
type metricSpec struct {
	unit     string
	lo, span float64
}

// metricSpecs is indexed like metricNames.
var metricSpecs = []metricSpec{
	{"percent", 0, 100},      // cpu_usage
	{"percent", 0, 100},      // memory_used
	{"bytes/s", 0, 1000},     // disk_io
	{"bytes/s", 0, 1000},     // network_rx
	{"bytes/s", 0, 1000},     // network_tx
	{"req/s", 0, 10000},      // requests_per_sec
	{"milliseconds", 1, 500}, // latency_ms
	{"percent", 0, 100},      // error_rate
	{"count", 0, 1000},       // queue_depth
}

// Lower-case names for e-mail addresses, indexed like the name tables.
var (
	lowerFirst = lowerAll(firstNames)
	lowerLast  = lowerAll(lastNames)
)

func lowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

// Number ranges of the generated ids.
const (
	maxCustomer = 9999 // customer_id and events.user_id are user_00000001..user_00009999
	maxPage     = 99   // page_view url is /page/1../page/99
	maxButton   = 49   // click element_id is btn_1..btn_49
)

// Lazily built string tables for small numeric ids: userIDs()[n] is
// "user_%08d" of n for n in 0..maxCustomer, pageURLs()[n] is "/page/n",
// buttonIDs()[n] is "btn_n". Each table's strings are substrings of one
// allocation, shared read-only by every source.
var (
	userIDs   = sync.OnceValue(func() []string { return numbered("user_", maxCustomer, true) })
	pageURLs  = sync.OnceValue(func() []string { return numbered("/page/", maxPage, false) })
	buttonIDs = sync.OnceValue(func() []string { return numbered("btn_", maxButton, false) })
)

// numbered returns prefix+n for n in 0..max, zero-padded to 8 digits when
// pad is set.
func numbered(prefix string, max int, pad bool) []string {
	var b []byte
	ends := make([]int, max+1)
	for n := 0; n <= max; n++ {
		b = append(b, prefix...)
		if pad {
			b = appendPad8(b, uint64(n))
		} else {
			b = strconv.AppendInt(b, int64(n), 10)
		}
		ends[n] = len(b)
	}
	all := string(b)
	out := make([]string, max+1)
	start := 0
	for n, end := range ends {
		out[n] = all[start:end]
		start = end
	}
	return out
}
