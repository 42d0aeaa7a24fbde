package cdc

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

var _ runtime.Prober = (*Source)(nil)

// Probe implements runtime.Prober: connectivity, the binlog settings
// (log_bin, binlog_format=ROW, binlog_row_image=FULL,
// binlog_row_metadata=FULL, GTIDs), the server_id (the server's own and
// the registered replicas'), the REPLICATION SLAVE and REPLICATION CLIENT
// privileges, and each table's existence and primary key, each failing
// one with the statement that fixes it. It only reads.
func (s *Source) Probe(ctx context.Context) ([]runtime.Finding, error) {
	db, err := s.openDB(ctx)
	if err != nil {
		return nil, s.redact(err)
	}
	defer db.Close()
	var out []runtime.Finding
	add := func(check, level, format string, args ...any) {
		out = append(out, runtime.Finding{Check: check, Level: level, Detail: fmt.Sprintf(format, args...)})
	}
	st, err := readServer(ctx, db)
	if err != nil {
		return nil, s.redact(err)
	}
	add("server", runtime.FindingOK, "%s as %q: %s", s.addr(), s.cfg.User, st.version)
	for _, r := range st.list(s.cfg) {
		if r.ok {
			add(r.check, runtime.FindingOK, "%s", r.found)
		} else {
			add(r.check, runtime.FindingFail, "%s: %s", r.found, r.fix)
		}
	}
	if st.mariadb {
		if strings.EqualFold(st.gtidStrict, "ON") {
			add("gtid", runtime.FindingOK, "MariaDB GTIDs (always on), gtid_strict_mode ON")
		} else {
			add("gtid", runtime.FindingWarn, "MariaDB GTIDs are always on, but gtid_strict_mode is %s: SET GLOBAL gtid_strict_mode = ON (and in my.cnf) so that resuming by GTID cannot skip out-of-order transactions", st.gtidStrict)
		}
	}
	s.probeReplicas(ctx, db, add)
	s.probePrivileges(ctx, db, add)
	for _, t := range s.tables {
		rel, err := describe(ctx, db, t)
		switch {
		case err != nil:
			add("table "+t.String(), runtime.FindingFail, "%v", s.redact(err))
		case len(rel.pk) == 0:
			add("table "+t.String(), runtime.FindingFail, "no primary key: ALTER TABLE %s ADD PRIMARY KEY (…)", t)
		default:
			names := make([]string, len(rel.pk))
			for i, k := range rel.pk {
				names[i] = rel.cols[k].name
			}
			add("table "+t.String(), runtime.FindingOK, "%d columns, primary key (%s)", len(rel.cols), strings.Join(names, ", "))
			s.probeLock(rel, add)
		}
	}
	return out, nil
}

func (s *Source) probeReplicas(ctx context.Context, db *sql.DB, add func(check, level, format string, args ...any)) {
	rows, err := db.QueryContext(ctx, "SHOW SLAVE HOSTS")
	if err != nil {
		add("server_id collision", runtime.FindingWarn, "cannot list the registered replicas (SHOW SLAVE HOSTS: %v): server_id %d is not checked against them", s.redact(err), s.cfg.ServerID)
		return
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			break
		}
		if string(vals[0]) == fmt.Sprint(s.cfg.ServerID) {
			add("server_id collision", runtime.FindingFail, "a replica with server_id %d is connected already (the server disconnects one of the two): choose another server_id", s.cfg.ServerID)
			return
		}
	}
	add("server_id collision", runtime.FindingOK, "no connected replica uses server_id %d", s.cfg.ServerID)
}

func (s *Source) probePrivileges(ctx context.Context, db *sql.DB, add func(check, level, format string, args ...any)) {
	rows, err := db.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		add("privileges", runtime.FindingWarn, "SHOW GRANTS: %v", s.redact(err))
		return
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err == nil {
			all = append(all, strings.ToUpper(g))
		}
	}
	global := func(priv string) bool {
		for _, g := range all {
			if !strings.Contains(g, " ON *.* ") {
				continue
			}
			if strings.Contains(g, "ALL PRIVILEGES") || strings.Contains(g, priv) {
				return true
			}
		}
		return false
	}
	user := s.cfg.User
	for _, p := range []struct{ priv, alt, why string }{
		{"REPLICATION SLAVE", "REPLICATION REPLICA", "to read the binlog"},
		{"REPLICATION CLIENT", "BINLOG MONITOR", "to read the binlog position"},
	} {
		if global(p.priv) || global(p.alt) {
			add(strings.ToLower(p.priv), runtime.FindingOK, "user %q has %s", user, p.priv)
		} else {
			add(strings.ToLower(p.priv), runtime.FindingFail, "user %q lacks %s (%s): GRANT %s ON *.* TO '%s'@'…'", user, p.priv, p.why, p.priv, strings.ReplaceAll(user, "'", "''"))
		}
	}
}

// probeLock judges a table's live columns against the schema lock, as
// the source would at start: a FAIL when it would stop, a WARN when
// schema_drift: warn lets added columns through. Nothing without a lock
// or drift.
func (s *Source) probeLock(rel *relation, add func(check, level, format string, args ...any)) {
	if s.cfg.Locked == nil {
		return
	}
	check := "lock " + rel.t.String()
	lt := s.cfg.lockedTable(rel.t)
	if lt == nil {
		add(check, runtime.FindingFail, "not in the schema lock, which holds %s: run %s to lock it", lockedNames(s.cfg.Locked), s.cfg.lockCommand())
		return
	}
	d := lockDrift(lt, rel.cols)
	switch added := appendedColumns(lt, rel.cols); {
	case len(d) == 0:
		add(check, runtime.FindingOK, "matches the schema lock")
	case added != nil && s.cfg.SchemaDrift == SchemaDriftWarn:
		add(check, runtime.FindingWarn, "columns %s were added after the locked ones: records carry them, code compiled for the lock does not read them (schema_drift: warn); run %s to use them",
			strings.Join(added, ", "), s.cfg.lockCommand())
	default:
		add(check, runtime.FindingFail, "the table no longer matches the lock, so the source would stop (schema_drift: %s): %s; run %s to accept the new schema",
			s.cfg.SchemaDrift, strings.Join(d, "; "), s.cfg.lockCommand())
	}
}
