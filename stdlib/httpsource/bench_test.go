package httpsource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// benchAPI serves pages of 100 records from a loopback server, endlessly:
// page p's next cursor is p+1. The bodies are rendered once, so that the
// server's share of the work is small and the same for every client.
func benchAPI(b *testing.B) *httptest.Server {
	const pages, per = 64, 100
	bodies := make([][]byte, pages)
	for p := range bodies {
		var sb strings.Builder
		sb.WriteString(`{"data":{"items":[`)
		for i := range per {
			if i > 0 {
				sb.WriteByte(',')
			}
			id := p*per + i
			fmt.Fprintf(&sb, `{"id":%d,"name":"customer %d","email":"c%d@example.com","price":%d.25,"active":%t,"tags":["a","b"],"address":{"city":"Berlin","zip":"10115"}}`,
				id, id, id, id%1000, id%3 == 0)
		}
		fmt.Fprintf(&sb, `]},"meta":{"next":"%d"}}`, p+1)
		bodies[p] = []byte(sb.String())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bodies[p%pages])
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkPoll reads records from a loopback API (one op = one record):
// baseline is a bare net/http + encoding/json loop over the same pages
// (decoding each record into a map); source is the http source through
// Read, with the fields learned per record; declared with a declared
// schema.
func BenchmarkPoll(b *testing.B) {
	srv := benchAPI(b)
	b.Run("baseline", func(b *testing.B) {
		client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		defer client.CloseIdleConnections()
		b.ReportAllocs()
		read, cursor := 0, ""
		for read < b.N {
			u := srv.URL + "/items"
			if cursor != "" {
				u += "?cursor=" + cursor
			}
			res, err := client.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Data struct {
					Items []map[string]any `json:"items"`
				} `json:"data"`
				Meta struct {
					Next string `json:"next"`
				} `json:"meta"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				b.Fatal(err)
			}
			read += len(page.Data.Items)
			cursor = page.Meta.Next
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	cfg := Config{URL: srv.URL + "/items", RecordsPath: "data.items", Pagination: Pagination{CursorPath: "meta.next", CursorParam: "cursor"}}
	declared := cfg
	declared.Schema = []Field{{"id", "int"}, {"name", "string"}, {"email", "string"}, {"price", "float"}, {"active", "bool"},
		{"tags", "array<string>"}, {"address", "object{city string, zip string}"}}
	for _, bc := range []struct {
		name string
		cfg  Config
	}{{"source", cfg}, {"declared", declared}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := NewPoll(bc.cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			if err := s.Open(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := make([]runtime.Record, 256)
			for read := 0; read < b.N; {
				n, err := s.Read(context.Background(), batch[:min(len(batch), b.N-read)])
				if err != nil {
					b.Fatal(err)
				}
				read += n
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
