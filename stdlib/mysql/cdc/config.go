package cdc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Config is the plain-data configuration of a mysql-cdc source (the
// `config` block of a `connector: mysql-cdc` source). The json tags name
// the block's keys (cue/mysql_cdc.cue, #MySQLCDC, which holds the
// defaults); New gives zero fields the values of Defaults.
type Config struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
	// ServerID is the replica server id the source registers with (1 to
	// 2^32-1); it must differ from the server's own and from every other
	// replica's.
	ServerID int64 `json:"server_id"`
	// Tables are the tables to capture, each "db.table" as SQL writes it:
	// unquoted (letters, digits, _ and $) or backquoted (`Order Items`,
	// with `` for a backquote inside); at least one.
	Tables []string `json:"tables"`
	// SnapshotMode is initial (default), never, initial_only, always or
	// when_needed (see the Snapshot* constants).
	SnapshotMode string `json:"snapshot_mode"`
	// SchemaDrift is what the source does, with a schema lock, when a
	// table's columns differ from it: SchemaDriftFail (default) or
	// SchemaDriftWarn. Without a lock it has no effect.
	SchemaDrift string `json:"schema_drift"`
	// ConnectTimeoutSecs bounds each connection attempt (default 10).
	ConnectTimeoutSecs int       `json:"connect_timeout_secs"`
	TLS                TLSConfig `json:"tls"`
	// Locked are the tables of the config's schema lock, which the compiler
	// fills from it (not a config key); nil means no lock: each table's
	// columns are learned at run time, whatever they are. With a lock,
	// every configured table must be locked, and its columns must match
	// the lock (names, order and record types) at Open (read from
	// information_schema) and at each new binlog table map of it while
	// streaming; any difference stops the source with an error naming the
	// table, the columns and LockCommand (lock.go): code compiled for the
	// locked schema reads fields by position.
	Locked []LockedTable `json:"-"`
	// LockCommand is the command that rewrites the schema lock, which drift
	// errors tell the user to run (the compiler fills it; not a config
	// key); empty: DefaultLockCommand.
	LockCommand string `json:"-"`
}

// TLSConfig configures TLS to the server with postgres-cdc's modes:
// disable, prefer (default: TLS when the server offers it, unverified),
// require (TLS, unverified), verify-ca (the chain must verify against
// CACertPath) and verify-full (also the host name).
type TLSConfig struct {
	Mode           string `json:"mode"`
	CACertPath     string `json:"ca_cert_path"`
	ClientCertPath string `json:"client_cert_path"`
	ClientKeyPath  string `json:"client_key_path"`
}

// Schema drift policies (Config.SchemaDrift).
const (
	SchemaDriftFail = "fail" // any drift from the lock stops the source
	SchemaDriftWarn = "warn" // columns added after the locked ones are logged and let through; other drift stops the source
)

// Snapshot modes.
const (
	// SnapshotInitial snapshots unless the resumed position says one
	// finished, then streams.
	SnapshotInitial = "initial"
	// SnapshotNever streams only, from the binlog's end at the first start.
	SnapshotNever = "never"
	// SnapshotInitialOnly takes one snapshot, then the source ends.
	SnapshotInitialOnly = "initial_only"
	// SnapshotAlways snapshots at every start, whatever position it
	// resumes from, then streams from the snapshot's binlog position.
	SnapshotAlways = "always"
	// SnapshotWhenNeeded is SnapshotInitial, and also snapshots when the
	// server can no longer send the binlog from the resumed position
	// (purged, or its GTIDs unknown to the server) instead of stopping
	// with a "possible data loss" error.
	SnapshotWhenNeeded = "when_needed"
)

// Defaults returns the values New gives a Config's zero fields: the
// defaults of #MySQLCDC in cue/mysql_cdc.cue (a test in compiler/bind holds
// the two equal).
func Defaults() Config {
	return Config{Host: "localhost", Port: 3306, SnapshotMode: SnapshotInitial, ConnectTimeoutSecs: 10,
		TLS: TLSConfig{Mode: "prefer"}, SchemaDrift: SchemaDriftFail}
}

func withDefaults(cfg Config) Config {
	d := Defaults()
	if cfg.Host == "" {
		cfg.Host = d.Host
	}
	if cfg.Port == 0 {
		cfg.Port = d.Port
	}
	if cfg.SnapshotMode == "" {
		cfg.SnapshotMode = d.SnapshotMode
	}
	if cfg.ConnectTimeoutSecs <= 0 {
		cfg.ConnectTimeoutSecs = d.ConnectTimeoutSecs
	}
	if cfg.SchemaDrift == "" {
		cfg.SchemaDrift = d.SchemaDrift
	}
	if cfg.TLS.Mode == "" {
		cfg.TLS.Mode = d.TLS.Mode
	}
	return cfg
}

