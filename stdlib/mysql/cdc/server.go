package cdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// serverState is what the source checks of a server.
type serverState struct {
	version                        string
	mariadb                        bool
	logBin                         bool
	format, image, meta            string
	gtidMode, gtidStrict           string // MySQL gtid_mode; MariaDB gtid_strict_mode
	serverID                       int64
	binlogChecksum, binlogCompress string
}

func readServer(ctx context.Context, db *sql.DB) (serverState, error) {
	var st serverState
	if err := db.QueryRowContext(ctx, "SELECT VERSION(), @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id").
		Scan(&st.version, &st.logBin, &st.format, &st.image, &st.serverID); err != nil {
		return st, fmt.Errorf("mysql-cdc: read the server's settings: %w", err)
	}
	st.mariadb = strings.Contains(strings.ToLower(st.version), "mariadb")
	vars := map[string]*string{"binlog_row_metadata": &st.meta, "binlog_checksum": &st.binlogChecksum}
	if st.mariadb {
		vars["gtid_strict_mode"] = &st.gtidStrict
		vars["log_bin_compress"] = &st.binlogCompress
	} else {
		vars["gtid_mode"] = &st.gtidMode
	}
	for name, dst := range vars {
		var n, v string
		// name is one of the constants above (SHOW cannot be prepared).
		err := db.QueryRowContext(ctx, "SHOW GLOBAL VARIABLES LIKE '"+name+"'").Scan(&n, &v)
		if errors.Is(err, sql.ErrNoRows) {
			*dst = "(not supported by this server)"
			continue
		}
		if err != nil {
			return st, fmt.Errorf("mysql-cdc: read %s: %w", name, err)
		}
		*dst = v
	}
	return st, nil
}

// requirement is one server setting mysql-cdc needs.
type requirement struct {
	check, found, fix string
	ok                bool
}

func (st serverState) list(cfg Config) []requirement {
	onOff := func(b bool) string {
		if b {
			return "ON"
		}
		return "OFF"
	}
	rs := []requirement{
		{check: "log_bin", found: onOff(st.logBin), ok: st.logBin,
			fix: "start the server with log_bin (e.g. log_bin = mysql-bin in my.cnf) and restart it"},
		{check: "binlog_format", found: st.format, ok: strings.EqualFold(st.format, "ROW"),
			fix: "SET GLOBAL binlog_format = 'ROW' (and binlog_format = ROW in my.cnf)"},
		{check: "binlog_row_image", found: st.image, ok: strings.EqualFold(st.image, "FULL"),
			fix: "SET GLOBAL binlog_row_image = 'FULL' (and binlog_row_image = FULL in my.cnf)"},
		{check: "binlog_row_metadata", found: st.meta, ok: strings.EqualFold(st.meta, "FULL"),
			fix: "SET GLOBAL binlog_row_metadata = 'FULL' (and binlog_row_metadata = FULL in my.cnf; MariaDB ≥ 10.5 or MySQL ≥ 8.0)"},
	}
	if st.mariadb {
		rs = append(rs, requirement{check: "log_bin_compress", found: st.binlogCompress, ok: !strings.EqualFold(st.binlogCompress, "ON"),
			fix: "SET GLOBAL log_bin_compress = OFF"})
	} else {
		rs = append(rs, requirement{check: "gtid_mode", found: st.gtidMode, ok: strings.EqualFold(st.gtidMode, "ON"),
			fix: "SET GLOBAL enforce_gtid_consistency = ON; then step gtid_mode through OFF_PERMISSIVE and ON_PERMISSIVE to ON (SET GLOBAL gtid_mode = …)"})
	}
	rs = append(rs, requirement{check: "server_id", found: fmt.Sprint(st.serverID), ok: st.serverID != cfg.ServerID && st.serverID != 0,
		fix: fmt.Sprintf("the server's own server_id must be set and differ from the source's server_id %d: SET GLOBAL server_id = <another number>, or change server_id in the config", cfg.ServerID)})
	return rs
}

// requirements lists the failing ones as "X is Y: FIX".
func (st serverState) requirements(cfg Config) []string {
	var bad []string
	for _, r := range st.list(cfg) {
		if !r.ok {
			bad = append(bad, fmt.Sprintf("%s is %s: %s", r.check, r.found, r.fix))
		}
	}
	return bad
}

// currentPosition is the binlog's end now, with its GTID position on
// MariaDB (snapshot_mode never).
func currentPosition(ctx context.Context, db *sql.DB, mariadb bool) (token, error) {
	t, err := binlogEnd(ctx, db)
	if err != nil || !mariadb {
		return t, err
	}
	var g sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", t.file, t.pos).Scan(&g); err != nil {
		return t, fmt.Errorf("mysql-cdc: BINLOG_GTID_POS: %w", err)
	}
	t.gtid = g.String
	return t, nil
}

// binlogEnd is the binlog's end now (SHOW MASTER STATUS), without GTIDs.
func binlogEnd(ctx context.Context, db *sql.DB) (token, error) {
	var t token
	rows, err := db.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		return t, fmt.Errorf("mysql-cdc: SHOW MASTER STATUS: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return t, fmt.Errorf("mysql-cdc: SHOW MASTER STATUS: %w", err)
		}
		return t, errors.New("mysql-cdc: SHOW MASTER STATUS returned nothing: the binary log is off (log_bin)")
	}
	if len(cols) < 2 {
		return t, fmt.Errorf("mysql-cdc: SHOW MASTER STATUS returned %d columns", len(cols))
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return t, fmt.Errorf("mysql-cdc: SHOW MASTER STATUS: %w", err)
	}
	t.file = string(vals[0])
	var pos uint64
	if _, err := fmt.Sscan(string(vals[1]), &pos); err != nil {
		return t, fmt.Errorf("mysql-cdc: SHOW MASTER STATUS position %q", vals[1])
	}
	t.pos = uint32(pos)
	return t, nil
}
