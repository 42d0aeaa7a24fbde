package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rivven/rivven-connect/schemas"
)

// ClientOptions configures NewClient.
type ClientOptions struct {
	// Username and Password are sent as HTTP basic authentication when
	// Username is set. The password never appears in errors or String.
	Username string
	Password string
	// Timeout bounds each request; zero means 30s.
	Timeout time.Duration
	// HTTPClient, when set, sends the requests (for TLS settings, say);
	// Timeout is then applied per request through its context.
	HTTPClient *http.Client
}

// Client speaks the REST API of Handler or of a Confluent Schema Registry.
// It caches what cannot change: the schema of an id, and the id of a
// schema registered under a subject (one entry per distinct schema, never
// evicted; a subject deleted behind the client's back is not noticed by
// Register's cache, as with Confluent's own clients). Safe for concurrent
// use; it holds no resources beyond its HTTP client's idle connections.
//
// Errors the registry reports are *Error values (errors.Is-able against
// ErrSubjectNotFound, ErrIncompatible, ErrUnauthorized, …) wrapped with
// the method and path of the request.
type Client struct {
	base    *url.URL
	user    string
	pass    string
	timeout time.Duration
	http    *http.Client

	mu    sync.Mutex
	ids   map[int]Schema
	regID map[string]int
}

// NewClient returns a client of the registry at rawURL
// ("http://host:8081", optionally with a path prefix). Credentials in the
// URL's user info are moved to basic authentication, unless
// opts.Username is set.
func NewClient(rawURL string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse errors quote the URL, which may hold a password.
		return nil, errors.New("schema registry client: invalid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("schema registry client: URL %s must be http(s)://host[:port][/path]", u.Redacted())
	}
	c := &Client{user: opts.Username, pass: opts.Password, timeout: opts.Timeout, http: opts.HTTPClient,
		ids: map[int]Schema{}, regID: map[string]int{}}
	if u.User != nil && c.user == "" {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
	}
	u.User = nil
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	c.base = u
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: c.timeout}
	}
	return c, nil
}