// Validate reports what New would reject in cfg (after defaults), without
// connecting.
func (cfg Config) Validate() error {
	_, err := validate(withDefaults(cfg))
	return err
}

// SelectedTables returns the valid tables of cfg as [database, table]
// exact names, in config order.
func (cfg Config) SelectedTables() [][2]string {
	ts, _ := validate(withDefaults(cfg))
	out := make([][2]string, len(ts))
	for i, t := range ts {
		out[i] = [2]string{t.db, t.name}
	}
	return out
}

func validate(cfg Config) ([]table, error) {
	var errs []string
	if cfg.User == "" {
		errs = append(errs, "user is required")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, fmt.Sprintf("port %d is out of range 1..65535", cfg.Port))
	}
	if cfg.ServerID < 1 || cfg.ServerID > 1<<32-1 {
		errs = append(errs, fmt.Sprintf("server_id %d is out of range 1..4294967295 (it must differ from the server's and every other replica's)", cfg.ServerID))
	}
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " /'\\") {
		errs = append(errs, fmt.Sprintf("host %q is not valid: a host name or address", cfg.Host))
	}
	if len(cfg.Tables) == 0 {
		errs = append(errs, "tables is required: list the tables to capture as db.table")
	}
	var ts []table
	seen := map[table]bool{}
	for _, s := range cfg.Tables {
		t, err := parseTable(s)
		if err != nil {
			errs = append(errs, fmt.Sprintf("table %q is not valid: %v", s, err))
			continue
		}
		if seen[t] {
			errs = append(errs, fmt.Sprintf("table %q is listed twice", s))
			continue
		}
		seen[t] = true
		ts = append(ts, t)
	}
	switch cfg.SnapshotMode {
	case SnapshotInitial, SnapshotNever, SnapshotInitialOnly, SnapshotAlways, SnapshotWhenNeeded:
	default:
		errs = append(errs, fmt.Sprintf("snapshot_mode %q is not valid: use initial, never, initial_only, always or when_needed", cfg.SnapshotMode))
	}
	switch cfg.SchemaDrift {
	case SchemaDriftFail, SchemaDriftWarn:
	default:
		errs = append(errs, fmt.Sprintf("schema_drift %q is not valid: use fail or warn", cfg.SchemaDrift))
	}
	switch cfg.TLS.Mode {
	case "disable", "prefer", "require", "verify-ca", "verify-full":
	default:
		errs = append(errs, fmt.Sprintf("tls.mode %q is not valid: use disable, prefer, require, verify-ca or verify-full", cfg.TLS.Mode))
	}
	if (cfg.TLS.Mode == "verify-ca" || cfg.TLS.Mode == "verify-full") && cfg.TLS.CACertPath == "" {
		errs = append(errs, fmt.Sprintf("tls.mode %s needs tls.ca_cert_path", cfg.TLS.Mode))
	}
	if (cfg.TLS.ClientCertPath == "") != (cfg.TLS.ClientKeyPath == "") {
		errs = append(errs, "tls.client_cert_path and tls.client_key_path go together")
	}
	if len(errs) == 0 {
		return ts, nil
	}
	return ts, errors.New("mysql-cdc: " + strings.Join(errs, "; "))
}

// tlsConfig returns the TLS settings for mode (nil: no TLS) and whether
// TLS is required.
func (cfg Config) tlsConfig() (*tls.Config, bool, error) {
	m := cfg.TLS.Mode
	if m == "disable" {
		return nil, false, nil
	}
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	switch m {
	case "prefer", "require":
		tc.InsecureSkipVerify = true
	case "verify-ca", "verify-full":
		pem, err := os.ReadFile(cfg.TLS.CACertPath)
		if err != nil {
			return nil, false, fmt.Errorf("mysql-cdc: tls.ca_cert_path: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, false, fmt.Errorf("mysql-cdc: tls.ca_cert_path %s holds no PEM certificate", cfg.TLS.CACertPath)
		}
		tc.RootCAs = pool
		if m == "verify-ca" {
			// Verify the chain, not the host name.
			tc.InsecureSkipVerify = true
			tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
				certs := make([]*x509.Certificate, len(raw))
				for i, r := range raw {
					c, err := x509.ParseCertificate(r)
					if err != nil {
						return err
					}
					certs[i] = c
				}
				if len(certs) == 0 {
					return errors.New("no server certificate")
				}
				inter := x509.NewCertPool()
				for _, c := range certs[1:] {
					inter.AddCert(c)
				}
				_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
				return err
			}
		}
	}
	if cfg.TLS.ClientCertPath != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.ClientCertPath, cfg.TLS.ClientKeyPath)
		if err != nil {
			return nil, false, fmt.Errorf("mysql-cdc: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, m != "prefer", nil
}
