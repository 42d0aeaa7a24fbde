package registry

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rivven/rivven-connect/schemas"
)

// Latest stands for a subject's newest version wherever a version number
// is accepted.
const Latest = -1

// Options configures Open.
type Options struct {
	// Store is the log the registry replays and appends to; nil keeps the
	// state in memory only. The Registry owns the store from Open on and
	// closes it in Close (also when Open fails).
	Store Store
	// Compatibility is the initial global level; empty means BACKWARD, as
	// in Confluent's registry. A global level set with SetCompatibility is
	// logged and wins over this one on restart.
	Compatibility schemas.Compatibility
	// Formats adds schema types (PROTOBUF, for one) or replaces the
	// built-in AVRO and JSON ones; keys are upper-case type names.
	Formats map[string]Format
}

// Schema is one registered schema, as the registry and the REST API return
// it. Subject and Version are zero when the schema is looked up by id.
type Schema struct {
	Subject string `json:"subject,omitempty"`
	Version int    `json:"version,omitempty"`
	ID      int    `json:"id"`
	// Type is TypeAvro, TypeJSON, TypeProtobuf or an injected type; never
	// empty in values the Registry or Client return.
	Type string `json:"schemaType,omitempty"`
	// Text is the schema as first registered under its id.
	Text string `json:"schema"`
}

// Registry is the registry core. All methods are safe for concurrent use:
// reads share a lock, changes take it exclusively and are logged to the
// Store before they take effect, so a change that returns an error left no
// trace. Open one Registry per Store.
type Registry struct {
	mu       sync.RWMutex
	store    Store
	formats  map[string]Format
	global   schemas.Compatibility
	levels   map[string]schemas.Compatibility
	byID     map[int]*stored
	byKey    map[string]int
	subjects map[string][]int // ids of versions 1..n
	nextID   int
	closed   bool
}

type stored struct {
	typ, text, canonical string
}

// Open returns a registry whose state is opts.Store's log replayed. The
// caller closes it with Close.
func Open(opts Options) (*Registry, error) {
	store := opts.Store
	if store == nil {
		store = &memoryStore{}
	}
	r := &Registry{
		store:    store,
		formats:  builtinFormats(),
		global:   schemas.CompatBackward,
		levels:   map[string]schemas.Compatibility{},
		byID:     map[int]*stored{},
		byKey:    map[string]int{},
		subjects: map[string][]int{},
		nextID:   1,
	}
	fail := func(err error) (*Registry, error) {
		_ = store.Close()
		return nil, err
	}
	maps.Copy(r.formats, opts.Formats)
	for name, f := range r.formats {
		if name != strings.ToUpper(name) || f.Canonical == nil || f.Check == nil {
			return fail(fmt.Errorf("schema registry: format %q needs an upper-case name, Canonical and Check", name))
		}
	}
	if opts.Compatibility != "" {
		c, err := schemas.ParseCompatibility(string(opts.Compatibility))
		if err != nil {
			return fail(fmt.Errorf("schema registry: %w", err))
		}
		r.global = c
	}
	events, err := store.Load()
	if err != nil {
		return fail(err)
	}
	for i, ev := range events {
		if err := r.apply(ev); err != nil {
			return fail(fmt.Errorf("schema registry: replay event %d: %w", i+1, err))
		}
	}
	return r, nil
}

// Close closes the store. Changes after Close fail with ErrBackend; reads
// keep answering from memory.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.store.Close()
}

// apply makes ev take effect. It checks that ev fits the current state,
// so that a log that does not describe a valid history fails replay.
func (r *Registry) apply(ev Event) error {
	switch ev.Kind {
	case EventRegister:
		if ev.Subject == "" || ev.ID <= 0 || ev.SchemaType == "" {
			return fmt.Errorf("register event without subject, id or type")
		}
		if want := len(r.subjects[ev.Subject]) + 1; ev.Version != want {
			return fmt.Errorf("subject %q: version %d registered, expected %d", ev.Subject, ev.Version, want)
		}
		key := ev.SchemaType + "\x00" + ev.Canonical
		if s, ok := r.byID[ev.ID]; ok {
			if s.typ+"\x00"+s.canonical != key {
				return fmt.Errorf("id %d registered again with another schema", ev.ID)
			}
		} else {
			if id, ok := r.byKey[key]; ok {
				return fmt.Errorf("schema of id %d registered again as id %d", id, ev.ID)
			}
			r.byID[ev.ID] = &stored{typ: ev.SchemaType, text: ev.Schema, canonical: ev.Canonical}
			r.byKey[key] = ev.ID
		}
		r.subjects[ev.Subject] = append(r.subjects[ev.Subject], ev.ID)
		r.nextID = max(r.nextID, ev.ID+1)
	case EventConfig:
		if ev.Compatibility == "" {
			if ev.Subject == "" {
				return fmt.Errorf("config event removes the global level")
			}
			delete(r.levels, ev.Subject)
			return nil
		}
		c, err := schemas.ParseCompatibility(string(ev.Compatibility))
		if err != nil {
			return err
		}
		if ev.Subject == "" {
			r.global = c
		} else {
			r.levels[ev.Subject] = c
		}
	case EventDeleteSubject:
		delete(r.subjects, ev.Subject)
	default:
		return fmt.Errorf("unknown event kind %q", ev.Kind)
	}
	return nil
}

