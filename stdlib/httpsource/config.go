package httpsource

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Config configures an http source. It is plain data: the code generator
// writes it as a Go composite literal. The json tags name the keys of the
// `config` block (cue/http_source.cue, #HTTPSource, which holds every
// default); fields tagged "-" are set by the compiler from the block's
// document node, in the document's key order (Headers, Schema,
// Auth.OAuth2.EndpointParams), or from its value (Mode). The zero Config
// is not valid (it has no URL); see Validate for what New requires.
//
// Mode chooses the fields that apply: poll mode (the default) reads URL
// and the request, pagination, at_end, interval and retry fields; webhook
// mode reads Listen and HMAC. RecordsPath, TimeoutMs, Auth (basic and
// bearer), Stream and Schema apply to both.
type Config struct {
	// Mode is ModePoll ("" means poll) or ModeWebhook.
	Mode string `json:"-"`
	// URL is the first page's URL, http or https; its query parameters are
	// sent with every request.
	URL string `json:"url"`
	// Method is GET ("" means GET) or POST.
	Method string `json:"method"`
	// Headers are sent with every request, in order.
	Headers []Header `json:"-"`
	// Body is the request body of a POST; {{cursor}} and {{page}} are
	// replaced per request (see the package doc).
	Body string `json:"body"`
	// RecordsPath is where the records array sits in a response ("" = the
	// response is the array); see ParsePath.
	RecordsPath string `json:"records_path"`
	// Pagination says how the next page is found (zero: no pagination).
	Pagination Pagination `json:"pagination"`
	// AtEnd is what the source does after the last page: AtEndTail ("" means
	// tail), AtEndRestart or AtEndStop.
	AtEnd string `json:"at_end"`
	// IntervalMs is the wait between the last page of a round and the next
	// poll (tail, restart).
	IntervalMs int `json:"interval_ms"`
	// RateLimit caps requests per second; 0 = unlimited.
	RateLimit float64 `json:"rate_limit"`
	// TimeoutMs bounds one request, body included; 0 means 30000.
	TimeoutMs int `json:"timeout_ms"`
	// Retry bounds the retries of transient failures.
	Retry Retry `json:"retry"`
	// Auth holds at most one authentication method.
	Auth Auth `json:"auth"`
	// Stream is the Stream of every record; "" means DefaultStream.
	Stream string `json:"stream"`
	// Schema, when not empty, is the declared schema of the records, in
	// order; nil means the fields are learned from each record.
	Schema []Field `json:"-"`
	// Listen is where webhook mode listens (webhook mode only).
	Listen Listen `json:"listen"`
	// HMAC, when its Secret is set, makes webhook mode check the signature
	// of every request's body (webhook mode only).
	HMAC HMAC `json:"hmac"`
}

// Listen is the listener of webhook mode. Zero fields mean
// #HTTPSource's defaults (see the constants Default…).
type Listen struct {
	// Address is the host:port the listener binds.
	Address string `json:"address"`
	// Path is the URL path records are POSTed to; other paths answer 404.
	Path string `json:"path"`
	// MaxBodyBytes bounds a request's body; a larger one answers 413.
	MaxBodyBytes int64 `json:"max_body_bytes"`
	// MaxBufferedRecords bounds the records accepted and not yet read by
	// the pipeline; a request that does not fit answers 503.
	MaxBufferedRecords int `json:"max_buffered_records"`
}

// HMAC is the signature check of webhook mode: the header Header holds
// Prefix followed by the HMAC (Algorithm, keyed with Secret) of the raw
// body, written in Encoding.
type HMAC struct {
	Secret    string `json:"secret"`
	Header    string `json:"header"`
	Algorithm string `json:"algorithm"`
	Prefix    string `json:"prefix"`
	Encoding  string `json:"encoding"`
}

// Values of Config.Mode.
const (
	ModePoll    = "poll"
	ModeWebhook = "webhook"
)

// The defaults of webhook mode's zero fields, as #HTTPSource sets them.
const (
	DefaultListenAddress      = "127.0.0.1:8080"
	DefaultListenPath         = "/"
	DefaultMaxBodyBytes       = 10 << 20
	DefaultMaxBufferedRecords = 10000
	DefaultHMACHeader         = "X-Signature"
	DefaultHMACAlgorithm      = "sha256"
	DefaultHMACEncoding       = "hex"
)

