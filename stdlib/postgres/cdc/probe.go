package cdc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/runtime"
)

// retainedWALWarn is the WAL a slot may hold back before Probe warns.
const retainedWALWarn = 1 << 30

var (
	_ runtime.Prober     = (*Source)(nil)
	_ runtime.Discoverer = (*Source)(nil)
)

// Probe implements runtime.Prober: connectivity, server version, wal_level,
// the user's replication privilege, the publication and its tables, each
// table's replica identity, the slot's state and retained WAL, and with a
// schema lock (Config.Locked) each locked or captured table's columns
// against the lock. It only reads catalogs; nothing is created.
func (s *Source) Probe(ctx context.Context) ([]runtime.Finding, error) {
	c, err := pgx.ConnectConfig(ctx, s.sqlCfg)
	if err != nil {
		return nil, s.redact(s.connectError(err))
	}
	defer c.Close(context.Background())
	p := &prober{s: s, c: c}
	p.run(ctx)
	if p.err != nil {
		return p.out, s.redact(p.err)
	}
	return p.out, nil
}

type prober struct {
	s   *Source
	c   *pgx.Conn
	out []runtime.Finding
	err error
}

func (p *prober) add(check, level, format string, args ...any) {
	p.out = append(p.out, runtime.Finding{Check: check, Level: level, Detail: fmt.Sprintf(format, args...)})
}

// query runs one catalog query; a failure ends the probe with an error.
func (p *prober) query(ctx context.Context, what, sql string, args []any, dest ...any) bool {
	if p.err != nil {
		return false
	}
	if err := p.c.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return false
		}
		p.err = fmt.Errorf("postgres-cdc: check %s: %w", what, err)
		return false
	}
	return true
}