// commit logs ev and applies it; r.mu must be held exclusively.
func (r *Registry) commit(ev Event) error {
	if r.closed {
		return backendError(errors.New("registry is closed"))
	}
	if err := r.store.Append(ev); err != nil {
		return backendError(err)
	}
	if err := r.apply(ev); err != nil {
		return backendError(err)
	}
	return nil
}

// format resolves a schema type ("" is AVRO).
func (r *Registry) format(schemaType string) (string, Format, error) {
	typ := strings.ToUpper(schemaType)
	if typ == "" {
		typ = TypeAvro
	}
	f, ok := r.formats[typ]
	if !ok {
		return "", Format{}, invalidSchema(fmt.Errorf("unsupported schema type %q (supported: %s)", schemaType, strings.Join(r.Types(), ", ")))
	}
	return typ, f, nil
}

// Types returns the schema types the registry accepts, sorted. (The
// formats are fixed at Open, so this takes no lock.)
func (r *Registry) Types() []string {
	return slices.Sorted(maps.Keys(r.formats))
}

func checkSubject(subject string) error {
	if subject == "" || strings.ContainsFunc(subject, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		return &Error{Code: CodeInvalidSubject, Message: fmt.Sprintf("Invalid subject %q: empty or with control characters", subject)}
	}
	return nil
}

