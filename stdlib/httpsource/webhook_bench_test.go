package httpsource

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// BenchmarkWebhook measures records through a webhook source: one sender
// POSTs bodies of 100 records while a reader reads and acknowledges them;
// each iteration is one request answered 204.
func BenchmarkWebhook(b *testing.B) {
	cfg := webhookConfig()
	w, err := NewWebhook(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	url := "http://" + w.Addr().String() + "/"
	var body strings.Builder
	body.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"id":1,"name":"alice","total":12.5,"tags":["a","b"]}`)
	}
	body.WriteByte(']')
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		batch := make([]runtime.Record, 256)
		for {
			n, err := w.Read(ctx, batch)
			if err != nil {
				return
			}
			_ = w.Ack(ctx, batch[n-1].Position)
		}
	}()
	b.SetBytes(int64(body.Len()))
	b.ResetTimer()
	for range b.N {
		res, err := http.Post(url, "application/json", strings.NewReader(body.String()))
		if err != nil {
			b.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			b.Fatalf("answered %d", res.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
}
