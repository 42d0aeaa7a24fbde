package httpsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// Webhook is the http source in webhook mode: a listener that takes
// records POSTed to it and answers each request only once the pipeline
// acknowledged every record of it (see the package doc, "Webhook mode").
//
// Its positions are offsets only, from 0 in every run: there is nothing to
// resume (a sender retries what was not answered 2xx), so it is not
// runtime.Resumable.
type Webhook struct {
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	addr     string // the address to bind
	path     string
	maxBody  int64
	capacity int
	timeout  time.Duration
	records  Path
	declared *runtime.Schema // nil: learned per record
	auth     *incomingAuth   // nil: no credentials asked for
	sig      *signer         // nil: no signature checked
	warned   atomic.Int64    // unix nanoseconds of the last refusal warning

	schemaMu sync.Mutex
	inferred schemas

	mu       sync.Mutex
	queue    []runtime.Record // accepted, not yet read: queue[head:]
	head     int
	waiting  []*delivery // requests not yet answered, in offset order
	off      uint64      // the offset of the next accepted record
	stopping bool        // requests answer 503; nothing more is read
	serveErr error       // the listener failed
	avail    chan struct{}
	srv      *http.Server
	bound    net.Addr
	served   chan struct{}
}

// delivery is one request whose records wait for their acknowledgement.
type delivery struct {
	last     uint64        // the offset of its last record
	done     chan struct{} // closed once status is set
	status   int
	answered bool
}

var (
	_ runtime.Source     = (*Webhook)(nil)
	_ runtime.Logged     = (*Webhook)(nil)
	_ runtime.Prober     = (*Webhook)(nil)
	_ runtime.Discoverer = (*Webhook)(nil)
)

// retryAfterSecs is the Retry-After of every 503 answer.
const retryAfterSecs = "1"

// NewWebhook returns the http source of cfg in webhook mode (see
// Config.Validate for what it refuses, a poll-mode cfg included); now is
// the clock of the records' event time (when their request arrived). It
// listens nowhere until Open.
func NewWebhook(cfg Config, now func() time.Time) (*Webhook, error) {
	if cfg.Mode != ModeWebhook {
		return nil, errors.New("http source: NewWebhook: the config is not in webhook mode (set Mode: ModeWebhook)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	w := &Webhook{cfg: cfg, now: now, log: slog.New(slog.DiscardHandler)}
	w.addr, _ = listenAddress(cfg.Listen.Address)
	w.path = orDefault(cfg.Listen.Path, DefaultListenPath)
	w.maxBody = orDefault(cfg.Listen.MaxBodyBytes, DefaultMaxBodyBytes)
	w.capacity = orDefault(cfg.Listen.MaxBufferedRecords, DefaultMaxBufferedRecords)
	w.timeout = time.Duration(orDefault(cfg.TimeoutMs, 30000)) * time.Millisecond
	w.records, _ = ParsePath(cfg.RecordsPath)
	w.declared, _ = Schema(cfg)
	w.auth = newIncomingAuth(cfg.Auth)
	if cfg.HMAC.Secret != "" {
		w.sig = newSigner(cfg.HMAC)
	}
	return w, nil
}

// UseLogger sets the logger of the listener and of refused requests.
func (w *Webhook) UseLogger(l *slog.Logger) { w.log = l }

// Addr returns the address the listener is bound to (with the port the
// system chose for port 0); nil before Open and after Close.
func (w *Webhook) Addr() net.Addr {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bound
}

// Open binds listen.address and starts serving requests. An address that
// cannot be bound (in use, not local, not allowed) is an error naming it.
func (w *Webhook) Open(context.Context) error {
	ln, err := net.Listen("tcp", w.addr)
	if err != nil {
		return fmt.Errorf("http source: cannot listen on listen.address %s: %v", w.addr, unwrapOp(err))
	}
	srv := &http.Server{
		Handler:           w,
		ReadHeaderTimeout: w.timeout,
		ReadTimeout:       w.timeout,
		// Reading the body, waiting for the acknowledgement, answering.
		WriteTimeout: 2*w.timeout + 5*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(w.log.Handler(), slog.LevelDebug),
	}
	w.mu.Lock()
	w.queue, w.head, w.waiting, w.off, w.stopping, w.serveErr = nil, 0, nil, 0, false, nil
	w.avail, w.srv, w.bound, w.served = make(chan struct{}, 1), srv, ln.Addr(), make(chan struct{})
	served := w.served
	w.mu.Unlock()
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			w.mu.Lock()
			w.serveErr = fmt.Errorf("http source: the listener on %s failed: %v", ln.Addr(), err)
			w.signal()
			w.mu.Unlock()
		}
	}()
	if !isLoopback(w.addr) && w.auth == nil && w.sig == nil {
		w.log.Warn("http source: listening beyond loopback without auth or hmac: anyone who reaches the address can send records", "address", ln.Addr().String())
	}
	w.log.Info("http source: listening for webhook requests", "address", ln.Addr().String(), "path", w.path)
	return nil
}

