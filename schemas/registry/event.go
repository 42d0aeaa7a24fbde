package registry

import "github.com/rivven/rivven-connect/schemas"

// EventKind names what an Event records.
type EventKind string

// The event kinds.
const (
	// EventRegister adds version Version of Subject pointing at schema ID.
	// Schema is the text as registered, Canonical its canonical form and
	// SchemaType its type; the first event naming an id defines it.
	EventRegister EventKind = "register"
	// EventConfig sets the compatibility level of Subject, or the global
	// level when Subject is empty; an empty Compatibility removes a
	// subject's override.
	EventConfig EventKind = "config"
	// EventDeleteSubject removes Subject and its versions; the schemas and
	// their ids stay, and registering the subject again starts at version 1.
	EventDeleteSubject EventKind = "delete_subject"
)

// Event is one change to a Registry, as a Store keeps it. It is plain data
// that round-trips through encoding/json; stores must give events back in
// the order they were appended. Replay does not re-run canonicalisation or
// compatibility checks: it trusts Canonical, so that a later change to a
// canonicaliser never moves an id.
type Event struct {
	Kind          EventKind             `json:"kind"`
	Subject       string                `json:"subject,omitempty"`
	Version       int                   `json:"version,omitempty"`
	ID            int                   `json:"id,omitempty"`
	SchemaType    string                `json:"schemaType,omitempty"`
	Schema        string                `json:"schema,omitempty"`
	Canonical     string                `json:"canonical,omitempty"`
	Compatibility schemas.Compatibility `json:"compatibility,omitempty"`
}
