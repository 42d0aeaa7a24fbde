package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/schemas"
)

// server serves reg's REST API, counting requests.
type server struct {
	*httptest.Server
	requests atomic.Int64
}

func serve(t *testing.T, reg *Registry, opts HandlerOptions) *server {
	t.Helper()
	s := &server{}
	h := Handler(reg, opts)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func newClient(t *testing.T, url string, opts ClientOptions) *Client {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	c, err := NewClient(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw sends a request without the Client and returns status, content type
// and body.
func raw(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), strings.TrimSpace(string(data))
}

func schemaJSON(schema, schemaType string) string {
	b, _ := json.Marshal(registerRequest{Schema: schema, SchemaType: schemaType})
	return string(b)
}

func TestAPIRegisterAndRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg := openDir(t, dir, Options{})
	srv := serve(t, reg, HandlerOptions{})
	c := newClient(t, srv.URL, ClientOptions{})
	if _, _, body := raw(t, "GET", srv.URL+"/subjects", ""); body != "[]" {
		t.Fatalf("GET /subjects on an empty registry: %s", body)
	}

	id, err := c.Register(ctx, "orders-value", "", ordersV1)
	if err != nil || id != 1 {
		t.Fatalf("register = %d, %v", id, err)
	}
	if id, err := c.Register(ctx, "orders-value", "AVRO", ordersV1Spaced); err != nil || id != 1 {
		t.Fatalf("identical schema = %d, %v", id, err)
	}
	if id, _ := c.Register(ctx, "orders-value", "", ordersV2); id != 2 {
		t.Fatalf("v2 id = %d", id)
	}
	if id, _ := c.Register(ctx, "other/value", "", ordersV2); id != 2 {
		t.Fatalf("same schema under a subject with a slash: id %d", id)
	}
	jsID, err := c.Register(ctx, "events-value", "JSON", `{"type":"object"}`)
	if err != nil || jsID != 3 {
		t.Fatalf("json schema id = %d, %v", jsID, err)
	}

	if subs, _ := c.Subjects(ctx); fmt.Sprint(subs) != "[events-value orders-value other/value]" {
		t.Fatalf("subjects = %v", subs)
	}
	if v, _ := c.Versions(ctx, "orders-value"); fmt.Sprint(v) != "[1 2]" {
		t.Fatalf("versions = %v", v)
	}
	want := Schema{Subject: "orders-value", Version: 2, ID: 2, Type: TypeAvro, Text: ordersV2}
	if s, err := c.Latest(ctx, "orders-value"); err != nil || s != want {
		t.Fatalf("latest = %+v, %v", s, err)
	}
	if s, err := c.Version(ctx, "other/value", 1); err != nil || s.ID != 2 || s.Subject != "other/value" {
		t.Fatalf("other/value v1 = %+v, %v", s, err)
	}
	if s, err := c.Lookup(ctx, "orders-value", "", ordersV1Spaced); err != nil || s.Version != 1 || s.ID != 1 {
		t.Fatalf("lookup = %+v, %v", s, err)
	}
	if s, err := c.SchemaByID(ctx, jsID); err != nil || s.Type != TypeJSON || s.Text != `{"type":"object"}` {
		t.Fatalf("schema %d = %+v, %v", jsID, s, err)
	}

	// Wire shapes: schemaType left out for Avro, present otherwise; the
	// /schema endpoint returns the schema itself.
	status, ctype, body := raw(t, "GET", srv.URL+"/subjects/orders-value/versions/1", "")
	if status != 200 || ctype != ContentType || body != fmt.Sprintf(`{"subject":"orders-value","version":1,"id":1,"schema":%q}`, ordersV1) {
		t.Fatalf("GET version: %d %s %s", status, ctype, body)
	}
	if _, _, body := raw(t, "GET", srv.URL+"/schemas/ids/3", ""); body != `{"id":3,"schemaType":"JSON","schema":"{\"type\":\"object\"}"}` {
		t.Fatalf("GET /schemas/ids/3: %s", body)
	}
	if _, _, body := raw(t, "GET", srv.URL+"/subjects/orders-value/versions/latest/schema", ""); body != ordersV2 {
		t.Fatalf("GET schema: %s", body)
	}
	if _, _, body := raw(t, "POST", srv.URL+"/subjects/orders-value/versions", schemaJSON(ordersV2, "")); body != `{"id":2}` {
		t.Fatalf("POST versions: %s", body)
	}
	if _, _, body := raw(t, "GET", srv.URL+"/schemas/types", ""); body != `["AVRO","JSON"]` {
		t.Fatalf("GET /schemas/types: %s", body)
	}

	// Restart over the same directory: ids and versions are unchanged.
	srv.Close()
	reg.Close()
	reg = openDir(t, dir, Options{})
	defer reg.Close()
	srv = serve(t, reg, HandlerOptions{})
	c = newClient(t, srv.URL, ClientOptions{})
	if s, err := c.Lookup(ctx, "orders-value", "", ordersV2); err != nil || s.ID != 2 || s.Version != 2 {
		t.Fatalf("after restart: %+v, %v", s, err)
	}
	if s, err := c.SchemaByID(ctx, 1); err != nil || s.Text != ordersV1 {
		t.Fatalf("id 1 after restart: %+v, %v", s, err)
	}
	if id, _ := c.Register(ctx, "new-value", "", ordersV1); id != 1 {
		t.Fatalf("known schema under a new subject after restart: id %d", id)
	}
	if v, err := c.DeleteSubject(ctx, "orders-value"); err != nil || fmt.Sprint(v) != "[1 2]" {
		t.Fatalf("delete = %v, %v", v, err)
	}
	if _, err := c.Versions(ctx, "orders-value"); !errors.Is(err, ErrSubjectNotFound) {
		t.Fatalf("deleted subject: %v", err)
	}
}

func TestAPIErrors(t *testing.T) {
	ctx := context.Background()
	reg, _ := Open(Options{})
	defer reg.Close()
	srv := serve(t, reg, HandlerOptions{})
	c := newClient(t, srv.URL, ClientOptions{})
	if _, err := c.Register(ctx, "orders-value", "", ordersV1); err != nil {
		t.Fatal(err)
	}

	_, err := c.Register(ctx, "orders-value", "", ordersBad)
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "Order.amount") {
		t.Fatalf("incompatible register: %v", err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"subject", errOf(c.Versions(ctx, "nope")), ErrSubjectNotFound},
		{"version", errOf(c.Version(ctx, "orders-value", 7)), ErrVersionNotFound},
		{"id", errOf(c.SchemaByID(ctx, 99)), ErrSchemaNotFound},
		{"lookup", errOf(c.Lookup(ctx, "orders-value", "", ordersV2)), ErrSchemaNotFound},
		{"invalid schema", errOf(c.Register(ctx, "x", "", `{"type":"record"}`)), ErrInvalidSchema},
		{"invalid level", c.SetConfig(ctx, "", "SIDEWAYS"), ErrInvalidCompatibility},
	} {
		var e *Error
		if !errors.Is(tc.err, tc.want) || !errors.As(tc.err, &e) || e.Message == "" {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if err := errOf(c.Versions(ctx, "nope")); !strings.Contains(err.Error(), "Subject 'nope' not found.") ||
		!strings.Contains(err.Error(), "GET /subjects/nope/versions") {
		t.Errorf("error text: %v", err)
	}

	for _, tc := range []struct{ method, path, body, want string }{
		{"GET", "/subjects/nope/versions", "", `404 {"error_code":40401,"message":"Subject 'nope' not found."}`},
		{"GET", "/subjects/orders-value/versions/2", "", `404 {"error_code":40402,`},
		{"GET", "/subjects/orders-value/versions/abc", "", `422 {"error_code":42202,`},
		{"GET", "/subjects/orders-value/versions/0", "", `422 {"error_code":42202,`},
		{"GET", "/schemas/ids/5", "", `404 {"error_code":40403,"message":"Schema 5 not found."}`},
		{"POST", "/subjects/orders-value/versions", schemaJSON(ordersBad, ""), `409 {"error_code":409,`},
		{"POST", "/subjects/x/versions", `{"schema":"\"long\"","references":[{"name":"a","subject":"b","version":1}]}`, `422 {"error_code":42201,`},
		{"POST", "/subjects/x/versions", `{"schema":`, `400 {"error_code":400,`},
		{"PUT", "/config", `{"compatibility":"sideways"}`, `422 {"error_code":42203,`},
		{"GET", "/config/orders-value", "", `404 {"error_code":40408,`},
		{"GET", "/no/such/path", "", `404 {"error_code":404,`},
	} {
		status, ctype, body := raw(t, tc.method, srv.URL+tc.path, tc.body)
		if got := fmt.Sprint(status, " ", body); !strings.HasPrefix(got, tc.want) || ctype != ContentType {
			t.Errorf("%s %s = %s (%s), want %s…", tc.method, tc.path, got, ctype, tc.want)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestAPICompatibilityAndConfig(t *testing.T) {
	ctx := context.Background()
	reg, _ := Open(Options{})
	defer reg.Close()
	srv := serve(t, reg, HandlerOptions{})
	c := newClient(t, srv.URL, ClientOptions{})
	if _, err := c.Register(ctx, "orders-value", "", ordersV1); err != nil {
		t.Fatal(err)
	}

	if err := c.TestCompatibility(ctx, "orders-value", Latest, "", ordersV2); err != nil {
		t.Fatalf("compatible schema: %v", err)
	}
	err := c.TestCompatibility(ctx, "orders-value", 1, "", ordersBad)
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "Order.amount") {
		t.Fatalf("incompatible schema: %v", err)
	}
	if err := c.TestCompatibility(ctx, "nope", Latest, "", ordersV2); !errors.Is(err, ErrSubjectNotFound) {
		t.Fatalf("missing subject: %v", err)
	}
	path := srv.URL + "/compatibility/subjects/orders-value/versions/latest"
	if _, _, body := raw(t, "POST", path, schemaJSON(ordersBad, "")); body != `{"is_compatible":false}` {
		t.Fatalf("not verbose: %s", body)
	}
	if _, _, body := raw(t, "POST", path+"?verbose=true", schemaJSON(ordersBad, "")); !strings.Contains(body, `"messages":["Order.amount (backward): field is read without a default`) {
		t.Fatalf("verbose: %s", body)
	}
	if _, _, body := raw(t, "POST", srv.URL+"/compatibility/subjects/orders-value/versions", schemaJSON(ordersV2, "")); body != `{"is_compatible":true}` {
		t.Fatalf("without version: %s", body)
	}

	if l, err := c.Config(ctx, ""); err != nil || l != schemas.CompatBackward {
		t.Fatalf("global config = %s, %v", l, err)
	}
	if l, err := c.Config(ctx, "orders-value"); err != nil || l != schemas.CompatBackward {
		t.Fatalf("subject config defaulting to global = %s, %v", l, err)
	}
	if err := c.SetConfig(ctx, "orders-value", "none"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetConfig(ctx, "", schemas.CompatFullTransitive); err != nil {
		t.Fatal(err)
	}
	if _, _, body := raw(t, "GET", srv.URL+"/config/orders-value", ""); body != `{"compatibilityLevel":"NONE"}` {
		t.Fatalf("GET /config/orders-value: %s", body)
	}
	if _, _, body := raw(t, "GET", srv.URL+"/config", ""); body != `{"compatibilityLevel":"FULL_TRANSITIVE"}` {
		t.Fatalf("GET /config: %s", body)
	}
	if err := c.TestCompatibility(ctx, "orders-value", Latest, "", ordersBad); err != nil {
		t.Fatalf("under the subject's NONE: %v", err)
	}
	if _, _, body := raw(t, "DELETE", srv.URL+"/config/orders-value", ""); body != `{"compatibilityLevel":"NONE"}` {
		t.Fatalf("DELETE /config/orders-value: %s", body)
	}
	if l, _ := c.Config(ctx, "orders-value"); l != schemas.CompatFullTransitive {
		t.Fatalf("after deleting the subject level: %s", l)
	}
}

func TestAPIBasicAuth(t *testing.T) {
	ctx := context.Background()
	reg, _ := Open(Options{})
	defer reg.Close()
	srv := serve(t, reg, HandlerOptions{Username: "alice", Password: "s3cret-pw"})

	good := newClient(t, srv.URL, ClientOptions{Username: "alice", Password: "s3cret-pw"})
	if _, err := good.Register(ctx, "a", "", ordersV1); err != nil {
		t.Fatal(err)
	}
	inURL := newClient(t, strings.Replace(srv.URL, "http://", "http://alice:s3cret-pw@", 1), ClientOptions{})
	if _, err := inURL.Subjects(ctx); err != nil {
		t.Fatalf("credentials in the URL: %v", err)
	}

	for name, c := range map[string]*Client{
		"wrong password": newClient(t, srv.URL, ClientOptions{Username: "alice", Password: "wrong-pw"}),
		"wrong user":     newClient(t, strings.Replace(srv.URL, "http://", "http://bob:s3cret-pw@", 1), ClientOptions{}),
		"no credentials": newClient(t, srv.URL, ClientOptions{}),
	} {
		_, err := c.Subjects(ctx)
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "Unauthorized") {
			t.Errorf("%s: %v, want ErrUnauthorized", name, err)
		}
		for _, text := range []string{err.Error(), c.String(), fmt.Sprintf("%v %+v", c, err)} {
			if strings.Contains(text, "s3cret-pw") || strings.Contains(text, "wrong-pw") {
				t.Errorf("%s: password leaked in %q", name, text)
			}
		}
	}
	if s := inURL.String(); s != "schema registry "+srv.URL+" (user alice)" {
		t.Errorf("String() = %q", s)
	}
	status, _, body := raw(t, "GET", srv.URL+"/subjects", "")
	if status != 401 || body != `{"error_code":401,"message":"Unauthorized"}` {
		t.Errorf("unauthenticated request: %d %s", status, body)
	}
	// Transport errors carry no credentials either.
	dead := newClient(t, "http://alice:s3cret-pw@127.0.0.1:1", ClientOptions{Timeout: time.Second})
	if _, err := dead.Subjects(ctx); err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("unreachable registry: %v", err)
	}
	if _, err := NewClient("http://alice:s3cret-pw@bad host/", ClientOptions{}); err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("invalid URL: %v", err)
	}
}

func TestClientCache(t *testing.T) {
	ctx := context.Background()
	reg, _ := Open(Options{})
	defer reg.Close()
	srv := serve(t, reg, HandlerOptions{})
	c := newClient(t, srv.URL, ClientOptions{})
	for range 3 {
		if _, err := c.Register(ctx, "a", "", ordersV1); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SchemaByID(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d requests for 3 registrations and 3 reads of one schema, want 2", n)
	}
	// Not-found answers are not cached.
	for range 2 {
		if _, err := c.SchemaByID(ctx, 2); !errors.Is(err, ErrSchemaNotFound) {
			t.Fatal(err)
		}
	}
	if n := srv.requests.Load(); n != 4 {
		t.Fatalf("%d requests, want 4", n)
	}
}

// Answers the client meets only at other registries: an older Confluent
// without defaultToGlobal, and a proxy that answers in plain text.
func TestClientOtherServers(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/config/orders-value":
			writeError(w, subjectNotFound("orders-value"))
		case "/config":
			writeJSON(w, 200, configResponse{CompatibilityLevel: "FORWARD"})
		default:
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "upstream down")
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL+"/", ClientOptions{})
	if l, err := c.Config(ctx, "orders-value"); err != nil || l != schemas.CompatForward {
		t.Fatalf("config fallback = %s, %v", l, err)
	}
	_, err := c.Subjects(ctx)
	var e *Error
	if !errors.As(err, &e) || e.Code != 502 || e.HTTPStatus() != 502 || !strings.Contains(err.Error(), "Bad Gateway: upstream down") {
		t.Fatalf("proxy error: %v", err)
	}
}
