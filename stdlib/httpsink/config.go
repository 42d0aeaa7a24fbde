package httpsink

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Config configures an http sink. It is plain data: the code generator
// writes it as a Go composite literal. The json tags name the keys of the
// `config` block (cue/http_sink.cue, #HTTPSink, which holds every
// default: Defaults returns them); the fields tagged "-" are set by the
// compiler from the block's document node (Headers, in the document's key
// order; HideURL). Validate says what New requires.
type Config struct {
	// URL is the endpoint, http or https, without user information.
	URL string `json:"url"`
	// Method is POST, PUT or PATCH ("" means POST).
	Method string `json:"method"`
	// Format is the request body: FormatNDJSON ("" means ndjson),
	// FormatJSONArray, or FormatJSON (one record per request).
	Format string `json:"format"`
	// Envelope is what each record is written as: EnvelopeSourceEvent (""
	// means source_event), EnvelopeDebezium or EnvelopeRow.
	Envelope string `json:"envelope"`
	// Headers are sent with every request, in order; one may replace
	// Content-Type. Their values never appear in messages.
	Headers []Header `json:"-"`
	// Auth holds at most one authentication method.
	Auth Auth `json:"auth"`
	// MaxInFlight is the number of requests in flight at once (at least
	// 1): of one Write, or, when the sink pipelines (Sink.UseErrorPolicy),
	// of successive writes. With 1 the requests go in record order.
	MaxInFlight int `json:"max_in_flight"`
	// MaxBatchRecords is the most records in one request (at least 1;
	// ignored with FormatJSON).
	MaxBatchRecords int `json:"max_batch_records"`
	// MaxBatchBytes is the most bytes in one request body (at least 1024;
	// ignored with FormatJSON); a larger record goes alone.
	MaxBatchBytes int `json:"max_batch_bytes"`
	// TimeoutMs bounds one request, response included (at least 1).
	TimeoutMs int `json:"timeout_ms"`
	// Retry bounds the retries of a request that failed transiently.
	Retry Retry `json:"retry"`
	// SuccessfulOn lists statuses that count as success besides 2xx.
	SuccessfulOn []int `json:"successful_on"`
	// RetryOn lists statuses retried besides 408, 429 and 5xx.
	RetryOn []int `json:"retry_on"`
	// DropOn lists statuses that fail at once, without retries.
	DropOn []int `json:"drop_on"`
	// IdempotencyHeader names the header of each request's idempotency
	// key; "" sends none.
	IdempotencyHeader string `json:"idempotency_header"`
	// TLS configures an https URL's TLS.
	TLS TLS `json:"tls"`
	// HideURL keeps the URL out of messages and logs (they say "the url
	// (from the environment)"): the compiler sets it when the URL came
	// from ${VAR}, whose values are secrets.
	HideURL bool `json:"-"`
}

// Header is one request header.
type Header struct {
	Name  string
	Value string
}

// Auth holds the authentication method; at most one is set.
type Auth struct {
	Basic  Basic  `json:"basic"`
	Bearer Bearer `json:"bearer"`
}

// Basic is HTTP basic authentication; it is set when Username or Password
// is.
type Basic struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Bearer sends Token as Authorization: Bearer Token; set when Token is.
type Bearer struct {
	Token string `json:"token"`
}

// Retry bounds the retries of one request.
type Retry struct {
	// MaxRetries is the number of retries of a request before its records
	// fail; 0 = none.
	MaxRetries int `json:"max_retries"`
	// InitialBackoffMs is the wait before the first retry (at least 1),
	// doubled for each next one, with jitter.
	InitialBackoffMs int `json:"initial_backoff_ms"`
	// MaxBackoffMs caps every wait, Retry-After included (at least 1).
	MaxBackoffMs int `json:"max_backoff_ms"`
}

// TLS configures the TLS of an https URL; the zero TLS verifies the server
// against the system's CAs and sends no client certificate.
type TLS struct {
	// CAPath is a PEM file of the CAs that verify the server.
	CAPath string `json:"ca_path"`
	// CertPath and KeyPath are the client certificate and its key (PEM),
	// for mutual TLS; both or neither.
	CertPath string `json:"cert_path"`
	KeyPath  string `json:"key_path"`
	// ServerName is the name the server's certificate must hold ("" = the
	// URL's host).
	ServerName string `json:"server_name"`
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool `json:"insecure_skip_verify"`
}

// Values of Config.Format.
const (
	FormatNDJSON    = "ndjson"
	FormatJSONArray = "json_array"
	FormatJSON      = "json"
)

// Values of Config.Envelope.
const (
	EnvelopeSourceEvent = "source_event"
	EnvelopeDebezium    = "debezium"
	EnvelopeRow         = "row"
)

// Defaults returns the defaults of #HTTPSink (cue/http_sink.cue) with
// url: u, the config a block holding only `url` decodes to (a test in
// compiler/bind holds the two equal).
func Defaults(u string) Config {
	return Config{
		URL: u, Method: "POST", Format: FormatNDJSON, Envelope: EnvelopeSourceEvent,
		MaxInFlight: 1, MaxBatchRecords: 500, MaxBatchBytes: 4 << 20, TimeoutMs: 30000,
		Retry:             Retry{MaxRetries: 10, InitialBackoffMs: 100, MaxBackoffMs: 30000},
		IdempotencyHeader: "Idempotency-Key",
	}
}

// reservedHeaders are set by the HTTP client itself.
var reservedHeaders = []string{"Content-Length", "Host", "Transfer-Encoding", "Connection", "Te", "Upgrade", "Trailer", "Keep-Alive"}

