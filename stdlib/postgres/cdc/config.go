package cdc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Config is the plain-data configuration of a postgres-cdc source (the
// `config` block of a `connector: postgres-cdc` source). The json tags
// name the block's keys (cue/connectors.cue, #PostgresCDC, which holds the
// defaults): the compiler decodes the block into a Config through them.
// New gives the zero fields that have a default the values of Defaults,
// for Go callers that build a Config by hand.
type Config struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	Password string `json:"password"`
	// SlotName is the logical replication slot (pgoutput); default
	// "rivven_slot".
	SlotName string `json:"slot_name"`
	// Publication names the publication; default "rivven_pub". The
	// config's publication_name is an alias of it (the compiler copies it
	// here).
	Publication string `json:"publication"`
	// Schemas and Tables choose what the source reads, and what the
	// publication covers when this source creates it. A table is "name"
	// (in the first of Schemas, or public) or "schema.name", split at the
	// dot outside double quotes. Publication, schemas and tables are
	// written as SQL writes identifiers: unquoted — a letter or _, then
	// letters, digits, _ or $, without A-Z (PostgreSQL would fold them to
	// lower case: refused as ambiguous) — or double-quoted, keeping case,
	// spaces, dots and any other character but NUL, with "" for a "
	// (public."Order Items"); at most 63 bytes each once unquoted.
	// QuoteName spells an exact name so.
	Schemas []string `json:"schemas"`
	Tables  []string `json:"tables"`
	// SnapshotMode is initial (default), always, never, when_needed or
	// initial_only (see the constants).
	SnapshotMode string `json:"snapshot_mode"`
	// HeartbeatIntervalSecs is the period of the standby status updates
	// that report the acknowledged position to the server (default 10).
	HeartbeatIntervalSecs int `json:"heartbeat_interval_secs"`
	// ConnectTimeoutSecs bounds each connection attempt (default 10).
	ConnectTimeoutSecs int `json:"connect_timeout_secs"`
	// ProtocolVersion is the pgoutput protocol version: 1, or 2 (PostgreSQL
	// 14 and later), which has the server stream a large transaction
	// while it is still in progress (the source keeps the changes in a
	// temporary file until the commit). 0 means 2 when the server is 14 or
	// later, else 1.
	ProtocolVersion       int       `json:"protocol_version"`
	AutoCreateSlot        bool      `json:"auto_create_slot"`
	AutoCreatePublication bool      `json:"auto_create_publication"`
	DropSlotOnStop        bool      `json:"drop_slot_on_stop"`
	TLS                   TLSConfig `json:"tls"`
	// SchemaDrift is what the source does when a table's columns differ
	// from Locked (drift.go): fail (default) stops it with an error naming
	// the table and the columns; warn lets columns added after the locked
	// ones through (logged once per table; records carry them) and stops on
	// every other difference. Without a lock it has no effect.
	SchemaDrift string `json:"schema_drift"`
	// Locked are the tables of the config's schema lock, which the compiler
	// fills from it (not a config key); nil means no lock: each table's
	// columns are learned at run time, whatever they are. With a lock, every
	// table the source reads must be locked, and its columns must match the
	// lock (names, order and record types) when the snapshot reads it and at
	// each relation message of the stream (see SchemaDrift): code compiled
	// for the locked schema reads fields by position.
	Locked []LockedTable `json:"-"`
	// LockCommand is the command that rewrites the schema lock, which drift
	// errors tell the user to run (the compiler fills it; not a config key);
	// empty: "rivven-connect discover -c FILE SOURCE --lock".
	LockCommand string `json:"-"`
}

// LockedTable is one table of a schema lock: exact names (as the catalogs
// hold them) and its columns in record order.
type LockedTable struct {
	Schema, Table string
	Columns       []LockedColumn
}

// LockedColumn is one column of a LockedTable.
type LockedColumn struct {
	Name string
	// Type is the column's type as PostgreSQL's format_type prints it
	// ("character varying(255)", "integer[]"); shown in messages only.
	Type string
	// Kind is the record type its values decode to, as runtime.Type's
	// String prints it: "bool", "int", "float", "string", "any" (json,
	// jsonb), "array<int>"… Drift is judged on Kind (and names and order).
	Kind string
	// NotNull: the column refuses nulls (for information: records treat
	// every field as nullable, and drift does not consider it).
	NotNull bool
}

// Schema drift policies (Config.SchemaDrift).
const (
	SchemaDriftFail = "fail" // any drift from the lock stops the source
	SchemaDriftWarn = "warn" // columns added after the locked ones are logged and let through; other drift stops the source
)

// DefaultLockCommand is the command drift errors suggest when
// Config.LockCommand is empty.
const DefaultLockCommand = "rivven-connect discover -c FILE SOURCE --lock"

