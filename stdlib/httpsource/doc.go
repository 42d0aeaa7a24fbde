// Package httpsource is the http source of rivven-connect. In poll mode
// (Source) it reads a JSON API page by page and emits each element of a
// page's records array as one record; in webhook mode (Webhook) it listens
// for records POSTed to it. New returns the one of Config.Mode.
//
// # Requests
//
// Every request goes to the configured URL (its query parameters always
// sent) with the method (GET or POST), the headers, the credentials
// (basic, bearer, or an OAuth2 client-credentials access token, asked for
// again when it expires or the API answers 401) and, for POST, the body
// with {{cursor}} and {{page}} replaced. Requests are paced by rate_limit
// and bounded by timeout_ms; redirects and Link URLs to another host are
// refused, so credentials go to the URL's host only.
//
// # Pages
//
// A page's records are the array at records_path (ParsePath); a missing or
// null one is an empty page, any other value an error. An element that is
// a JSON object is a record's row (its keys in order); any other element
// is the row {"value": element}. The pagination style finds the next page:
//
//   - cursor: the value at cursor_path (a string or a number), sent as the
//     query parameter cursor_param and/or as {{cursor}} in the body; a page
//     without one (missing, null, "") or with the cursor that fetched it is
//     the last;
//   - link: the rel="next" URL of the Link header; a page without one is
//     the last;
//   - page: page numbers from first_page in page_param (with page_size in
//     page_size_param when set); an empty page, one shorter than
//     page_size, or the one total_pages_path counts as the last ends;
//   - none: every poll reads the URL alone.
//
// A page without records is the last too, whatever it says of a next
// page (an API that hands out a fresh cursor with every empty page is
// thus polled every interval_ms rather than in a loop). The pages from the
// first to the last make a round. After it, at_end
// decides: tail waits interval_ms and reads the last page again,
// delivering only the records past those it delivered from it, and goes
// on from there (for feeds that grow at their end) — or, when that page
// was empty and named a next page, reads that next page; restart waits
// interval_ms and reads from the first page again (every record again);
// stop ends the source (io.EOF).
//
// # Records and schema
//
// Records are plain records (runtime.OpRecord) of stream Config.Stream,
// with the time their page was fetched as event time. Values come from
// runtime.ParseJSON, so they keep their exact JSON text (SPEC §3.1). With
// a declared schema (Config.Schema) every record carries that schema: its
// fields, in order, taken by name (null when missing; undeclared keys are
// not read), each converted to its declared type (an int to a float, an
// integral float to an int); a value of another kind stops the source
// with an error naming the page, the record and the field, never the
// value. Without one, each record carries a schema of its own keys (type
// any; one shared *runtime.Schema per distinct key list), as the broker
// source's JSON messages do.
//
// # Positions
//
// Offsets number the records of a run from the resumed Offset + 1 (0 on a
// first start). Tokens are the resume point, a compact JSON object naming
// a page and how many of its first records were already delivered (see
// style.token): every record of a page carries the page's own token, but
// the last, which carries the next page's (or, for the last page of a
// round, the same page with all its records counted as delivered; with
// at_end restart, the first page). So acknowledging the last record of
// page N resumes at page N+1, and acknowledging part of page N resumes at
// page N: a restart delivers at most that one page again. The source is
// runtime.Resumable: the driver keeps the acknowledged position in
// state_dir, and Resume refuses a position without a token (a state file
// of an earlier version) or of another pagination style, saying to delete
// the state file. A token never holds a credential of the source: a cursor
// or Link URL that would put one there stops the source instead.
//
// # Failures
//
// A request that fails transiently — no connection, a timeout, or the
// answers 408, 429, 500, 502, 503 and 504 — is retried up to
// retry.max_retries times, waiting initial_backoff_ms doubled at each
// retry (the upper half drawn at random, at most max_backoff_ms), or the
// Retry-After the server asks for (at most max_backoff_ms). The first
// request of a run (in Open) is not retried when no connection can be
// made, so a wrong URL fails at once. 401 and 403 fail at once, naming the
// authentication method. Messages show URLs without user information and
// with the values of credential-like query parameters masked, quote at
// most 200 bytes of an error response, and mask every credential of the
// source.
//
// # Webhook mode
//
// Webhook listens on listen.address (loopback by default) for POSTs to
// listen.path. A request's body is a JSON array of records or one record
// (an object) — at records_path when set, a missing or null value there
// being no records —, or with an NDJSON Content-Type
// (application/x-ndjson, application/jsonl, …) one such JSON value a line.
// Records are built as in poll mode (declared schema or learned fields),
// with the request's arrival as event time, and queued for Read with
// increasing offsets. The answers:
//
//   - 204 once the pipeline acknowledged (Ack) every record of the request
//     — written by the sink, or dropped or dead-lettered by the pipeline;
//     at once for a body without records;
//   - 503 with Retry-After: 1 when the queue (listen.max_buffered_records
//     records not yet read) has no room for the request (a request larger
//     than the whole queue is taken when the queue is empty), when the
//     pipeline is stopping, when the source stops before the request's
//     records were all acknowledged, and when they were not acknowledged
//     within timeout_ms (they may then arrive twice: the sender retries);
//   - 401 for missing or wrong credentials (auth.basic or auth.bearer,
//     compared in constant time) or a missing or wrong HMAC signature
//     (hmac.Equal over the raw body); 413 for a body over
//     listen.max_body_bytes; 400 for a body that is not JSON or holds no
//     records array or object; 422 for a record that does not fit the
//     declared schema (naming the record and the field, never the value);
//     404 for another path; 405 for another method.
//
// A request is thus answered 2xx only for records the pipeline is done
// with, and nothing is lost: what is not answered 2xx is the sender's to
// send again. When Read's context ends (the pipeline stops), requests are
// refused and those whose records will not be read are answered 503; the
// driver's final Ack answers those it delivered; Close answers the rest
// 503 and shuts the listener down. Positions are offsets only, from 0 in
// every run: Webhook is not runtime.Resumable.
package httpsource
