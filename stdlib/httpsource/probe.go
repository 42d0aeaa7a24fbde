package httpsource

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/rivven/rivven-connect/runtime"
)

// Probe checks the API without moving data (`check --connect`): with
// OAuth2, that the token endpoint issues a token; then one request of the
// first page — with method GET only, since a POST may change data —,
// reporting its status, whether the server accepted the credentials,
// whether records_path finds an array (and, with a declared schema,
// whether the records fit it), and the next page the pagination finds.
// It returns an error only when the server cannot be reached.
func (s *Source) Probe(ctx context.Context) ([]runtime.Finding, error) {
	defer s.client.CloseIdleConnections()
	var fs []runtime.Finding
	add := func(check, level, detail string) {
		fs = append(fs, runtime.Finding{Check: check, Level: level, Detail: s.redact(detail)})
	}
	if o, ok := s.auth.(*oauth2Auth); ok {
		if _, err := o.token(ctx, true); err != nil {
			var te *tokenError
			if errors.As(err, &te) && !te.refused {
				return fs, errors.New("http source: " + s.redact(err.Error()))
			}
			add("oauth2 token", runtime.FindingFail, err.Error())
			return fs, nil
		}
		add("oauth2 token", runtime.FindingOK, "the token endpoint "+s.shown(o.cc.TokenURL)+" issued an access token")
	}
	if s.cfg.Method == "POST" {
		add("first page", runtime.FindingWarn, "method POST: the probe sends no request (a POST may change data); run the pipeline, or discover, to read the first page")
		return fs, nil
	}
	first := s.first()
	resp, err := s.once(ctx, first, false)
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			return fs, err
		}
		switch {
		case he.unreachable:
			return fs, errors.New(he.msg)
		case he.unauthorized:
			add("auth", runtime.FindingFail, s.unauthorized(first))
		case he.retriable:
			add("request", runtime.FindingWarn, he.msg+" (the source retries this answer)")
		default:
			add("request", runtime.FindingFail, he.msg)
		}
		return fs, nil
	}
	add("request", runtime.FindingOK, "GET "+resp.url+": "+resp.status)
	if s.auth != nil {
		add("auth", runtime.FindingOK, "the server accepted the credentials of "+s.auth.method())
	}
	v, err := runtime.ParseJSON(resp.body)
	if err != nil {
		add("response", runtime.FindingFail, fmt.Sprintf("the response is not JSON: %v", err))
		return fs, nil
	}
	what := "the response"
	if len(s.records) > 0 {
		what = "records_path " + strconv.Quote(s.records.String())
	}
	items, err := s.itemsOf(v, resp.url)
	switch a, found := s.records.Lookup(v); {
	case err != nil:
		add("records_path", runtime.FindingFail, err.Error())
		return fs, nil
	case !found || a.IsNull():
		add("records_path", runtime.FindingWarn, what+" finds nothing in the first page (the source reads that as a page without records)")
	default:
		add("records_path", runtime.FindingOK, fmt.Sprintf("%s holds an array of %d records", what, len(items)))
	}
	if s.declared != nil && len(items) > 0 {
		fit := true
		for i, it := range items {
			o := rowObject(it)
			for _, f := range s.declared.Fields {
				fv, _ := o.Get(f.Name)
				if _, m := conform(fv, f.Type); m != nil {
					add("schema", runtime.FindingFail, fmt.Sprintf("record [%d] of the first page: %s; the source would stop there", i, m.describe(f.Name)))
					fit = false
					break
				}
			}
			if !fit {
				break
			}
		}
		if fit {
			add("schema", runtime.FindingOK, fmt.Sprintf("the first page's %d records fit the declared schema", len(items)))
		}
	}
	next, err := s.nextOf(first, v, resp, len(items))
	if err != nil {
		add("pagination", runtime.FindingFail, err.Error())
		return fs, nil
	}
	switch {
	case s.style == styleNone:
	case next == nil:
		add("pagination", runtime.FindingOK, "the first page is the last ("+s.endReason()+")")
	case s.style == styleCursor:
		add("pagination", runtime.FindingOK, fmt.Sprintf("next cursor %q (at %s)", next.Cursor, s.cursor))
	case s.style == styleLink:
		add("pagination", runtime.FindingOK, "the Link header's next page: "+s.shown(s.base.ResolveReference(mustParse(next.Link)).String()))
	case s.style == stylePage:
		add("pagination", runtime.FindingOK, fmt.Sprintf("the next page is page %d", next.Page))
	}
	return fs, nil
}

// endReason says why a page is the last, for the probe.
func (s *Source) endReason() string {
	switch s.style {
	case styleCursor:
		return "no next cursor at " + s.cursor.String()
	case styleLink:
		return `no rel="next" Link header`
	default:
		return "it is empty, shorter than page_size, or the last of total_pages_path"
	}
}

// Discover returns the source's one stream: its declared schema, or the
// schema inferred from the records of the first page (each field nullable,
// typed by the values it holds there; any when they differ or are all
// null).
func (s *Source) Discover(ctx context.Context) ([]runtime.DiscoveredStream, error) {
	defer s.client.CloseIdleConnections()
	schema := s.declared
	if schema == nil {
		p, err := s.fetch(ctx, s.first(), false)
		if err != nil {
			return nil, err
		}
		schema = inferSchema(p.items)
	}
	return []runtime.DiscoveredStream{{Name: s.cfg.stream(), Schema: schema, SyncModes: []string{"incremental"}}}, nil
}