// Header is one request header (or one OAuth2 endpoint parameter).
type Header struct {
	Name  string
	Value string
}

// Field is one declared field: its name and its record type as
// runtime.Type.String writes it ("int", "array<string>",
// "object{id int, tags array<string>}").
type Field struct {
	Name string
	Type string
}

// Pagination selects one pagination style by the keys it sets: cursor
// (CursorPath), link (LinkHeader) or page (PageParam); none of them means
// no pagination.
type Pagination struct {
	// CursorPath is the path of the next cursor in a response.
	CursorPath string `json:"cursor_path"`
	// CursorParam is the query parameter the cursor is sent in ("" = only
	// through the body's {{cursor}}).
	CursorParam string `json:"cursor_param"`
	// LinkHeader follows the Link header's rel="next" URL.
	LinkHeader bool `json:"link_header"`
	// PageParam is the query parameter of the page number.
	PageParam string `json:"page_param"`
	// FirstPage is the number of the first page.
	FirstPage int64 `json:"first_page"`
	// PageSizeParam is the query parameter PageSize is sent in ("" = none).
	PageSizeParam string `json:"page_size_param"`
	// PageSize is the number of records of a full page; a page with fewer
	// is the last. 0 = unknown.
	PageSize int `json:"page_size"`
	// TotalPagesPath is the path of the number of pages in a response ("" =
	// none).
	TotalPagesPath string `json:"total_pages_path"`
}

// Retry bounds the retries of a request that failed transiently.
type Retry struct {
	// MaxRetries is the number of retries before the source fails.
	MaxRetries int `json:"max_retries"`
	// InitialBackoffMs is the wait before the first retry; 0 means 100.
	InitialBackoffMs int `json:"initial_backoff_ms"`
	// MaxBackoffMs caps every wait; 0 means 30000.
	MaxBackoffMs int `json:"max_backoff_ms"`
}

