// Package enrich is the run-time part of the `enrich` transform: it looks
// up extra fields for each record — in PostgreSQL with the user's
// parameterised query, run once per batch with $1 bound to the array of
// keys not cached, or over HTTP with one templated request per key — and
// merges the row found under a field of the record.
//
// Both back ends use it the same way. The compiler splits a pipeline's
// fused per-record function at each enrich stage into segments; Chain runs
// a batch through them: the first segment over every record, then one
// Step.Prepare for the keys of the records still alive, then each record
// through Step.Apply and the next segment, and so on. A Step caches what it
// found (LRU with a TTL; misses with their own, shorter TTL), asks its
// back end once for a key however many callers miss it at once
// (single-flight), and retries transient failures (a lost connection, a
// timeout, an HTTP 5xx) a bounded number of times. A lookup that still
// fails is a failure of each record that needed it (a *runtime.StageError
// naming the transform), which the pipeline's on_error routes.
//
// Secrets: the password and header values never appear in errors; errors
// never show a record's key either (it is the user's data).
package enrich
