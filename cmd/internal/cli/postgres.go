package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/rivven/rivven-connect/compiler"
)

// legacyOptions are the flags of the `postgres` command.
type legacyOptions struct {
	connection, slot, publication, topic, broker, stateDir, snapshot, format string
	tables                                                                   []string
}

// legacyPasswordVar is the made-up variable through which the connection
// string's password reaches the generated config: as a ${VAR} value it is
// a secret everywhere (logs, errors, status), and no escaping can go wrong.
const legacyPasswordVar = "RIVVEN_CONNECT_LEGACY_PASSWORD"

func init() {
	commands = append(commands, &command{
		name:    "postgres",
		usage:   "--connection URL|DSN --slot S --publication P [--table T]... [--topic T --broker ADDR] [--state-dir DIR] [--format F]",
		summary: "Run PostgreSQL CDC without a config file (legacy mode): to stdout, or to a broker topic.",
		flags: func(fs *pflag.FlagSet, o *options) {
			l := &o.legacy
			fs.StringVar(&l.connection, "connection", "", "postgres://user:password@host:port/db?sslmode=… or host=… port=… dbname=… user=… password=…")
			fs.StringVar(&l.slot, "slot", "rivven_slot", "replication slot (created when missing)")
			fs.StringVar(&l.publication, "publication", "rivven_pub", "publication (created for --table when missing)")
			fs.StringArrayVar(&l.tables, "table", nil, "table to capture, name or schema.name (repeatable)")
			fs.StringVar(&l.topic, "topic", "", "publish to this broker topic instead of stdout (needs --broker)")
			fs.StringVar(&l.broker, "broker", "", "broker address host:port (with --topic)")
			fs.StringVar(&l.stateDir, "state-dir", "", "directory that records whether the snapshot finished (without it every start snapshots again)")
			fs.StringVar(&l.snapshot, "snapshot-mode", "initial", "initial, always, never, when_needed or initial_only")
			fs.StringVar(&l.format, "format", "json", "stdout format: json (one event per line), pretty, tsv or text")
		},
		run: func(e *env, o *options, args []string) int {
			if len(args) > 0 {
				fmt.Fprintf(e.stderr, "rivven-connect postgres: unexpected argument %q\n", args[0])
				return exitUsage
			}
			defer e.catchEarlySignals()()
			data, password, err := legacyConfig(&o.legacy)
			if err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect postgres: %v\n", err)
				return exitUsage
			}
			lookup := func(name string) (string, bool) {
				if name == legacyPasswordVar {
					return password, true
				}
				return e.lookup(name)
			}
			o.config = "postgres command"
			p, errs := compiler.Compile(o.config, data, lookup)
			if len(errs) > 0 {
				e.printErrors(errs)
				return exitUsage
			}
			return e.runPlan(p, o, "postgres")
		},
	})
}

// legacyConfig turns the flags into a config document (and the password,
// kept out of it).
func legacyConfig(l *legacyOptions) ([]byte, string, error) {
	if l.connection == "" {
		return nil, "", errors.New("--connection is required (postgres://user:password@host:5432/db or host=… dbname=… user=…)")
	}
	if (l.topic == "") != (l.broker == "") {
		return nil, "", errors.New("--topic and --broker go together: give both to publish to the broker, or neither to print to stdout")
	}
	pc, err := pgconn.ParseConfig(l.connection)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), l.connection, "<connection string>")
		if pc == nil && strings.Contains(msg, "password") {
			msg = "the connection string cannot be parsed"
		}
		return nil, "", fmt.Errorf("invalid --connection: %s", msg)
	}
	sslmode, err := sslMode(l.connection)
	if err != nil {
		return nil, "", err
	}
	src := map[string]any{
		"host": lit(pc.Host), "port": int(pc.Port), "database": lit(pc.Database), "user": lit(pc.User),
		"slot_name": lit(l.slot), "publication_name": lit(l.publication), "snapshot_mode": lit(l.snapshot),
	}
	if pc.Password != "" {
		src["password"] = "${" + legacyPasswordVar + "}"
	}
	if sslmode != "" {
		src["tls"] = map[string]any{"mode": lit(sslmode)}
	}
	if len(l.tables) > 0 {
		ts := make([]string, len(l.tables))
		for i, t := range l.tables {
			ts[i] = lit(t)
		}
		src["tables"] = ts
	}
	sink := map[string]any{"connector": "stdout", "config": map[string]any{"format": lit(l.format)}}
	if l.topic != "" {
		sink = map[string]any{"connector": "rivven", "config": map[string]any{"bootstrap_servers": []string{lit(l.broker)}, "topic": lit(l.topic)}}
	}
	doc := map[string]any{
		"version":   "1.0",
		"sources":   map[string]any{"postgres": map[string]any{"connector": "postgres-cdc", "config": src}},
		"sinks":     map[string]any{"out": sink},
		"pipelines": map[string]any{"postgres": map[string]any{"source": "postgres", "sink": "out"}},
	}
	if l.stateDir != "" {
		doc["settings"] = map[string]any{"state_dir": lit(l.stateDir)}
	}
	b, err := yaml.Marshal(doc)
	return b, pc.Password, err
}

// lit keeps a flag value literal in the config: "${" would start a
// variable reference, "$${" is the literal.
func lit(s string) string { return strings.ReplaceAll(s, "${", "$${") }

// sslMode finds sslmode in a URL's query or a key=value string ("" when
// absent), mapped to the tls.mode names (the same words as libpq's,
// without allow).
func sslMode(conn string) (string, error) {
	var mode string
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return "", errors.New("invalid --connection URL")
		}
		mode = u.Query().Get("sslmode")
	} else {
		for _, f := range strings.Fields(conn) {
			if k, v, ok := strings.Cut(f, "="); ok && k == "sslmode" {
				mode = strings.Trim(v, "'")
			}
		}
	}
	switch mode {
	case "", "disable", "prefer", "require", "verify-ca", "verify-full":
		return mode, nil
	case "allow":
		return "prefer", nil
	}
	return "", fmt.Errorf("invalid --connection: sslmode %s (use disable, prefer, require, verify-ca or verify-full)", strconv.Quote(mode))
}