// String describes the client: its URL and user, never the password.
func (c *Client) String() string {
	if c.user == "" {
		return "schema registry " + c.base.String()
	}
	return fmt.Sprintf("schema registry %s (user %s)", c.base, c.user)
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out (or the raw body when out is *[]byte).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	err := c.send(ctx, method, path, query, in, out)
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", c, method, path, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, query url.Values, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	target := c.base.String() + path // path segments are escaped by the callers
	if q := query.Encode(); q != "" {
		target += "?" + q
	}
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", ContentType+", application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5")
	if in != nil {
		req.Header.Set("Content-Type", ContentType)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return responseError(resp.StatusCode, data)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// responseError decodes a Confluent error body; a body that is not one
// (from a proxy, say) becomes an *Error with the HTTP status as code.
func responseError(status int, data []byte) *Error {
	if status == http.StatusUnauthorized {
		return &Error{Code: CodeUnauthorized, Message: "Unauthorized: the registry rejected the credentials (check the username and password)"}
	}
	var e errorResponse
	if json.Unmarshal(data, &e) == nil && e.ErrorCode != 0 {
		return &Error{Code: e.ErrorCode, Message: e.Message}
	}
	msg := http.StatusText(status)
	if text := strings.TrimSpace(string(data)); text != "" {
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		msg += ": " + text
	}
	return &Error{Code: status, Message: msg}
}

func subjectPath(subject string) string { return "/subjects/" + url.PathEscape(subject) }

func versionString(version int) string {
	if version == Latest {
		return "latest"
	}
	return strconv.Itoa(version)
}

func schemaBody(schemaType, schema string) registerRequest {
	t := strings.ToUpper(schemaType)
	if t == TypeAvro {
		t = ""
	}
	return registerRequest{Schema: schema, SchemaType: t}
}

func filled(s Schema) Schema {
	if s.Type == "" {
		s.Type = TypeAvro
	}
	return s
}

// Register registers schema (of schemaType, "" meaning AVRO) under subject
// and returns its global id; see Registry.Register. Successful answers are
// cached.
func (c *Client) Register(ctx context.Context, subject, schemaType, schema string) (int, error) {
	key := subject + "\x00" + schemaBody(schemaType, schema).SchemaType + "\x00" + schema
	c.mu.Lock()
	id, ok := c.regID[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	var resp idResponse
	if err := c.do(ctx, http.MethodPost, subjectPath(subject)+"/versions", nil, schemaBody(schemaType, schema), &resp); err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.regID[key] = resp.ID
	c.mu.Unlock()
	return resp.ID, nil
}

// Lookup returns the version of subject that holds schema; see
// Registry.Lookup. Not cached.
func (c *Client) Lookup(ctx context.Context, subject, schemaType, schema string) (Schema, error) {
	var s Schema
	err := c.do(ctx, http.MethodPost, subjectPath(subject), nil, schemaBody(schemaType, schema), &s)
	return filled(s), err
}

// SchemaByID returns the schema with global id id (cached).
func (c *Client) SchemaByID(ctx context.Context, id int) (Schema, error) {
	c.mu.Lock()
	s, ok := c.ids[id]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	if err := c.do(ctx, http.MethodGet, "/schemas/ids/"+strconv.Itoa(id), nil, nil, &s); err != nil {
		return Schema{}, err
	}
	s = filled(Schema{ID: id, Type: s.Type, Text: s.Text})
	c.mu.Lock()
	c.ids[id] = s
	c.mu.Unlock()
	return s, nil
}

// Subjects returns the registry's subjects.
func (c *Client) Subjects(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, http.MethodGet, "/subjects", nil, nil, &out)
	return out, err
}

// Versions returns the version numbers of subject.
func (c *Client) Versions(ctx context.Context, subject string) ([]int, error) {
	var out []int
	err := c.do(ctx, http.MethodGet, subjectPath(subject)+"/versions", nil, nil, &out)
	return out, err
}

// Version returns version (or Latest) of subject.
func (c *Client) Version(ctx context.Context, subject string, version int) (Schema, error) {
	var s Schema
	err := c.do(ctx, http.MethodGet, subjectPath(subject)+"/versions/"+versionString(version), nil, nil, &s)
	return filled(s), err
}

// Latest returns the newest version of subject.
func (c *Client) Latest(ctx context.Context, subject string) (Schema, error) {
	return c.Version(ctx, subject, Latest)
}

// TestCompatibility reports whether schema may follow version (or Latest)
// of subject; see Registry.TestCompatibility. When it may not, the error
// is ErrIncompatible and its message holds the registry's explanation.
func (c *Client) TestCompatibility(ctx context.Context, subject string, version int, schemaType, schema string) error {
	var resp compatibilityResponse
	path := "/compatibility" + subjectPath(subject) + "/versions/" + versionString(version)
	if err := c.do(ctx, http.MethodPost, path, url.Values{"verbose": {"true"}}, schemaBody(schemaType, schema), &resp); err != nil {
		return err
	}
	if resp.IsCompatible {
		return nil
	}
	msg := "schema is incompatible with subject '" + subject + "'"
	if len(resp.Messages) > 0 {
		msg += ": " + strings.Join(resp.Messages, "; ")
	}
	return fmt.Errorf("%s: POST %s: %w", c, path, &Error{Code: CodeIncompatible, Message: msg})
}

// Config returns the compatibility level in force for subject (its own or
// the global one), or the global level when subject is empty. Registries
// that ignore defaultToGlobal and answer "no subject-level config"
// (40408, or 40401 from older Confluent versions) get a second request for
// the global level.
func (c *Client) Config(ctx context.Context, subject string) (schemas.Compatibility, error) {
	var resp configResponse
	if subject != "" {
		err := c.do(ctx, http.MethodGet, "/config/"+url.PathEscape(subject), url.Values{"defaultToGlobal": {"true"}}, nil, &resp)
		if err == nil {
			return schemas.Compatibility(resp.CompatibilityLevel), nil
		}
		if !errors.Is(err, ErrSubjectLevelNotSet) && !errors.Is(err, ErrSubjectNotFound) {
			return "", err
		}
	}
	if err := c.do(ctx, http.MethodGet, "/config", nil, nil, &resp); err != nil {
		return "", err
	}
	return schemas.Compatibility(resp.CompatibilityLevel), nil
}

// SetConfig sets subject's compatibility level, or the global one when
// subject is empty.
func (c *Client) SetConfig(ctx context.Context, subject string, level schemas.Compatibility) error {
	path := "/config"
	if subject != "" {
		path += "/" + url.PathEscape(subject)
	}
	var resp configRequest
	return c.do(ctx, http.MethodPut, path, nil, configRequest{Compatibility: string(level)}, &resp)
}

// DeleteSubject deletes subject and returns the versions it had.
func (c *Client) DeleteSubject(ctx context.Context, subject string) ([]int, error) {
	var out []int
	err := c.do(ctx, http.MethodDelete, subjectPath(subject), nil, nil, &out)
	return out, err
}