func (p *prober) run(ctx context.Context) {
	cfg := p.s.cfg
	var version string
	var num int
	p.query(ctx, "server version", `SELECT current_setting('server_version'), current_setting('server_version_num')::int`, nil, &version, &num)
	if p.err != nil {
		return
	}
	target := fmt.Sprintf("%s:%d database %q as %q", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	if num < 140000 {
		p.add("server", runtime.FindingFail, "%s: PostgreSQL %s; postgres-cdc needs PostgreSQL 14 or later", target, version)
	} else {
		p.add("server", runtime.FindingOK, "%s: PostgreSQL %s", target, version)
	}

	var wal string
	p.query(ctx, "wal_level", `SHOW wal_level`, nil, &wal)
	if wal == "logical" {
		p.add("wal_level", runtime.FindingOK, "logical")
	} else if p.err == nil {
		p.add("wal_level", runtime.FindingFail, "%q; logical decoding needs wal_level = logical (postgresql.conf, then restart the server)", wal)
	}

	var repl, super, create bool
	p.query(ctx, "privileges", `SELECT r.rolreplication, r.rolsuper, has_database_privilege(current_user, current_database(), 'CREATE')
FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`, nil, &repl, &super, &create)
	switch {
	case p.err != nil:
		return
	case super:
		p.add("replication privilege", runtime.FindingOK, "user %q is a superuser", cfg.User)
	case repl:
		p.add("replication privilege", runtime.FindingOK, "user %q has REPLICATION", cfg.User)
	default:
		p.add("replication privilege", runtime.FindingFail, "user %q lacks the REPLICATION attribute: ALTER ROLE %s WITH REPLICATION", cfg.User, quote(cfg.User))
	}

	tables := p.publication(ctx, create || super)
	p.replicaIdentity(ctx, tables)
	p.slot(ctx)
	p.lock(ctx)
}

// lock compares the schema lock, when there is one, with the catalog: one
// finding per locked or captured table — ok when its columns are those of
// the lock; warn when the source would run all the same (columns added
// after the locked ones under schema_drift: warn; a type or NOT NULL that
// changed without changing the records; a locked table the source does not
// capture); fail when it would stop (any other drift, a locked table that
// no longer exists, a captured table the lock lacks).
func (p *prober) lock(ctx context.Context) {
	cfg := p.s.cfg
	if cfg.Locked == nil || p.err != nil {
		return
	}
	captured, err := p.s.captured(ctx, p.c)
	if err != nil {
		p.err = fmt.Errorf("postgres-cdc: check schema lock: %w", err)
		return
	}
	isCaptured := map[table]bool{}
	for _, t := range captured {
		isCaptured[t] = true
	}
	rewrite := "run " + cfg.lockCommand()
	for i := range cfg.Locked {
		lt := &cfg.Locked[i]
		t := table{lt.Schema, lt.Table}
		check := "schema lock " + t.String()
		var exists bool
		p.query(ctx, check, `SELECT to_regclass($1) IS NOT NULL`, []any{quote(t.schema, t.name)}, &exists)
		if p.err != nil {
			return
		}
		if !exists {
			p.add(check, runtime.FindingFail, "locked, but the table no longer exists: %s", rewrite)
			continue
		}
		tb, err := p.s.describe(ctx, p.c, t.schema, t.name)
		if err != nil {
			p.err = err
			return
		}
		d := compareLocked(lt, tb.rel.cols, true)
		switch {
		case !isCaptured[t]:
			p.add(check, runtime.FindingWarn, "locked, but the source does not capture the table (not published by %q, or not selected): a stale entry; %s", p.s.pub, rewrite)
		case d == nil:
			p.add(check, runtime.FindingOK, "the table's %d columns match the lock", len(tb.rel.cols))
		case d.breaks(cfg.SchemaDrift):
			p.add(check, runtime.FindingFail, "the table no longer matches the lock, so the source would stop (schema_drift: %s): %s; %s to accept the new schema",
				cfg.SchemaDrift, d.describe(true), rewrite)
		case len(d.added) > 0:
			p.add(check, runtime.FindingWarn, "%s: records carry them, code compiled for the lock does not read them (schema_drift: warn); %s to use them",
				d.describe(true), rewrite)
		default:
			p.add(check, runtime.FindingWarn, "%s: the records are unchanged, the lock is stale; %s", d.describe(true), rewrite)
		}
	}
	for _, t := range captured {
		if cfg.lockedTable(t.schema, t.name) == nil {
			p.add("schema lock "+t.String(), runtime.FindingFail, "the source captures the table, but the lock does not hold it: the source would stop at it; %s to lock it", rewrite)
		}
	}
}

// publication checks the publication and returns the tables whose replica
// identity matters: the published ones, or those it would publish.
func (p *prober) publication(ctx context.Context, canCreate bool) []table {
	cfg := p.s.cfg
	var exists bool
	p.query(ctx, "publication", `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)`, []any{p.s.pub}, &exists)
	if p.err != nil {
		return nil
	}
	if exists {
		rows, err := p.c.Query(ctx, `SELECT schemaname::text, tablename::text FROM pg_catalog.pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2`, p.s.pub)
		if err != nil {
			p.err = fmt.Errorf("postgres-cdc: check publication: %w", err)
			return nil
		}
		pub, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
			var t table
			return t, r.Scan(&t.schema, &t.name)
		})
		if err != nil {
			p.err = fmt.Errorf("postgres-cdc: check publication: %w", err)
			return nil
		}
		names := make([]string, len(pub))
		in := map[table]bool{}
		for i, t := range pub {
			names[i], in[t] = t.String(), true
		}
		if len(pub) == 0 {
			p.add("publication", runtime.FindingWarn, "%q exists but publishes no table: nothing will be captured", p.s.pub)
		} else {
			p.add("publication", runtime.FindingOK, "%q publishes %s", p.s.pub, strings.Join(names, ", "))
		}
		for _, t := range p.s.tables {
			if !in[t] {
				p.add("table "+t.String(), runtime.FindingWarn, "listed in tables but not published by %q (an existing publication is used as it is): ALTER PUBLICATION %s ADD TABLE %s",
					p.s.pub, quote(p.s.pub), quote(t.schema, t.name))
			}
		}
		var chosen []table
		var ignored []string
		for _, t := range pub {
			if p.s.selected(t.schema, t.name) {
				chosen = append(chosen, t)
			} else {
				ignored = append(ignored, t.String())
			}
		}
		if len(ignored) > 0 {
			p.add("selection", runtime.FindingOK, "%q also publishes %s, which this source does not select: their changes are dropped when they arrive (never delivered)",
				p.s.pub, strings.Join(ignored, ", "))
		}
		return chosen
	}
	switch {
	case !cfg.AutoCreatePublication:
		p.add("publication", runtime.FindingFail, "%q does not exist and auto_create_publication is false", p.s.pub)
	case !canCreate:
		p.add("publication", runtime.FindingFail, "%q does not exist, and user %q may not create it (needs CREATE on database %q)", p.s.pub, cfg.User, cfg.Database)
	default:
		p.add("publication", runtime.FindingOK, "%q does not exist yet; it will be created", p.s.pub)
	}
	var want []table
	for _, t := range p.s.tables {
		var found bool
		p.query(ctx, "table "+t.String(), `SELECT to_regclass($1) IS NOT NULL`, []any{quote(t.schema, t.name)}, &found)
		if p.err != nil {
			return nil
		}
		if !found {
			p.add("table "+t.String(), runtime.FindingFail, "does not exist")
			continue
		}
		want = append(want, t)
	}
	return want
}

