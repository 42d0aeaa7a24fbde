// Package stdout is the console sink: it renders records in one of four
// formats (pretty, json, tsv, text) to a writer, normally the process's
// standard output.
package stdout

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// Formats lists the valid Config.Format values.
var Formats = []string{"pretty", "json", "tsv", "text", "avro", "protobuf", "json_schema"}

// Config is the sink's settings: plain data. The json tags name the keys
// of the `config` block (cue/connectors.cue, #Stdout, which holds the
// defaults): the compiler decodes the block into a Config through them.
type Config struct {
	// Format is pretty, json, tsv, text, or a typed format (avro,
	// protobuf, json_schema: the base64 of each record's encoded bytes).
	// The config default is pretty; New also takes "" as pretty, so that
	// the zero Config is valid for Go callers.
	Format string `json:"format"`
	// IncludeMetadata adds the source metadata (formats pretty, json, tsv
	// and text; the typed formats ignore it).
	IncludeMetadata bool `json:"include_metadata"`
	// IncludeTimestamp adds the event timestamp (formats pretty, json and
	// tsv; text and the typed formats ignore it). The config default is
	// true.
	IncludeTimestamp bool `json:"include_timestamp"`
}

// Sink writes records to W. A batch is rendered into one buffer and written
// with a single Write call, so concurrent sinks sharing W do not interleave
// within a batch. Write is called from one goroutine (runtime.Sink).
type Sink struct {
	cfg Config
	w   io.Writer
	buf []byte

	formats runtime.TypedFormats  // UseFormats
	typed   runtime.RecordEncoder // format avro, from Open
	raw     []byte
}

var _ runtime.Sink = (*Sink)(nil)

// New returns a sink writing to w, or an error for an unknown format.
func New(cfg Config, w io.Writer) (*Sink, error) {
	if cfg.Format == "" {
		cfg.Format = "pretty"
	}
	if !slices.Contains(Formats, cfg.Format) {
		return nil, fmt.Errorf("stdout: unknown format %q (valid: %s)", cfg.Format, strings.Join(Formats, ", "))
	}
	return &Sink{cfg: cfg, w: w}, nil
}

// UseFormats gives the sink the process's typed formats (its schema
// registry), which the typed formats need (Open fails without them). Call
// before Open.
func (s *Sink) UseFormats(f runtime.TypedFormats) { s.formats = f }

// Open prepares the typed-format encoder; for other formats it does nothing.
func (s *Sink) Open(context.Context) error {
	if runtime.IsTypedFormat(s.cfg.Format) {
		enc, err := runtime.NewEncoder(s.formats, s.cfg.Format)
		if err != nil {
			return fmt.Errorf("stdout: %w", err)
		}
		s.typed = enc
	}
	return nil
}

// Close does nothing; every Write already reached the writer.
func (s *Sink) Close() error { return nil }

// Write renders records and writes them; the records are accepted once the
// underlying writer took the bytes.
func (s *Sink) Write(ctx context.Context, records []runtime.Record) error {
	buf := s.buf[:0]
	for i := range records {
		if s.typed == nil {
			buf = s.Append(buf, &records[i])
			continue
		}
		var err error
		if s.raw, err = s.typed.Append(ctx, s.raw[:0], records[i].Stream+"-value", &records[i]); err != nil {
			return fmt.Errorf("stdout: %w", err)
		}
		buf = base64.StdEncoding.AppendEncode(buf, s.raw)
		buf = append(buf, '\n')
	}
	s.buf = buf
	if _, err := s.w.Write(buf); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	return nil
}

// Append renders one record in the sink's format, newline-terminated.
func (s *Sink) Append(buf []byte, r *runtime.Record) []byte {
	switch s.cfg.Format {
	case "json":
		buf = runtime.AppendSourceEvent(buf, r, s.cfg.IncludeMetadata, s.cfg.IncludeTimestamp)
	case "tsv":
		if s.cfg.IncludeTimestamp {
			buf = runtime.AppendTimestamp(buf, r.Time)
			buf = append(buf, '\t')
		}
		buf = append(buf, r.Op.String()...)
		buf = append(buf, '\t')
		buf = appendTSVField(buf, r.Stream)
		buf = append(buf, '\t')
		buf = runtime.AppendData(buf, r, "", 0)
		if s.cfg.IncludeMetadata {
			buf = append(buf, '\t')
			buf = runtime.AppendMetadata(buf, r)
		}
	case "text":
		buf = append(buf, r.Op.String()...)
		buf = append(buf, ' ')
		buf = append(buf, r.Stream...)
		buf = append(buf, ' ')
		buf = runtime.AppendData(buf, r, "", 0)
		if s.cfg.IncludeMetadata {
			buf = append(buf, ' ')
			buf = runtime.AppendMetadata(buf, r)
		}
	default: // pretty
		if s.cfg.IncludeTimestamp {
			buf = append(buf, '[')
			buf = r.Time.UTC().AppendFormat(buf, "2006-01-02 15:04:05.000")
			buf = append(buf, "] "...)
		}
		buf = append(buf, strings.ToUpper(r.Op.String())...)
		buf = append(buf, ": "...)
		buf = append(buf, r.Stream...)
		buf = append(buf, '\n')
		buf = runtime.AppendData(buf, r, "  ", 0)
		if s.cfg.IncludeMetadata {
			buf = append(buf, "\nmetadata: "...)
			buf = runtime.AppendMetadata(buf, r)
		}
	}
	return append(buf, '\n')
}

// appendTSVField appends s with tabs and newlines escaped.
func appendTSVField(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\t':
			buf = append(buf, '\\', 't')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\\':
			buf = append(buf, '\\', '\\')
		default:
			buf = append(buf, s[i])
		}
	}
	return buf
}
