package enrich

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/httpsource"
)

// maxBody bounds one answer's body.
const maxBody = 16 << 20

// httpBackend asks for each key with one GET, up to MaxInFlight at once.
type httpBackend struct {
	cfg      HTTP
	rowType  runtime.Type
	declared bool
	calls    *atomic.Int64
	path     httpsource.Path
	client   *http.Client
}

func newHTTP(cfg HTTP, t runtime.Type, declared bool, calls *atomic.Int64) *httpBackend {
	p, _ := httpsource.ParsePath(cfg.ResultPath) // Validate checked it
	return &httpBackend{cfg: cfg, rowType: t, declared: declared, calls: calls, path: p, client: &http.Client{}}
}

func (b *httpBackend) close() { b.client.CloseIdleConnections() }

// host names the server for messages: the url's scheme and host, never
// its path or query (which may hold keys or credentials).
func (b *httpBackend) host() string {
	u, err := url.Parse(strings.ReplaceAll(b.cfg.URL, "{{key}}", "k"))
	if err != nil {
		return "the http url"
	}
	return u.Scheme + "://" + u.Host
}

// urlFor is the url with {{key}} replaced by the key's text, escaped as a
// path segment before the query and as a query value in it.
func (b *httpBackend) urlFor(key string) string {
	raw := b.cfg.URL
	q := strings.IndexByte(raw, '?')
	var sb strings.Builder
	for {
		i := strings.Index(raw, "{{key}}")
		if i < 0 {
			sb.WriteString(raw)
			return sb.String()
		}
		sb.WriteString(raw[:i])
		if q >= 0 && i > q {
			sb.WriteString(url.QueryEscape(key))
		} else {
			sb.WriteString(url.PathEscape(key))
		}
		raw = raw[i+len("{{key}}"):]
		if q >= 0 {
			q -= i + len("{{key}}")
		}
	}
}

// fetch asks for every key; the keys answered count even when others
// failed. The error is the first failure (transient when every failure
// was).
func (b *httpBackend) fetch(ctx context.Context, keys []runtime.Value, texts []string) (map[string]result, error) {
	out := make(map[string]result, len(texts))
	var mu sync.Mutex
	var firstErr error
	allTransient := true
	sem := make(chan struct{}, max(b.cfg.MaxInFlight, 1))
	var wg sync.WaitGroup
	for _, t := range texts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := b.get(ctx, t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				var tr *transientError
				if !errors.As(err, &tr) {
					allTransient = false
				}
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			out[t] = res
		}()
	}
	wg.Wait()
	if firstErr != nil {
		if allTransient {
			return out, firstErr
		}
		var tr *transientError
		if errors.As(firstErr, &tr) {
			return out, tr.err
		}
		return out, firstErr
	}
	return out, nil
}

// get asks for one key: 200 with a JSON object (at result_path) is a row,
// 404 or a null or missing result a miss; 408, 429, 5xx and a failed or
// timed-out connection are transient; any other answer fails.
func (b *httpBackend) get(ctx context.Context, key string) (result, error) {
	b.calls.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.urlFor(key), nil)
	if err != nil {
		return result{}, fmt.Errorf("enrich: http.url: %v", errors.Unwrap(err))
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range b.cfg.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		why := "the request failed"
		if ctx.Err() != nil {
			why = "no answer in time"
		}
		return result{}, transient(fmt.Errorf("enrich: http lookup at %s: %s", b.host(), why))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return result{}, transient(fmt.Errorf("enrich: http lookup at %s: the answer was cut short", b.host()))
	case resp.StatusCode == http.StatusNotFound:
		return result{}, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return result{}, transient(fmt.Errorf("enrich: http lookup at %s: answered %s", b.host(), resp.Status))
	case resp.StatusCode != http.StatusOK:
		return result{}, fmt.Errorf("enrich: http lookup at %s: answered %s", b.host(), resp.Status)
	case len(body) > maxBody:
		return result{}, fmt.Errorf("enrich: http lookup at %s: the answer is larger than %d bytes", b.host(), maxBody)
	}
	v, err := runtime.ParseJSON(body)
	if err != nil {
		return result{}, fmt.Errorf("enrich: http lookup at %s: the answer is not JSON: %v", b.host(), err)
	}
	v, ok := b.path.Lookup(v)
	if !ok || v.IsNull() {
		return result{}, nil
	}
	o := v.AsObject()
	if o == nil {
		return result{}, fmt.Errorf("enrich: http lookup at %s: the answer's result (result_path %q) is a %s, not an object", b.host(), b.cfg.ResultPath, v.Kind())
	}
	row, err := makeRow(o.Keys, o.Values, b.rowType, b.declared)
	if err != nil {
		return result{}, fmt.Errorf("enrich: http lookup at %s: %w", b.host(), err)
	}
	return result{row: row, found: true}, nil
}
