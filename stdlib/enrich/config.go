package enrich

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsource"
	"github.com/rivven/rivven-connect/stdlib/postgres/cdc"
)

// Config is the plain-data configuration of one enrich transform (the
// `config` block of a `type: enrich` transform). The json tags name the
// block's keys (cue/enrich.cue, #Enrich, which holds the defaults); the
// compiler decodes the block through them and sets the fields tagged "-".
type Config struct {
	// Key is the path of the field whose value is looked up: a top-level
	// field, or a.b for a key inside an object field.
	Key string `json:"key"`
	// Into is the top-level field the row found is written to, as an
	// object (null on a miss with OnMiss keep). A field of that name is
	// replaced; otherwise the field is added after the record's fields.
	Into string `json:"into"`
	// Postgres looks keys up in PostgreSQL; exactly one of Postgres and
	// HTTP is set (Postgres.Query or HTTP.URL not empty).
	Postgres Postgres `json:"postgres"`
	// HTTP looks each key up with one request.
	HTTP HTTP `json:"http"`
	// Schema declares the fields of the row merged under Into, in order:
	// each row then holds exactly these fields (null when the row lacks
	// one), each value converted to its record type. Empty: every column
	// (or every key of the HTTP answer's object), typed at run time. The
	// compiler reads it from the document (key order matters).
	Schema []Field `json:"-"`
	// Cache keeps what lookups found, and what they did not.
	Cache Cache `json:"cache"`
	// OnMiss is what a record whose key has no row gets: keep (Into is
	// null), drop (the record is dropped, like a filter's) or error (the
	// record fails; on_error applies).
	OnMiss string `json:"on_miss"`
	// TimeoutMs bounds one lookup attempt (a query, or a request with its
	// answer), connecting included.
	TimeoutMs int `json:"timeout_ms"`
	// Retry bounds the retries of a lookup that failed transiently.
	Retry Retry `json:"retry"`
	// Name is the transform's name, for messages (the compiler sets it).
	Name string `json:"-"`
}

// Postgres is the PostgreSQL back end: connection keys as postgres-cdc's,
// the query and the column that holds the key.
type Postgres struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	// Password is never shown in messages; give it as ${VAR}.
	Password           string `json:"password"`
	ConnectTimeoutSecs int    `json:"connect_timeout_secs"`
	// TLS is postgres-cdc's: libpq's sslmode and files.
	TLS cdc.TLSConfig `json:"tls"`
	// Query is the user's SQL with one parameter, $1, the array of keys to
	// look up (e.g. SELECT id, name FROM customers WHERE id = ANY($1)). It
	// runs as written: nothing from records or config is spliced into it.
	Query string `json:"query"`
	// Match is the result column holding the key a row belongs to.
	Match string `json:"match"`
}

// HTTP is the HTTP back end: one GET per key.
type HTTP struct {
	// URL is the request's URL; {{key}} becomes the key's text, escaped
	// as a path segment (or query value, after the ?).
	URL string `json:"url"`
	// Headers are sent with every request; values may be ${VAR} and never
	// appear in messages. The compiler reads them from the document.
	Headers []httpsource.Header `json:"-"`
	// ResultPath locates the row in the JSON answer (httpsource.ParsePath
	// syntax); "" is the answer itself. A missing or null value is a miss.
	ResultPath string `json:"result_path"`
	// MaxInFlight is the most requests of one batch in flight at once.
	MaxInFlight int `json:"max_in_flight"`
}

// Field is one declared field of the row: its name and record type as
// runtime.ParseType reads it.
type Field struct {
	Name string
	Type string
}

// Cache sizes the lookup cache. Size 0 disables it (every batch asks the
// back end for its keys); a TTL of 0 keeps entries until evicted
// (NegativeTTLMs 0: misses are not cached).
type Cache struct {
	Size          int `json:"size"`
	TTLMs         int `json:"ttl_ms"`
	NegativeTTLMs int `json:"negative_ttl_ms"`
}

// Retry bounds the retries of a transiently failed lookup: at most
// MaxRetries more attempts, waiting InitialBackoffMs doubled at each,
// at most MaxBackoffMs.
type Retry struct {
	MaxRetries       int `json:"max_retries"`
	InitialBackoffMs int `json:"initial_backoff_ms"`
	MaxBackoffMs     int `json:"max_backoff_ms"`
}

// On-miss policies (Config.OnMiss).
const (
	OnMissKeep  = "keep"
	OnMissDrop  = "drop"
	OnMissError = "error"
)