// Validate reports the first thing in c that New refuses, naming its key.
// It never quotes the URL or a header value (either may be a secret). The
// files of TLS are read by New, not here.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("url is missing")
	case err != nil:
		return errors.New("url is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("url must start with http:// or https://")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("url has no host")
	case u.User != nil:
		return errors.New("url holds credentials (user:password@): they would show wherever the URL does; use auth.basic with the password from ${VAR}")
	case u.Fragment != "" || strings.Contains(c.URL, "#"):
		return errors.New("url has a #fragment, which is never sent: remove it")
	}
	if !slices.Contains([]string{"", "POST", "PUT", "PATCH"}, c.Method) {
		return fmt.Errorf("method %q is not one of POST, PUT, PATCH", c.Method)
	}
	if !slices.Contains([]string{"", FormatNDJSON, FormatJSONArray, FormatJSON}, c.Format) {
		return fmt.Errorf("format %q is not one of ndjson, json_array, json", c.Format)
	}
	if !slices.Contains([]string{"", EnvelopeSourceEvent, EnvelopeDebezium, EnvelopeRow}, c.Envelope) {
		return fmt.Errorf("envelope %q is not one of source_event, debezium, row", c.Envelope)
	}
	switch {
	case c.MaxInFlight < 1:
		return fmt.Errorf("max_in_flight %d is below 1", c.MaxInFlight)
	case c.MaxBatchRecords < 1:
		return fmt.Errorf("max_batch_records %d is below 1", c.MaxBatchRecords)
	case c.MaxBatchBytes < 1024:
		return fmt.Errorf("max_batch_bytes %d is below 1024", c.MaxBatchBytes)
	case c.TimeoutMs < 1:
		return fmt.Errorf("timeout_ms %d is below 1", c.TimeoutMs)
	case c.Retry.MaxRetries < 0:
		return fmt.Errorf("retry.max_retries %d is below 0", c.Retry.MaxRetries)
	case c.Retry.InitialBackoffMs < 1:
		return fmt.Errorf("retry.initial_backoff_ms %d is below 1", c.Retry.InitialBackoffMs)
	case c.Retry.MaxBackoffMs < 1:
		return fmt.Errorf("retry.max_backoff_ms %d is below 1", c.Retry.MaxBackoffMs)
	}
	if err := c.validateHeaders(); err != nil {
		return err
	}
	if c.Auth.Basic != (Basic{}) && c.Auth.Bearer.Token != "" {
		return errors.New("auth: give one method, basic or bearer, not both")
	}
	if c.Auth.Basic != (Basic{}) && strings.ContainsRune(c.Auth.Basic.Username, ':') {
		return errors.New("auth.basic.username must not contain ':' (basic authentication cannot carry it)")
	}
	if (c.TLS.CertPath == "") != (c.TLS.KeyPath == "") {
		return errors.New("tls.cert_path and tls.key_path go together: set both (mutual TLS) or neither")
	}
	return validateStatuses(c)
}

func (c Config) validateHeaders() error {
	seen := map[string]bool{}
	auth := c.Auth.Basic != (Basic{}) || c.Auth.Bearer.Token != ""
	for _, h := range c.Headers {
		if !validToken(h.Name) {
			return fmt.Errorf("headers: %q is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~ only)", h.Name)
		}
		name := canonical(h.Name)
		if seen[name] {
			return fmt.Errorf("headers: %s is given twice (header names ignore case)", name)
		}
		seen[name] = true
		if !validValue(h.Value) {
			return fmt.Errorf("headers.%s: the value holds a line break or another control character", h.Name)
		}
		switch {
		case slices.Contains(reservedHeaders, name):
			return fmt.Errorf("headers.%s is set by the HTTP client itself: remove it", h.Name)
		case name == "Authorization" && auth:
			return fmt.Errorf("headers.%s and auth both set Authorization: give one", h.Name)
		case c.IdempotencyHeader != "" && name == canonical(c.IdempotencyHeader):
			return fmt.Errorf("headers.%s is the idempotency_header, which carries each request's idempotency key: remove one of them", h.Name)
		}
	}
	if c.IdempotencyHeader != "" {
		if !validToken(c.IdempotencyHeader) {
			return fmt.Errorf("idempotency_header %q is not a valid header name", c.IdempotencyHeader)
		}
		if slices.Contains(reservedHeaders, canonical(c.IdempotencyHeader)) || canonical(c.IdempotencyHeader) == "Authorization" {
			return fmt.Errorf("idempotency_header %q names a header the sink cannot use for the key", c.IdempotencyHeader)
		}
	}
	return nil
}

// validateStatuses refuses a status outside 100..599 and one that two of
// successful_on, retry_on and drop_on list.
func validateStatuses(c Config) error {
	lists := []struct {
		key   string
		codes []int
	}{{"successful_on", c.SuccessfulOn}, {"retry_on", c.RetryOn}, {"drop_on", c.DropOn}}
	where := map[int]string{}
	for _, l := range lists {
		for _, code := range l.codes {
			if code < 100 || code > 599 {
				return fmt.Errorf("%s: %d is not an HTTP status (100..599)", l.key, code)
			}
			if k, ok := where[code]; ok && k != l.key {
				return fmt.Errorf("%s and %s both list %d: give each status one class", k, l.key, code)
			}
			where[code] = l.key
		}
	}
	return nil
}

// validToken reports whether s is an HTTP token (RFC 9110), the syntax of
// header names.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validValue reports whether s may be a header value: no control
// characters other than tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
