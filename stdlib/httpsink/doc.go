// Package httpsink is the `http` sink: it sends records to an HTTP
// endpoint and returns from Write only once the server accepted every one
// of them, so the runtime acknowledges source positions only for records
// the server answered with a success.
//
// # Requests
//
// Write encodes its records (Config.Envelope: the SourceEvent JSON of
// runtime.AppendSourceEvent with timestamp and metadata, the Debezium-style
// envelope of runtime.AppendDebezium, or the row alone) and splits them, in
// order, into requests of at most Config.MaxBatchRecords records and
// Config.MaxBatchBytes body bytes (a larger record goes alone). The body is
// NDJSON (one record per line), a JSON array, or, with FormatJSON, one
// record's object per request. Up to Config.MaxInFlight requests are in
// flight at once; with more than one they may reach the server in any
// order, and with one they go in record order. Every request carries
// Config.Headers, the authentication (basic or bearer), a Content-Type
// for the format unless a header sets one, and, unless
// Config.IdempotencyHeader is "", an idempotency key:
// "<run>-<first>-<last>", the offsets of the request's first and last
// records (runtime.Position) after a random value drawn once per sink, so
// that a retried request carries the same key and keys never repeat across
// runs, whose offsets may. Redirects are not followed (a POST would lose
// its body): a 3xx fails like any other status that is not a success.
//
// # Responses
//
// A status counts as success when it is 2xx or listed in
// Config.SuccessfulOn; it is retried when it is listed in Config.RetryOn or
// is 408, 429 or 5xx, unless Config.DropOn lists it; every other status
// fails the request at once. A failed connection, a reset, a response cut
// short, or no response within Config.TimeoutMs are retried too; TLS
// failures (an untrusted or misnamed certificate, a handshake the server
// refused) and invalid requests are not. Before retry n (from 0) the sink
// waits a random time between half of and all of InitialBackoffMs × 2^n,
// capped at MaxBackoffMs (jitter, so that sinks failed together do not
// retry together); a Retry-After header (seconds or an HTTP date) sets the
// wait instead, at most MaxBackoffMs. A request is sent at most
// MaxRetries + 1 times. Retries are logged, at most one line per 10 s with
// the number of similar lines left out. The runtime's settings.retry does
// not apply: the sink retries each request itself, so that one failing
// request of several in flight is retried alone, after the wait the
// server asked for.
//
// # Pipelining
//
// The sink is a runtime.AsyncSink. When the pipeline's on_error is stop
// (UseErrorPolicy) and Config.MaxInFlight is above 1, WriteAsync encodes a
// write's records, starts its requests and returns, so the MaxInFlight
// requests in flight may belong to successive writes — a pipeline of small
// writes keeps several requests in flight — and reports each write once
// the server answered all of its requests; the runtime acknowledges
// positions only up to the first write not yet reported, whatever order
// the answers come in. A failure stops the pipeline before the failing
// write's first record; the sink then starts no new request or retry, and
// the requests already in flight run to their answer. With skip and
// dead_letter (whose record-by-record rewrite needs the failed write's
// records, which only a Write that has not returned still holds), with
// MaxInFlight 1, and when nobody told it the policy, WriteAsync is Write:
// the requests in flight at once all belong to one write.
//
// # Delivery and failures
//
// Write returns nil only when every request succeeded. Otherwise it waits
// for the requests in flight (starting no new ones, and no new retries),
// and returns the first failure, which the runtime treats as final — it is
// never runtime.Retriable, since the sink already retried — so the
// pipeline's on_error applies: stop, or (skip, dead_letter) the runtime
// writes the records again one at a time and skips or dead-letters those
// that fail. The sink remembers by position the records whose requests
// succeeded in a Write that failed and does not send them again when the
// runtime writes them again, so only a request whose outcome stayed unknown
// (a reset or a timeout after the server read it) may arrive twice, with
// the same idempotency key when it was retried by the sink.
//
// # Messages and secrets
//
// Errors and logs name the URL without its query (or, with
// Config.HideURL, not at all), never show a header value, a password or a
// token, and strip them from the excerpt of a failed response's body that
// they quote. Errors say which records failed (positions) and why (the
// status and its class, or the connection failure without addresses).
//
// # Open and Probe
//
// Open sends one HEAD request with the configured headers and
// authentication (it writes nothing) and fails, with the reason, when the
// server cannot be reached: a refused connection, an unknown host, an
// untrusted certificate, a client certificate the server refused. Probe
// (`check --connect`) sends the same request and reports the connection
// (TLS version, verified certificate or not), and what the answer says of
// the URL and the credentials (401 and 407 fail; 403, 404, 3xx and 5xx
// warn).
package httpsink