// TLSConfig configures the connection's TLS like libpq's sslmode,
// sslrootcert, sslcert and sslkey. Mode is disable, prefer (default),
// require, verify-ca or verify-full (verify-full also checks that the
// server certificate names Host).
type TLSConfig struct {
	Mode           string `json:"mode"`
	CACertPath     string `json:"ca_cert_path"`
	ClientCertPath string `json:"client_cert_path"`
	ClientKeyPath  string `json:"client_key_path"`
}

// Snapshot modes.
const (
	SnapshotInitial     = "initial"      // snapshot unless one of this slot is recorded as done
	SnapshotAlways      = "always"       // snapshot at every start, then stream
	SnapshotNever       = "never"        // stream only
	SnapshotWhenNeeded  = "when_needed"  // like initial; also re-creates a missing or invalidated slot (with a new snapshot)
	SnapshotInitialOnly = "initial_only" // one snapshot without a slot, then the source ends
)

// Defaults of SlotName and Publication (see Defaults).
const (
	DefaultSlot        = "rivven_slot"
	DefaultPublication = "rivven_pub"
)

// Defaults returns the values New gives a Config's zero fields: the
// defaults of #PostgresCDC in cue/connectors.cue, which the compiler
// decodes into every Config it builds (a test in compiler/bind holds the
// two equal). They serve Go callers that build a Config by hand; fields
// whose zero value is meaningful (the bools, ProtocolVersion) have none.
func Defaults() Config {
	return Config{
		Host: "localhost", Port: 5432, SlotName: DefaultSlot, Publication: DefaultPublication,
		SnapshotMode: SnapshotInitial, HeartbeatIntervalSecs: 10, ConnectTimeoutSecs: 10,
		TLS: TLSConfig{Mode: "prefer"}, SchemaDrift: SchemaDriftFail,
	}
}

// table is a table by its exact names (as the catalogs hold them).
type table struct{ schema, name string }

// names are the config's identifiers, validated, as exact names.
type names struct {
	publication string
	schemas     []string
	tables      []table
}

// withDefaults returns cfg with its zero fields defaulted (Defaults);
// non-positive periods count as zero.
func withDefaults(cfg Config) Config {
	d := Defaults()
	if cfg.Host == "" {
		cfg.Host = d.Host
	}
	if cfg.Port == 0 {
		cfg.Port = d.Port
	}
	if cfg.SlotName == "" {
		cfg.SlotName = d.SlotName
	}
	if cfg.Publication == "" {
		cfg.Publication = d.Publication
	}
	if cfg.SnapshotMode == "" {
		cfg.SnapshotMode = d.SnapshotMode
	}
	if cfg.HeartbeatIntervalSecs <= 0 {
		cfg.HeartbeatIntervalSecs = d.HeartbeatIntervalSecs
	}
	if cfg.ConnectTimeoutSecs <= 0 {
		cfg.ConnectTimeoutSecs = d.ConnectTimeoutSecs
	}
	if cfg.TLS.Mode == "" {
		cfg.TLS.Mode = d.TLS.Mode
	}
	if cfg.SchemaDrift == "" {
		cfg.SchemaDrift = d.SchemaDrift
	}
	return cfg
}

// ValidSlot reports whether s is a valid replication slot name: lower-case
// letters, digits and _, 1 to 63 bytes (PostgreSQL's own rule).
func ValidSlot(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validate checks cfg (defaulted) and returns its identifiers as exact
// names.
func validate(cfg Config) (names, error) {
	var errs []error
	bad := func(what, v, rule string) {
		errs = append(errs, fmt.Errorf("postgres-cdc: %s %q is not valid: %s", what, v, rule))
	}
	badName := func(what, v string, err error) {
		errs = append(errs, fmt.Errorf("postgres-cdc: %s %s is not valid: %w", what, shown(v), err))
	}
	if cfg.Database == "" {
		errs = append(errs, errors.New("postgres-cdc: database is required"))
	}
	if cfg.User == "" {
		errs = append(errs, errors.New("postgres-cdc: user is required"))
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("postgres-cdc: port %d is out of range 1..65535", cfg.Port))
	}
	if !ValidSlot(cfg.SlotName) {
		bad("slot_name", cfg.SlotName, "use lower-case letters, digits and _, 1 to 63 bytes")
	}
	var n names
	var err error
	if n.publication, err = parseName("publication", cfg.Publication); err != nil {
		badName("publication", cfg.Publication, err)
	}
	for _, s := range cfg.Schemas {
		name, err := parseName("schema", s)
		if err != nil {
			badName("schema", s, err)
			continue
		}
		n.schemas = append(n.schemas, name)
	}
	defSchema := "public"
	if len(n.schemas) > 0 {
		defSchema = n.schemas[0]
	}
	for _, t := range cfg.Tables {
		schema, name, err := parseTable(t)
		if err != nil {
			badName("table", t, err)
			continue
		}
		if schema == "" {
			schema = defSchema
		}
		n.tables = append(n.tables, table{schema: schema, name: name})
	}
	switch cfg.SnapshotMode {
	case SnapshotInitial, SnapshotAlways, SnapshotNever, SnapshotWhenNeeded, SnapshotInitialOnly:
	default:
		bad("snapshot_mode", cfg.SnapshotMode, "use initial, always, never, when_needed or initial_only")
	}
	switch cfg.TLS.Mode {
	case "disable", "prefer", "require", "verify-ca", "verify-full":
	default:
		bad("tls.mode", cfg.TLS.Mode, "use disable, prefer, require, verify-ca or verify-full")
	}
	if cfg.ProtocolVersion < 0 || cfg.ProtocolVersion > 2 {
		errs = append(errs, fmt.Errorf("postgres-cdc: protocol_version %d is not valid: use 1 or 2 (or leave it unset: 2 on PostgreSQL 14 and later, else 1)", cfg.ProtocolVersion))
	}
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " '\\") {
		bad("host", cfg.Host, "a host name or address")
	}
	switch cfg.SchemaDrift {
	case SchemaDriftFail, SchemaDriftWarn:
	default:
		bad("schema_drift", cfg.SchemaDrift, "use fail or warn")
	}
	errs = append(errs, validLock(cfg.Locked)...)
	if len(errs) == 0 {
		return n, nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = strings.TrimPrefix(e.Error(), "postgres-cdc: ")
	}
	return n, errors.New("postgres-cdc: " + strings.Join(msgs, "; "))
}