// Register adds schema (of schemaType, "" meaning AVRO) to subject and
// returns its id and version. A schema with the same type and canonical
// form as one of the subject's versions returns that version unchanged;
// one the registry holds under another subject keeps its id. Otherwise the
// schema must pass the subject's compatibility level against the
// subject's versions, or the error is ErrIncompatible wrapping a
// *schemas.CompatError that names the changes.
func (r *Registry) Register(subject, schemaType, schema string) (Schema, error) {
	if err := checkSubject(subject); err != nil {
		return Schema{}, err
	}
	typ, f, err := r.format(schemaType)
	if err != nil {
		return Schema{}, err
	}
	canonical, err := f.Canonical(schema)
	if err != nil {
		return Schema{}, invalidSchema(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id, known := r.byKey[typ+"\x00"+canonical]
	versions := r.subjects[subject]
	if known {
		if i := slices.Index(versions, id); i >= 0 {
			return r.schema(subject, i+1, id), nil
		}
	}
	level := r.levelLocked(subject)
	if err := r.check(subject, level, typ, f, schema, r.considered(level, len(versions))); err != nil {
		return Schema{}, err
	}
	if !known {
		id = r.nextID
	}
	ev := Event{Kind: EventRegister, Subject: subject, Version: len(versions) + 1, ID: id,
		SchemaType: typ, Schema: schema, Canonical: canonical}
	if err := r.commit(ev); err != nil {
		return Schema{}, err
	}
	return r.schema(subject, ev.Version, id), nil
}

// considered returns the version numbers level checks a new version
// against when the subject has n versions.
func (r *Registry) considered(level schemas.Compatibility, n int) []int {
	if level == schemas.CompatNone || n == 0 {
		return nil
	}
	if strings.HasSuffix(string(level), "_TRANSITIVE") {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	}
	return []int{n}
}

// check runs f.Check of candidate against the given versions of subject.
// r.mu must be held.
func (r *Registry) check(subject string, level schemas.Compatibility, typ string, f Format, candidate string, versions []int) error {
	if len(versions) == 0 {
		return nil
	}
	ids := r.subjects[subject]
	texts := make([]string, len(versions))
	for i, v := range versions {
		s := r.byID[ids[v-1]]
		if s.typ != typ {
			return incompatible(subject, &schemas.CompatError{Level: level, Version: v, Direction: "backward",
				Changes: []schemas.Incompatibility{{Path: "$", Reason: fmt.Sprintf("schema type changed from %s to %s", s.typ, typ)}}})
		}
		texts[i] = s.text
	}
	err := f.Check(level, candidate, texts)
	if err == nil {
		return nil
	}
	var ce *schemas.CompatError
	if !errors.As(err, &ce) {
		return invalidSchema(err)
	}
	out := *ce
	if out.Version >= 1 && out.Version <= len(versions) {
		out.Version = versions[out.Version-1]
	}
	return incompatible(subject, &out)
}

func incompatible(subject string, ce *schemas.CompatError) *Error {
	return &Error{Code: CodeIncompatible, Err: ce, Message: fmt.Sprintf(
		"Schema being registered is incompatible with an earlier schema for subject '%s': %v", subject, ce)}
}

// schema builds the Schema of a subject version; r.mu must be held.
func (r *Registry) schema(subject string, version, id int) Schema {
	s := r.byID[id]
	return Schema{Subject: subject, Version: version, ID: id, Type: s.typ, Text: s.text}
}

// Lookup returns the version of subject that holds schema (compared by
// type and canonical form): ErrSubjectNotFound or ErrSchemaNotFound when
// there is none.
func (r *Registry) Lookup(subject, schemaType, schema string) (Schema, error) {
	typ, f, err := r.format(schemaType)
	if err != nil {
		return Schema{}, err
	}
	canonical, err := f.Canonical(schema)
	if err != nil {
		return Schema{}, invalidSchema(err)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	versions, ok := r.subjects[subject]
	if !ok {
		return Schema{}, subjectNotFound(subject)
	}
	if id, ok := r.byKey[typ+"\x00"+canonical]; ok {
		if i := slices.Index(versions, id); i >= 0 {
			return r.schema(subject, i+1, id), nil
		}
	}
	return Schema{}, &Error{Code: CodeSchemaNotFound, Message: fmt.Sprintf("Schema not found in subject '%s'.", subject)}
}

// Subjects returns the subjects, sorted; an empty, non-nil slice when
// there are none.
func (r *Registry) Subjects() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := slices.AppendSeq(make([]string, 0, len(r.subjects)), maps.Keys(r.subjects))
	slices.Sort(out)
	return out
}

// Versions returns the version numbers of subject, ascending.
func (r *Registry) Versions(subject string) ([]int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids, ok := r.subjects[subject]
	if !ok {
		return nil, subjectNotFound(subject)
	}
	out := make([]int, len(ids))
	for i := range ids {
		out[i] = i + 1
	}
	return out, nil
}

// Version returns version (or Latest) of subject.
func (r *Registry) Version(subject string, version int) (Schema, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids, ok := r.subjects[subject]
	if !ok {
		return Schema{}, subjectNotFound(subject)
	}
	if version == Latest {
		version = len(ids)
	}
	if version < 1 {
		return Schema{}, invalidVersion(strconv.Itoa(version))
	}
	if version > len(ids) {
		return Schema{}, versionNotFound(subject, version)
	}
	return r.schema(subject, version, ids[version-1]), nil
}

// SchemaByID returns the schema with global id id; Subject and Version are
// left zero.
func (r *Registry) SchemaByID(id int) (Schema, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.byID[id]
	if !ok {
		return Schema{}, &Error{Code: CodeSchemaNotFound, Message: fmt.Sprintf("Schema %d not found.", id)}
	}
	return Schema{ID: id, Type: s.typ, Text: s.text}, nil
}

// TestCompatibility reports whether schema may be registered after
// version of subject under the subject's level: nil when it may,
// ErrIncompatible wrapping a *schemas.CompatError when not. With Latest
// the check is the one Register runs (the latest version, or all of them
// under a transitive level); with a version number only that version is
// checked.
func (r *Registry) TestCompatibility(subject string, version int, schemaType, schema string) error {
	typ, f, err := r.format(schemaType)
	if err != nil {
		return err
	}
	if _, err := f.Canonical(schema); err != nil {
		return invalidSchema(err)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids, ok := r.subjects[subject]
	if !ok {
		return subjectNotFound(subject)
	}
	level := r.levelLocked(subject)
	versions := r.considered(level, len(ids))
	if version != Latest {
		if version < 1 {
			return invalidVersion(strconv.Itoa(version))
		}
		if version > len(ids) {
			return versionNotFound(subject, version)
		}
		if level != schemas.CompatNone {
			versions = []int{version}
		}
	}
	return r.check(subject, level, typ, f, schema, versions)
}

func (r *Registry) levelLocked(subject string) schemas.Compatibility {
	if c, ok := r.levels[subject]; ok {
		return c
	}
	return r.global
}

// Compatibility returns the level in force for subject: its own, or the
// global one. Subject "" returns the global level.
func (r *Registry) Compatibility(subject string) schemas.Compatibility {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.levelLocked(subject)
}

// SubjectCompatibility returns subject's own level; ok is false when the
// subject follows the global level.
func (r *Registry) SubjectCompatibility(subject string) (level schemas.Compatibility, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	level, ok = r.levels[subject]
	return level, ok
}

// SetCompatibility sets subject's level, or the global one when subject is
// empty; the subject need not exist yet. An empty level removes the
// subject's own level. It returns the level set, parsed.
func (r *Registry) SetCompatibility(subject string, level schemas.Compatibility) (schemas.Compatibility, error) {
	if level != "" || subject == "" {
		c, err := schemas.ParseCompatibility(string(level))
		if err != nil {
			return "", invalidCompatibility(string(level))
		}
		level = c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return level, r.commit(Event{Kind: EventConfig, Subject: subject, Compatibility: level})
}

// DeleteSubject removes subject and returns the version numbers it had.
// Schema ids stay valid (SchemaByID still finds them, and registering the
// same schema again reuses its id); the subject's next registration is
// version 1. The subject's own compatibility level is kept.
func (r *Registry) DeleteSubject(subject string) ([]int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids, ok := r.subjects[subject]
	if !ok {
		return nil, subjectNotFound(subject)
	}
	if err := r.commit(Event{Kind: EventDeleteSubject, Subject: subject}); err != nil {
		return nil, err
	}
	out := make([]int, len(ids))
	for i := range ids {
		out[i] = i + 1
	}
	return out, nil
}
