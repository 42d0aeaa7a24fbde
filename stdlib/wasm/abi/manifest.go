package abi

import "encoding/json"

// Manifest describes a plugin: rivven_get_manifest's payload, as JSON.
type Manifest struct {
	// ABI is the ABI version the plugin implements (Version).
	ABI int `json:"abi"`
	// Kind is KindTransform, KindSource or KindSink.
	Kind string `json:"kind"`
	// Name and Version identify the plugin for messages and status.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Description is one line for `spec`.
	Description string `json:"description,omitempty"`
	// Encoding is the batch encoding the plugin reads and writes:
	// EncodingBinary (the default when empty) or EncodingJSON.
	Encoding string `json:"encoding,omitempty"`
	// ConfigSchema is a JSON Schema (draft 2020-12 unless it says
	// otherwise) of the plugin's config; check validates the config
	// against it. Absent: any config object.
	ConfigSchema json.RawMessage `json:"config_schema,omitempty"`
	// KeepsSchema (transforms) promises that every record leaves with the
	// fields it came with, in order, with values of the same types: the
	// fields stay typed for the stages after the plugin. Without it,
	// those stages see the plugin's records by field name only.
	KeepsSchema bool `json:"keeps_schema,omitempty"`
	// Streams (sources) declares the streams the plugin's records belong
	// to and their fields, for `spec`, `discover` and typed conditions.
	// Records of an undeclared stream fail.
	Streams []StreamSpec `json:"streams,omitempty"`
	// Splits (sources) promises that the source splits its work into
	// tasks: given InitRequest.Task, an instance reads only that task's
	// share, and the tasks' shares together are what one untasked
	// instance reads, each record in one share. Without it a scalable
	// pipeline of the plugin runs one task.
	Splits bool `json:"splits,omitempty"`
}

// StreamSpec is a stream a plugin source declares.
type StreamSpec struct {
	Name      string      `json:"name"`
	Namespace string      `json:"namespace,omitempty"`
	Fields    []FieldSpec `json:"fields"`
	// Key names the fields that identify a row, in key order.
	Key []string `json:"key,omitempty"`
}

// FieldSpec is a declared field: its type is written as the config
// language writes types ("int", "string", "array<string>",
// "object{a int, ...}", "any").
type FieldSpec struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable,omitempty"`
}

// InitRequest is rivven_init's input, as JSON: sent once to every new
// instance, before any other call but rivven_get_manifest.
type InitRequest struct {
	// ABI is the host's ABI version.
	ABI int `json:"abi"`
	// Plugin is the plugin's name in the config (its key under plugins).
	Plugin string `json:"plugin"`
	// Kind is the role the plugin plays in this pipeline.
	Kind string `json:"kind"`
	// Config is the plugin's config, ${VAR}s substituted.
	Config json.RawMessage `json:"config"`
	// Resume (sources) is the position of the last record acknowledged
	// in an earlier run, as rivven_poll returned it; absent on a first
	// start. The source goes on after that record.
	Resume []byte `json:"resume,omitempty"`
	// Task (sources whose manifest says Splits) is the task this instance
	// runs of a scalable pipeline; absent when the source runs whole.
	Task *Task `json:"task,omitempty"`
}

// Task is task Index (0 ≤ Index < Count) of Count.
type Task struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// HTTPRequest is http_request's input, as JSON. The host sends it only to
// a host:port of the plugin's allow_network list.
type HTTPRequest struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
	// TimeoutMs bounds the request (0: the rest of the call's time).
	TimeoutMs int `json:"timeout_ms,omitempty"`
}

// HTTPResponse is http_request's result, as JSON: the response, or Error
// when there is none (denied by allow_network, unreachable, timed out).
type HTTPResponse struct {
	Status  int                 `json:"status,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
	Error   string              `json:"error,omitempty"`
}