// protocolFor returns the pgoutput protocol version to use with a server
// of version number server (server_version_num) when want is configured.
func protocolFor(want, server int) (int, error) {
	switch {
	case want == 0 && server >= 140000:
		return 2, nil
	case want == 0:
		return 1, nil
	case want == 2 && server < 140000:
		return 0, fmt.Errorf("postgres-cdc: protocol_version 2 needs PostgreSQL 14 or later (the server's server_version_num is %d): use protocol_version 1", server)
	}
	return want, nil
}

// connConfig builds the connection config. The password is never part of
// the string handed to the parser (pgconn's parse errors quote it): it is
// set on the parsed struct.
func (cfg Config) connConfig(replication bool) (*pgconn.Config, error) {
	var b strings.Builder
	kv := func(k, v string) {
		if v == "" {
			return
		}
		b.WriteString(k)
		b.WriteString("='")
		b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v))
		b.WriteString("' ")
	}
	kv("host", cfg.Host)
	kv("port", strconv.Itoa(cfg.Port))
	kv("dbname", cfg.Database)
	kv("user", cfg.User)
	kv("sslmode", cfg.TLS.Mode)
	kv("sslrootcert", cfg.TLS.CACertPath)
	kv("sslcert", cfg.TLS.ClientCertPath)
	kv("sslkey", cfg.TLS.ClientKeyPath)
	kv("connect_timeout", strconv.Itoa(cfg.ConnectTimeoutSecs))
	kv("application_name", "rivven-connect")
	if replication {
		kv("replication", "database")
	}
	pc, err := pgconn.ParseConfig(b.String())
	if err != nil {
		// The parse error quotes the connection string; say only why.
		var pce *pgconn.ParseConfigError
		if errors.As(err, &pce) && pce.Unwrap() != nil {
			err = pce.Unwrap()
		}
		return nil, fmt.Errorf("postgres-cdc: connection settings: %w", err)
	}
	if cfg.Password != "" {
		pc.Password = cfg.Password
	}
	// The same session settings on both connections make the text form of
	// every value identical in the snapshot and in the stream.
	for k, v := range map[string]string{
		"TimeZone": "UTC", "DateStyle": "ISO, YMD", "IntervalStyle": "iso_8601",
		"extra_float_digits": "3", "bytea_output": "hex", "client_encoding": "UTF8",
	} {
		pc.RuntimeParams[k] = v
	}
	pc.ConnectTimeout = time.Duration(cfg.ConnectTimeoutSecs) * time.Second
	return pc, nil
}

// Validate reports what New would reject in cfg (after defaults), without
// connecting: identifiers, tables, snapshot mode, protocol version, TLS
// mode, schema_drift, and the schema lock's shape (named tables and
// columns, each once, each column with a record type).
func (cfg Config) Validate() error {
	_, err := validate(withDefaults(cfg))
	return err
}

// SelectedTables returns the tables cfg selects as [schema, name] pairs of
// exact names (unquoted: public."Order Items" gives ["public", "Order
// Items"]; defaults applied: an unqualified name is in the first of
// Schemas, or public), in config order, leaving out those that are not
// valid (Validate reports them); nil when the selection is every table of
// Schemas, or every table of the publication. Only selected tables are
// read and streamed: changes of other published tables are dropped when
// they arrive.
func (cfg Config) SelectedTables() [][2]string {
	n, _ := validate(withDefaults(cfg))
	var out [][2]string
	for _, t := range n.tables {
		out = append(out, [2]string{t.schema, t.name})
	}
	return out
}
