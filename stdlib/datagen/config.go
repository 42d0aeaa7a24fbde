package datagen

import (
	"errors"
	"strconv"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// Config configures a datagen source. It is plain data: the code generator
// writes it as a Go composite literal, so it holds only basic types, slices
// and runtime.Value fields. The json tags name the keys of the `config`
// block (cue/connectors.cue, #Datagen, which holds the defaults): the
// compiler decodes the block into a Config through them; fields tagged "-"
// are set from the block by the compiler (HasSeed, CustomFields). The zero
// Config is valid, for Go callers: pattern random, no rate limit, no event
// limit, stream "datagen", seeded from the clock.
//
// A Config is read, never modified, by Schema and New; the caller may share
// one between them.
type Config struct {
	// Pattern is one of Patterns; "" means "random".
	Pattern string `json:"pattern"`
	// EventsPerSecond paces the source; 0 = unlimited. It must be within
	// 0..MaxEventsPerSecond.
	EventsPerSecond int `json:"events_per_second"`
	// MaxEvents is the number of records after which Read returns io.EOF;
	// 0 = unlimited. Every emitted record counts, whatever its Op. Must not be
	// negative.
	MaxEvents int64 `json:"max_events"`
	// StreamName is the Stream of every record; "" means "datagen". At most
	// 255 bytes.
	StreamName string `json:"stream_name"`
	// Namespace is the Namespace of every record ("" = none).
	Namespace string `json:"namespace"`
	// IncludeSequence adds the int field "_sequence" (the record's 0-based
	// sequence number, equal to Position.Offset) after the pattern fields.
	IncludeSequence bool `json:"include_sequence"`
	// IncludeTimestamp adds the string field "_timestamp" (the clock's now(),
	// RFC 3339 UTC with second precision) after "_sequence".
	IncludeTimestamp bool `json:"include_timestamp"`
	// CustomFields are appended to every record, in this order, after the
	// optional fields. Names must be non-empty, distinct, and not collide with
	// a generated field; values must not be runtime.Absent(). The values are
	// shared by every record (runtime.Value is immutable).
	CustomFields []CustomField `json:"-"`
	// Seed seeds the generator when HasSeed is set.
	Seed int64 `json:"seed"`
	// HasSeed selects Seed; when false the seed is taken from the clock passed
	// to New (so a fixed clock still gives reproducible records).
	HasSeed bool `json:"-"`
	// CDCMode turns the record stream into simulated change events
	// (insert/update/delete) over a pool of live rows; see the package doc.
	CDCMode bool `json:"cdc_mode"`
}

// CustomField is a constant field appended to every record.
type CustomField struct {
	Name  string
	Value runtime.Value
}

// Patterns lists the valid values of Config.Pattern, in documentation order.
// Callers must not modify it.
var Patterns = []string{"sequence", "random", "users", "orders", "events", "metrics", "key_value"}

// DefaultStreamName is the stream name used when Config.StreamName is empty.
const DefaultStreamName = "datagen"

// MaxEventsPerSecond is the largest accepted Config.EventsPerSecond.
const MaxEventsPerSecond = 100_000

// Names of the optional fields.
const (
	SequenceField  = "_sequence"
	TimestampField = "_timestamp"
)

// pattern is the internal enum of Patterns; its values index Patterns.
type pattern uint8

const (
	patSequence pattern = iota
	patRandom
	patUsers
	patOrders
	patEvents
	patMetrics
	patKeyValue
)

// parsePattern maps a Config.Pattern to its enum ("" = random).
func parsePattern(name string) (pattern, error) {
	if name == "" {
		return patRandom, nil
	}
	for i, p := range Patterns {
		if p == name {
			return pattern(i), nil
		}
	}
	return 0, errors.New("datagen: unknown pattern " + strconv.Quote(name) +
		" (valid patterns: " + strings.Join(Patterns, ", ") + ")")
}

// KeyField returns the name of the field that identifies a row of pattern
// (the field CDC-mode updates never change and that a keyed sink should
// partition by): "value" for sequence, "id" for random, "user_id",
// "order_id", "event_id", "metric_id", "key". It returns "" for an unknown
// pattern; "" as pattern means random.
func KeyField(pattern string) string {
	p, err := parsePattern(pattern)
	if err != nil {
		return ""
	}
	return patternFields[p][0].Name
}

// Validate reports the first problem of c: an unknown pattern (the error
// names it and lists Patterns), an out-of-range EventsPerSecond, a negative
// MaxEvents, a too-long StreamName, or an invalid custom field. Schema and
// New call it.
func (c Config) Validate() error {
	p, err := parsePattern(c.Pattern)
	if err != nil {
		return err
	}
	if c.EventsPerSecond < 0 || c.EventsPerSecond > MaxEventsPerSecond {
		return errors.New("datagen: events_per_second " + strconv.Itoa(c.EventsPerSecond) +
			" out of range 0.." + strconv.Itoa(MaxEventsPerSecond) + " (0 = unlimited)")
	}
	if c.MaxEvents < 0 {
		return errors.New("datagen: max_events " + strconv.FormatInt(c.MaxEvents, 10) +
			" is negative (0 = unlimited)")
	}
	if len(c.StreamName) > 255 {
		return errors.New("datagen: stream_name is " + strconv.Itoa(len(c.StreamName)) +
			" bytes long (at most 255)")
	}
	taken := make(map[string]bool, len(patternFields[p])+2+len(c.CustomFields))
	for _, f := range patternFields[p] {
		taken[f.Name] = true
	}
	if c.IncludeSequence {
		taken[SequenceField] = true
	}
	if c.IncludeTimestamp {
		taken[TimestampField] = true
	}
	for _, f := range c.CustomFields {
		switch {
		case f.Name == "":
			return errors.New("datagen: custom field with an empty name")
		case taken[f.Name]:
			return errors.New("datagen: custom field " + strconv.Quote(f.Name) +
				" duplicates a field of the record (pattern " + Patterns[p] + ")")
		case f.Value.Kind() == runtime.KindAbsent:
			return errors.New("datagen: custom field " + strconv.Quote(f.Name) + " has no value")
		}
		taken[f.Name] = true
	}
	return nil
}