// Auth holds the authentication method; at most one is set.
type Auth struct {
	Basic  Basic  `json:"basic"`
	Bearer Bearer `json:"bearer"`
	OAuth2 OAuth2 `json:"oauth2"`
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

// OAuth2 is the client-credentials grant; set when TokenURL is.
type OAuth2 struct {
	TokenURL     string   `json:"token_url"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Scopes       []string `json:"scopes"`
	// EndpointParams are extra form parameters of the token request.
	EndpointParams []Header `json:"-"`
}

// Values of Config.AtEnd.
const (
	AtEndTail    = "tail"
	AtEndRestart = "restart"
	AtEndStop    = "stop"
)

// DefaultStream is the Stream of records when Config.Stream is empty (the
// compiler sets Stream to the source's name).
const DefaultStream = "http"

// style is a pagination style.
type style uint8

const (
	styleNone style = iota
	styleCursor
	styleLink
	stylePage
)

func (p Pagination) style() style {
	switch {
	case p.CursorPath != "":
		return styleCursor
	case p.LinkHeader:
		return styleLink
	case p.PageParam != "":
		return stylePage
	}
	return styleNone
}

// styles counts the pagination styles p sets.
func (p Pagination) styles() int {
	n := 0
	for _, set := range []bool{p.CursorPath != "", p.LinkHeader, p.PageParam != ""} {
		if set {
			n++
		}
	}
	return n
}

// authMethods counts the authentication methods a sets.
func (a Auth) methods() int {
	n := 0
	for _, set := range []bool{a.Basic != (Basic{}), a.Bearer.Token != "", a.OAuth2.TokenURL != ""} {
		if set {
			n++
		}
	}
	return n
}

func (c Config) stream() string {
	if c.Stream == "" {
		return DefaultStream
	}
	return c.Stream
}

func (c Config) atEnd() string {
	if c.AtEnd == "" {
		return AtEndTail
	}
	return c.AtEnd
}

// Validate reports the first problem of c that New would fail on: a URL
// that is not http(s)://host…, an unknown method or at_end, a body on a
// GET, a records_path, cursor_path or total_pages_path that does not parse,
// several pagination styles or authentication methods, a cursor that is
// sent nowhere, a negative number, or a declared field with an empty or
// repeated name or a type that does not parse. Messages name the key and
// never quote a header value or a secret.
//
// In webhook mode it reports instead a listen address that is not
// host:port, a path that does not start with /, a negative limit, an
// oauth2 method (webhook mode checks incoming credentials: basic or
// bearer), an HMAC algorithm or encoding it does not know, an HMAC
// header that is not a header name, and a poll-mode field that is set.
func (c Config) Validate() error {
	switch c.Mode {
	case "", ModePoll:
	case ModeWebhook:
		return c.validateWebhook()
	default:
		return fmt.Errorf("http source: mode %q: use poll or webhook", c.Mode)
	}
	if c.Listen != (Listen{}) || c.HMAC != (HMAC{}) {
		return errors.New("http source: listen and hmac apply to webhook mode only: set mode: webhook, or remove them")
	}
	if c.URL == "" {
		return errors.New("http source: url is required in poll mode (the API's first page): set url, or mode: webhook to receive records instead")
	}
	if _, err := parseBaseURL("url", c.URL); err != nil {
		return err
	}
	switch c.Method {
	case "", "GET", "POST":
	default:
		return fmt.Errorf("http source: method %q: use GET or POST", c.Method)
	}
	if c.Body != "" && c.Method != "POST" {
		return errors.New("http source: body is sent with method POST only: set method: POST, or remove body")
	}
	switch c.AtEnd {
	case "", AtEndTail, AtEndRestart, AtEndStop:
	default:
		return fmt.Errorf("http source: at_end %q: use tail, restart or stop", c.AtEnd)
	}
	if c.IntervalMs < 0 || c.RateLimit < 0 || c.TimeoutMs < 0 || c.Retry.MaxRetries < 0 ||
		c.Retry.InitialBackoffMs < 0 || c.Retry.MaxBackoffMs < 0 {
		return errors.New("http source: interval_ms, rate_limit, timeout_ms and the retry settings must not be negative")
	}
	if _, err := ParsePath(c.RecordsPath); err != nil {
		return fmt.Errorf("http source: records_path: %w", err)
	}
	p := c.Pagination
	if p.styles() > 1 {
		return errors.New("http source: pagination takes one style: cursor_path (cursor), link_header (Link header) or page_param (page number)")
	}
	switch p.style() {
	case styleCursor:
		if _, err := ParsePath(p.CursorPath); err != nil {
			return fmt.Errorf("http source: pagination.cursor_path: %w", err)
		}
		if p.CursorParam == "" && !strings.Contains(c.Body, "{{cursor}}") {
			return errors.New("http source: pagination.cursor_path needs cursor_param (the query parameter the cursor is sent in) or a body with {{cursor}}")
		}
	case stylePage:
		if p.TotalPagesPath != "" {
			if _, err := ParsePath(p.TotalPagesPath); err != nil {
				return fmt.Errorf("http source: pagination.total_pages_path: %w", err)
			}
		}
		if p.PageSizeParam != "" && p.PageSize == 0 {
			return errors.New("http source: pagination.page_size_param needs page_size (the value it sends)")
		}
		if p.PageSize < 0 || p.FirstPage < 0 {
			return errors.New("http source: pagination.page_size and first_page must not be negative")
		}
	}
	if c.Auth.methods() > 1 {
		return errors.New("http source: auth takes one method: basic, bearer or oauth2")
	}
	if o := c.Auth.OAuth2; o.TokenURL != "" {
		if _, err := parseBaseURL("auth.oauth2.token_url", o.TokenURL); err != nil {
			return err
		}
	}
	for _, h := range c.Headers {
		if h.Name == "" || strings.ContainsAny(h.Name, " \t\r\n:") {
			return fmt.Errorf("http source: headers: %q is not a header name", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n") {
			return fmt.Errorf("http source: headers: the value of %s holds a line break", h.Name)
		}
	}
	if len(c.Stream) > 255 {
		return errors.New("http source: stream is " + strconv.Itoa(len(c.Stream)) + " bytes long (at most 255)")
	}
	_, err := Schema(c)
	return err
}

// parseBaseURL parses an http(s) URL given under key.
func parseBaseURL(key, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http source: %s is not an http:// or https:// URL with a host", key)
	}
	return u, nil
}