// unwrapOp drops the "listen tcp ADDR:" prefix of a net.OpError (the
// message names the address already).
func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// signal wakes a Read waiting for records (w.mu held).
func (w *Webhook) signal() {
	select {
	case w.avail <- struct{}{}:
	default:
	}
}

// Read returns the oldest accepted records, at most len(batch), waiting
// for a request when there are none. When ctx ends it stops accepting:
// later requests, and those whose records were not all read, are answered
// 503 at once; the requests whose records were all read are answered when
// Ack reaches them, or 503 by Close (which also answers whatever a
// pipeline that stopped without such a Read left).
func (w *Webhook) Read(ctx context.Context, batch []runtime.Record) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		w.stop()
		return 0, err
	}
	for {
		w.mu.Lock()
		if w.avail == nil {
			w.mu.Unlock()
			return 0, errors.New("http source: Read before Open")
		}
		if n := copy(batch, w.queue[w.head:]); n > 0 {
			clear(w.queue[w.head : w.head+n]) // the driver owns them now
			w.head += n
			if w.head == len(w.queue) {
				w.queue, w.head = w.queue[:0], 0
			}
			w.mu.Unlock()
			return n, nil
		}
		if err := w.serveErr; err != nil {
			w.mu.Unlock()
			return 0, err
		}
		if w.stopping {
			w.mu.Unlock()
			return 0, io.EOF
		}
		avail := w.avail
		w.mu.Unlock()
		select {
		case <-avail:
		case <-ctx.Done():
			w.stop()
			return 0, ctx.Err()
		}
	}
}

// stop makes the source refuse requests (503) and answers 503 to those
// whose records were not all read: they will never be.
func (w *Webhook) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopping = true
	if w.head == len(w.queue) {
		return
	}
	first := w.queue[w.head].Position.Offset
	kept := w.waiting[:0]
	for _, d := range w.waiting {
		if d.last >= first {
			d.answer(http.StatusServiceUnavailable)
			continue
		}
		kept = append(kept, d)
	}
	clear(w.waiting[len(kept):])
	w.waiting = kept
	clear(w.queue)
	w.queue, w.head = nil, 0
}

// Ack answers 204 to every request whose records are all at or before
// pos.
func (w *Webhook) Ack(_ context.Context, pos runtime.Position) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := 0
	for i < len(w.waiting) && w.waiting[i].last <= pos.Offset {
		w.waiting[i].answer(http.StatusNoContent)
		i++
	}
	if i > 0 {
		n := copy(w.waiting, w.waiting[i:])
		clear(w.waiting[n:])
		w.waiting = w.waiting[:n]
	}
	return nil
}

// answer sets d's status and wakes its request, once.
func (d *delivery) answer(status int) {
	if d.answered {
		return
	}
	d.answered, d.status = true, status
	close(d.done)
}

// Close stops accepting requests, answers 503 to every request not yet
// answered (the pipeline's final Ack has answered those it acknowledged),
// and shuts the listener down, waiting at most 5 s for the answers to be
// written.
func (w *Webhook) Close() error {
	w.mu.Lock()
	w.stopping = true
	for _, d := range w.waiting {
		d.answer(http.StatusServiceUnavailable)
	}
	w.waiting, w.queue, w.head = nil, nil, 0
	srv, served := w.srv, w.served
	w.srv, w.bound = nil, nil
	w.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
	<-served
	return nil
}