// replicaIdentity checks that UPDATEs and DELETEs of tables stay possible
// once published and say what the change events will carry.
func (p *prober) replicaIdentity(ctx context.Context, tables []table) {
	for _, t := range tables {
		var ident string
		var hasPK bool
		if !p.query(ctx, "replica identity", `SELECT c.relreplident::text, EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
			[]any{t.schema, t.name}, &ident, &hasPK) {
			continue
		}
		check := "replica identity " + t.String()
		switch {
		case ident == "f":
			p.add(check, runtime.FindingOK, "FULL: updates and deletes carry the whole old row")
		case ident == "i":
			p.add(check, runtime.FindingOK, "USING INDEX: updates and deletes carry the index's columns")
		case ident == "d" && hasPK:
			p.add(check, runtime.FindingOK, "DEFAULT (primary key): deletes carry the key; unchanged TOAST values arrive as the marker")
		case ident == "n":
			p.add(check, runtime.FindingFail, "NOTHING: once published, UPDATE and DELETE on it fail; ALTER TABLE %s REPLICA IDENTITY FULL (or add a primary key)", quote(t.schema, t.name))
		default:
			p.add(check, runtime.FindingFail, "DEFAULT without a primary key: once published, UPDATE and DELETE on it fail; add a primary key or ALTER TABLE %s REPLICA IDENTITY FULL", quote(t.schema, t.name))
		}
	}
}

// slot checks the replication slot, or whether it can be created.
func (p *prober) slot(ctx context.Context) {
	cfg := p.s.cfg
	var plugin, slotType, database, walStatus, retained *string
	var active bool
	var pid *int32
	found := p.query(ctx, "replication slot", `
SELECT plugin, slot_type, database, wal_status, active, active_pid,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::text
FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, []any{cfg.SlotName},
		&plugin, &slotType, &database, &walStatus, &active, &pid, &retained)
	if p.err != nil {
		return
	}
	check := "slot " + cfg.SlotName
	if !found {
		var used, max int
		p.query(ctx, "replication slots", `SELECT (SELECT count(*) FROM pg_catalog.pg_replication_slots)::int, current_setting('max_replication_slots')::int`, nil, &used, &max)
		switch {
		case p.err != nil:
		case !cfg.AutoCreateSlot:
			p.add(check, runtime.FindingFail, "does not exist and auto_create_slot is false")
		case used >= max:
			p.add(check, runtime.FindingFail, "does not exist, and the server has no free slot (%d of max_replication_slots = %d in use)", used, max)
		default:
			p.add(check, runtime.FindingOK, "does not exist yet; it will be created (%d of %d slots in use)", used, max)
		}
		return
	}
	st := slotState{exists: true, slotType: deref(slotType), plugin: deref(plugin), database: deref(database), walStatus: deref(walStatus)}
	if err := st.usable(cfg); err != nil {
		p.add(check, runtime.FindingFail, "%s", strings.TrimPrefix(err.Error(), "postgres-cdc: "))
		return
	}
	var bytes int64
	if retained != nil {
		f, _ := strconv.ParseFloat(*retained, 64)
		bytes = int64(f)
	}
	detail := fmt.Sprintf("exists (pgoutput, wal_status %s), holds %s of WAL", st.walStatus, humanBytes(bytes))
	switch {
	case active && pid != nil:
		p.add(check, runtime.FindingWarn, "%s; in use by another process (pid %d): a start waits for it to go", detail, *pid)
	case st.walStatus == "unreserved":
		p.add(check, runtime.FindingWarn, "%s; the server is about to remove WAL the slot needs (max_slot_wal_keep_size): start the pipeline soon", detail)
	case bytes > retainedWALWarn:
		p.add(check, runtime.FindingWarn, "%s; a stopped slot keeps WAL until it is consumed — start the pipeline or drop the slot", detail)
	default:
		p.add(check, runtime.FindingOK, "%s", detail)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
