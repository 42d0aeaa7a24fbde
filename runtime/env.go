package runtime

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// Env is what components get from the process that runs them. Tests
// substitute a fixed clock and buffers; production uses time.Now and the
// process's standard streams.
type Env struct {
	Now    func() time.Time
	Stdout io.Writer
	Stderr io.Writer
	// Formats encodes the typed formats (avro, protobuf) with the
	// process's schema registry; nil when the config has none.
	Formats TypedFormats
}

// TypedFormats makes encoders for the sink formats that need a schema
// registry. Safe for concurrent use.
type TypedFormats interface {
	// NewEncoder returns an encoder of format, or an error saying why the
	// format is not available.
	NewEncoder(format string) (RecordEncoder, error)
}

// RecordEncoder encodes records in one typed format. It is used by one
// goroutine at a time (a sink's Write).
type RecordEncoder interface {
	// Append appends r, encoded, to buf; subject is where its schema is
	// registered ("<topic>-value"). A failure the registry may recover
	// from is Retriable.
	Append(ctx context.Context, buf []byte, subject string, r *Record) ([]byte, error)
}

// TypedFormatNames are the sink formats that need a schema registry.
var TypedFormatNames = []string{"avro", "protobuf", "json_schema"}

// IsTypedFormat reports whether format is one of TypedFormatNames.
func IsTypedFormat(format string) bool { return slices.Contains(TypedFormatNames, format) }

// NewEncoder returns f's encoder of format, or when f is nil an error
// saying how to configure a schema registry.
func NewEncoder(f TypedFormats, format string) (RecordEncoder, error) {
	if f == nil {
		return nil, fmt.Errorf("format %s needs a schema registry: set settings.state_dir (the embedded registry keeps its schemas there) or schema_registry: {mode: external, url: …}", format)
	}
	return f.NewEncoder(format)
}