// enqueue accepts recs as one request's: it numbers them and queues them
// for Read. It returns nil and why when it refuses them: the pipeline is
// stopping, or the buffer holds records and has no room for these (a
// request larger than the whole buffer is accepted when it is empty).
func (w *Webhook) enqueue(recs []runtime.Record) (*delivery, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping || w.avail == nil {
		return nil, "the pipeline is stopping"
	}
	if queued := len(w.queue) - w.head; queued > 0 && queued+len(recs) > w.capacity {
		return nil, fmt.Sprintf("the source's buffer is full (%d records wait to be read; listen.max_buffered_records is %d)", queued, w.capacity)
	}
	for i := range recs {
		recs[i].Position = runtime.Position{Offset: w.off}
		w.off++
	}
	if w.head > 0 && w.head >= len(w.queue)/2 { // reclaim the read front
		n := copy(w.queue, w.queue[w.head:])
		clear(w.queue[n:])
		w.queue, w.head = w.queue[:n], 0
	}
	w.queue = append(w.queue, recs...)
	d := &delivery{last: w.off - 1, done: make(chan struct{})}
	w.waiting = append(w.waiting, d)
	w.signal()
	return d, ""
}

// ServeHTTP handles one webhook request: a POST to listen.path whose body
// holds records. See the package doc for the answers.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path != w.path {
		http.Error(rw, "http source: records are POSTed to "+w.path, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "http source: records are sent with POST", http.StatusMethodNotAllowed)
		return
	}
	if w.isStopping() {
		w.unavailable(rw, "the pipeline is stopping")
		return
	}
	if w.auth != nil && !w.auth.check(r) {
		if w.auth.basic {
			rw.Header().Set("WWW-Authenticate", `Basic realm="rivven-connect", charset="UTF-8"`)
		} else {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="rivven-connect"`)
		}
		w.refuse(rw, r, http.StatusUnauthorized, "missing or wrong credentials ("+w.auth.method()+")")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, w.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			w.refuse(rw, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than listen.max_body_bytes (%d bytes)", w.maxBody))
			return
		}
		w.refuse(rw, r, http.StatusBadRequest, "cannot read the body: "+err.Error())
		return
	}
	if w.sig != nil {
		if why := w.sig.verify(r.Header.Get(w.sig.header), body); why != "" {
			w.refuse(rw, r, http.StatusUnauthorized, why)
			return
		}
	}
	recs, status, why := w.parse(r.Header.Get("Content-Type"), body, w.now())
	if why != "" {
		w.refuse(rw, r, status, why)
		return
	}
	if len(recs) == 0 {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	d, why := w.enqueue(recs)
	if d == nil {
		w.unavailable(rw, why)
		return
	}
	t := time.NewTimer(w.timeout)
	defer t.Stop()
	select {
	case <-d.done:
		if d.status == http.StatusNoContent {
			rw.WriteHeader(http.StatusNoContent)
			return
		}
		w.unavailable(rw, "the pipeline stopped before it acknowledged the records; send them again")
	case <-t.C:
		w.unavailable(rw, "the records were not acknowledged within timeout_ms; send them again (they may arrive twice)")
	case <-r.Context().Done(): // the sender is gone; its retry may bring the records twice
	}
}

func (w *Webhook) isStopping() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopping
}

// unavailable answers 503 with Retry-After.
func (w *Webhook) unavailable(rw http.ResponseWriter, why string) {
	rw.Header().Set("Retry-After", retryAfterSecs)
	http.Error(rw, "http source: "+why, http.StatusServiceUnavailable)
}

// refuse answers a request the source will not take (4xx), and logs why
// as a warning, at most one a second (a flood of bad requests does not
// flood the log).
func (w *Webhook) refuse(rw http.ResponseWriter, r *http.Request, status int, why string) {
	http.Error(rw, "http source: "+why, status)
	now := time.Now().UnixNano()
	if last := w.warned.Load(); now-last >= int64(time.Second) && w.warned.CompareAndSwap(last, now) {
		w.log.Warn("http source: refused a webhook request", "status", status, "from", r.RemoteAddr, "reason", why)
	}
}

// ndjsonTypes are the media types whose body is one JSON value a line.
var ndjsonTypes = map[string]bool{
	"application/x-ndjson": true, "application/ndjson": true, "application/jsonl": true,
	"application/x-jsonlines": true, "application/jsonlines": true, "application/json-lines": true,
}

// parse returns the records of a request's body received at at: the
// records of the JSON value it holds, or of each line with an NDJSON
// Content-Type. A body it cannot take gives the status to answer and why.
func (w *Webhook) parse(contentType string, body []byte, at time.Time) ([]runtime.Record, int, string) {
	mt, _, _ := strings.Cut(contentType, ";")
	if ndjsonTypes[strings.ToLower(strings.TrimSpace(mt))] {
		var out []runtime.Record
		for i, line := range strings.Split(string(body), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			recs, status, why := w.parseDoc([]byte(line), at, len(out))
			if why != "" {
				return nil, status, fmt.Sprintf("line %d: %s", i+1, why)
			}
			out = append(out, recs...)
		}
		return out, 0, ""
	}
	return w.parseDoc(body, at, 0)
}

// parseDoc returns the records of one JSON document; first is the index
// of its first record in the request (for messages).
func (w *Webhook) parseDoc(doc []byte, at time.Time, first int) ([]runtime.Record, int, string) {
	v, err := runtime.ParseJSON(doc)
	if err != nil {
		return nil, http.StatusBadRequest, "the body is not JSON: " + err.Error()
	}
	var items []runtime.Value
	switch x, ok := w.records.Lookup(v); {
	case !ok || x.IsNull():
	case x.Kind() == runtime.KindArray:
		items = x.AsArray()
	case x.Kind() == runtime.KindObject:
		items = []runtime.Value{x}
	default:
		what := "the body"
		if len(w.records) > 0 {
			what = fmt.Sprintf("records_path %q in the body", w.records.String())
		}
		return nil, http.StatusBadRequest, fmt.Sprintf("%s is %s %s, not an array of records or one record (an object)", what, article(x.Kind()), x.Kind())
	}
	out := make([]runtime.Record, len(items))
	for i, it := range items {
		o := rowObject(it)
		rec := &out[i]
		*rec = runtime.Record{Stream: w.cfg.stream(), Op: runtime.OpRecord, Time: at}
		if w.declared == nil {
			w.schemaMu.Lock()
			rec.Schema = w.inferred.of(o.Keys)
			w.schemaMu.Unlock()
			rec.After = append([]runtime.Value(nil), o.Values...)
			continue
		}
		rec.Schema = w.declared
		rec.After = make([]runtime.Value, 0, len(w.declared.Fields))
		for _, f := range w.declared.Fields {
			fv, _ := o.Get(f.Name)
			c, m := conform(fv, f.Type)
			if m != nil {
				return nil, http.StatusUnprocessableEntity, fmt.Sprintf("record [%d]: %s", first+i, m.describe(f.Name))
			}
			rec.After = append(rec.After, c)
		}
	}
	return out, 0, ""
}

// Probe checks that listen.address can be bound (and releases it at
// once), and warns about a listener beyond loopback that asks for no
// credentials and no signature. It never returns an error: a failure to
// bind is a failed finding.
func (w *Webhook) Probe(context.Context) ([]runtime.Finding, error) {
	var fs []runtime.Finding
	ln, err := net.Listen("tcp", w.addr)
	if err != nil {
		fs = append(fs, runtime.Finding{Check: "listen", Level: runtime.FindingFail,
			Detail: fmt.Sprintf("cannot listen on listen.address %s: %v", w.addr, unwrapOp(err))})
		return fs, nil
	}
	_ = ln.Close()
	fs = append(fs, runtime.Finding{Check: "listen", Level: runtime.FindingOK,
		Detail: fmt.Sprintf("can listen on %s (released again); records are POSTed to path %s", w.addr, w.path)})
	switch {
	case w.auth == nil && w.sig == nil && !isLoopback(w.addr):
		fs = append(fs, runtime.Finding{Check: "auth", Level: runtime.FindingWarn,
			Detail: "the listener is reachable beyond loopback and asks for no credentials (auth) and no signature (hmac): anyone who reaches it can send records"})
	case w.auth != nil || w.sig != nil:
		var what []string
		if w.auth != nil {
			what = append(what, w.auth.method())
		}
		if w.sig != nil {
			what = append(what, "an hmac signature in "+w.sig.header)
		}
		fs = append(fs, runtime.Finding{Check: "auth", Level: runtime.FindingOK,
			Detail: "requests must carry " + strings.Join(what, " and ")})
	}
	return fs, nil
}

// Discover returns the source's one stream with its declared schema.
// Without one it is an error: webhook mode learns the records' fields
// from the requests it receives.
func (w *Webhook) Discover(context.Context) ([]runtime.DiscoveredStream, error) {
	if w.declared == nil {
		return nil, errors.New("http source: in webhook mode the records' fields are learned from the requests it receives, so there is nothing to list beforehand (declare schema to fix them)")
	}
	return []runtime.DiscoveredStream{{Name: w.cfg.stream(), Schema: w.declared, SyncModes: []string{"incremental"}}}, nil
}
