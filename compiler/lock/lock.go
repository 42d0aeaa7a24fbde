// Package lock reads and writes schema lock files: the stream schemas of
// a config's sources (tables, columns, their server types and the record
// types they decode to, primary keys) as `rivven-connect discover --lock`
// read them from the server, kept next to the config and committed with
// it. check reads the lock offline, so conditions and masks on streams
// whose schema the server decides are typed before anything runs. Its
// entry verbs are Parse and Write.
package lock

import (
	"path/filepath"
	"strings"

	"github.com/rivven/rivven-connect/compiler/source"
	"github.com/rivven/rivven-connect/runtime"
)

// Version is the lock file format this build reads and writes.
const Version = 1

// Lock is a parsed lock file.
type Lock struct {
	// File is the lock file's name, as positions show it.
	File string
	// Sources are the locked sources, in file order.
	Sources []*Source
}

// Source is one source's locked streams.
type Source struct {
	Name string
	// Connector is the source's connector when the lock was written; a
	// config whose source has another connector does not match the lock.
	Connector string
	Streams   []*Stream
	// Pos is where the source's entry starts (for errors about it).
	Pos source.Pos
}

// Stream is one stream's locked schema.
type Stream struct {
	Name, Namespace string
	// Key lists the row key's columns, in key order.
	Key     []string
	Columns []Column
	Pos     source.Pos
}

// Column is one column of a stream, in record order.
type Column struct {
	Name string
	// Type is the column's type as the server names it ("numeric(10,2)").
	Type string
	// Kind is the record type its values decode to.
	Kind runtime.Type
	// NotNull: the server refuses nulls in the column (for information;
	// change events may still carry nulls, e.g. a delete's unchanged
	// columns, so records treat every column as nullable).
	NotNull bool
	Pos     source.Pos
}

// Path is the lock file of the config file at configPath: next to it,
// named after it ("pipelines/connect.yaml" → "pipelines/connect.lock.yaml").
// A config read from standard input ("-") has none ("").
func Path(configPath string) string {
	if configPath == "-" || configPath == "" {
		return ""
	}
	ext := filepath.Ext(configPath)
	return strings.TrimSuffix(configPath, ext) + ".lock.yaml"
}

// Source returns the locked source called name, or nil.
func (l *Lock) Source(name string) *Source {
	if l == nil {
		return nil
	}
	for _, s := range l.Sources {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// FullName is the stream's name as configs write it: "namespace.name",
// or the name alone without a namespace.
func (s *Stream) FullName() string {
	if s.Namespace == "" {
		return s.Name
	}
	return s.Namespace + "." + s.Name
}

// Schema is the schema of the stream's records: one field per column, in
// order, each nullable (see Column.NotNull), keyed by Key.
func (s *Stream) Schema() *runtime.Schema {
	fields := make([]runtime.Field, len(s.Columns))
	for i, c := range s.Columns {
		fields[i] = runtime.Field{Name: c.Name, Type: c.Kind, Nullable: true}
	}
	out := runtime.NewSchema(fields...)
	for _, k := range s.Key {
		if i := out.Index(k); i >= 0 {
			out.Key = append(out.Key, i)
		}
	}
	return out
}

// FromDiscovered is the locked source name (connector) of the streams a
// source's discovery returned; a stream's key is its records' row key.
func FromDiscovered(name, connector string, streams []runtime.DiscoveredStream) *Source {
	out := &Source{Name: name, Connector: connector}
	for _, d := range streams {
		st := &Stream{Name: d.Name, Namespace: d.Namespace, Key: append([]string(nil), d.PrimaryKey...)}
		if d.Schema != nil {
			// The records' row key (under REPLICA IDENTITY USING INDEX the
			// index, not the primary key), so the lock keys as they do.
			st.Key = nil
			if len(d.Schema.Key) > 0 {
				st.Key = d.Schema.KeyNames()
			}
			for _, f := range d.Schema.Fields {
				st.Columns = append(st.Columns, Column{Name: f.Name, Type: d.NativeTypes[f.Name], Kind: f.Type, NotNull: d.NotNull[f.Name]})
			}
		}
		out.Streams = append(out.Streams, st)
	}
	return out
}

// Put replaces (or adds, in name order) the locked source s.
func (l *Lock) Put(s *Source) {
	for i, o := range l.Sources {
		if o.Name == s.Name {
			l.Sources[i] = s
			return
		}
	}
	l.Sources = append(l.Sources, s)
	for i := len(l.Sources) - 1; i > 0 && l.Sources[i].Name < l.Sources[i-1].Name; i-- {
		l.Sources[i], l.Sources[i-1] = l.Sources[i-1], l.Sources[i]
	}
}