// Defaults returns the values the compiler decodes into every Config from
// #Enrich (cue/enrich.cue), for Go callers that build one by hand.
func Defaults() Config {
	return Config{
		Cache:     Cache{Size: 10000, TTLMs: 60000, NegativeTTLMs: 5000},
		OnMiss:    OnMissKeep,
		TimeoutMs: 5000,
		Retry:     Retry{MaxRetries: 3, InitialBackoffMs: 100, MaxBackoffMs: 5000},
		Postgres:  Postgres{Host: "localhost", Port: 5432, ConnectTimeoutSecs: 10, TLS: cdc.TLSConfig{Mode: "prefer"}},
		HTTP:      HTTP{MaxInFlight: 4},
	}
}

// UsesPostgres reports whether c looks keys up in PostgreSQL.
func (c Config) UsesPostgres() bool { return c.Postgres.Query != "" }

// RowType returns the record type of the field Into: an object of the
// declared fields (each nullable), or an open object without a schema.
func (c Config) RowType() (runtime.Type, error) {
	if len(c.Schema) == 0 {
		return runtime.Type{Kind: runtime.KindObject, Open: true}, nil
	}
	t := runtime.Type{Kind: runtime.KindObject}
	seen := map[string]bool{}
	for _, f := range c.Schema {
		if f.Name == "" {
			return runtime.Type{}, errors.New("schema: a field with an empty name")
		}
		if seen[f.Name] {
			return runtime.Type{}, fmt.Errorf("schema: field %q is declared twice", f.Name)
		}
		seen[f.Name] = true
		ft, err := runtime.ParseType(f.Type)
		if err != nil {
			return runtime.Type{}, fmt.Errorf("schema.%s: %w", f.Name, err)
		}
		t.Fields = append(t.Fields, runtime.Field{Name: f.Name, Type: ft, Nullable: true})
	}
	return t, nil
}

// Validate reports what New would find wrong in c, without connecting:
// the back end (exactly one), the query's parameter, the key and into
// paths, the schema's types and the on_miss policy.
func (c Config) Validate() error {
	var msgs []string
	switch {
	case c.Postgres.Query == "" && c.HTTP.URL == "":
		msgs = append(msgs, "give postgres (with a query) or http (with a url)")
	case c.Postgres.Query != "" && c.HTTP.URL != "":
		msgs = append(msgs, "give postgres or http, not both")
	case c.UsesPostgres():
		if err := CheckQuery(c.Postgres.Query); err != nil {
			msgs = append(msgs, err.Error())
		}
		if c.Postgres.Match == "" {
			msgs = append(msgs, "postgres.match: name the result column that holds the key")
		}
	default:
		if !strings.Contains(c.HTTP.URL, "{{key}}") {
			msgs = append(msgs, "http.url: put {{key}} where the key goes")
		}
		if _, err := httpsource.ParsePath(c.HTTP.ResultPath); err != nil {
			msgs = append(msgs, "http.result_path: "+err.Error())
		}
	}
	if c.Key == "" || strings.Contains("."+c.Key+".", "..") {
		msgs = append(msgs, "key: a field path (name, or a.b inside an object)")
	}
	if c.Into == "" || strings.Contains(c.Into, ".") {
		msgs = append(msgs, "into: a top-level field name")
	}
	if _, err := c.RowType(); err != nil {
		msgs = append(msgs, err.Error())
	}
	switch c.OnMiss {
	case OnMissKeep, OnMissDrop, OnMissError:
	default:
		msgs = append(msgs, fmt.Sprintf("on_miss: %q is not keep, drop or error", c.OnMiss))
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// CheckQuery reports, without a server, whether query can be the lookup
// query: it must use the parameter $1 and no other ($2, …). The server
// confirms it (check --connect prepares the query).
func CheckQuery(query string) error {
	n := maxParam(query)
	switch {
	case n == 0:
		return errors.New("postgres.query: the query must use $1, the array of keys (e.g. WHERE id = ANY($1))")
	case n > 1:
		return fmt.Errorf("postgres.query: the query uses $%d; it gets one parameter, $1, the array of keys", n)
	}
	return nil
}

// maxParam is the highest $N the query names outside string literals,
// quoted identifiers and comments.
func maxParam(q string) int {
	best := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'' || c == '"':
			j := strings.IndexByte(q[i+1:], c)
			if j < 0 {
				return best
			}
			i += j + 1
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				return best
			}
			i += j
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i:], "*/")
			if j < 0 {
				return best
			}
			i += j + 1
		case c == '$':
			n, j := 0, i+1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' && n < 1<<20 {
				n = n*10 + int(q[j]-'0')
				j++
			}
			if j > i+1 && (i == 0 || !isIdent(q[i-1])) {
				best = max(best, n)
			}
			i = j - 1
		}
	}
	return best
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
