package enrich

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/rivven/rivven-connect/runtime"
)

// pgBackend runs the lookup query on one connection, opened at the first
// lookup and again after it broke.
type pgBackend struct {
	cfg      Postgres
	rowType  runtime.Type
	declared bool
	calls    *atomic.Int64

	mu   sync.Mutex
	conn *pgx.Conn
}

func newPostgres(cfg Postgres, t runtime.Type, declared bool, calls *atomic.Int64) *pgBackend {
	return &pgBackend{cfg: cfg, rowType: t, declared: declared, calls: calls}
}

func (b *pgBackend) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drop()
}

func (b *pgBackend) drop() {
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = b.conn.Close(ctx)
		cancel()
		b.conn = nil
	}
}

// where names the server for messages (never the password).
func (b *pgBackend) where() string {
	return fmt.Sprintf("%s (database %q, user %q)", net.JoinHostPort(b.cfg.Host, strconv.Itoa(b.cfg.Port)), b.cfg.Database, b.cfg.User)
}

// connConfig builds the connection's config from the keys postgres-cdc
// takes too; the password is set on the parsed config, never part of the
// text handed to the parser (whose errors quote it).
func (b *pgBackend) connConfig() (*pgx.ConnConfig, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("sslmode", b.cfg.TLS.Mode)
	set("sslrootcert", b.cfg.TLS.CACertPath)
	set("sslcert", b.cfg.TLS.ClientCertPath)
	set("sslkey", b.cfg.TLS.ClientKeyPath)
	if b.cfg.ConnectTimeoutSecs > 0 {
		set("connect_timeout", strconv.Itoa(b.cfg.ConnectTimeoutSecs))
	}
	set("application_name", "rivven-connect enrich")
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(b.cfg.Host, strconv.Itoa(b.cfg.Port)),
		Path: "/" + b.cfg.Database, RawQuery: q.Encode()}
	if b.cfg.User != "" {
		u.User = url.User(b.cfg.User)
	}
	cc, err := pgx.ParseConfig(u.String())
	if err != nil {
		var pce *pgconn.ParseConfigError
		if errors.As(err, &pce) && pce.Unwrap() != nil {
			err = pce.Unwrap()
		}
		return nil, fmt.Errorf("enrich: postgres connection settings: %w", err)
	}
	if b.cfg.Password != "" {
		cc.Password = b.cfg.Password
	}
	// Values' text forms (dates, intervals) do not depend on the server's
	// settings.
	cc.RuntimeParams["TimeZone"] = "UTC"
	cc.RuntimeParams["DateStyle"] = "ISO, YMD"
	cc.RuntimeParams["IntervalStyle"] = "iso_8601"
	return cc, nil
}

// connect returns the open connection, opening it when needed.
func (b *pgBackend) connect(ctx context.Context) (*pgx.Conn, error) {
	if b.conn != nil && !b.conn.IsClosed() {
		return b.conn, nil
	}
	b.conn = nil
	cc, err := b.connConfig()
	if err != nil {
		return nil, err
	}
	c, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, b.connectError(err)
	}
	b.conn = c
	return c, nil
}

// connectError words a failed connection attempt: the server's message
// when it answered (not retried: wrong credentials or database), else the
// network failure (retried).
func (b *pgBackend) connectError(err error) error {
	what := "enrich: cannot connect to PostgreSQL at " + b.where()
	var pe *pgconn.PgError
	var dns *net.DNSError
	switch {
	case errors.As(err, &pe) && !transientCode(pe.Code):
		return fmt.Errorf("%s: %s (SQLSTATE %s)", what, pe.Message, pe.Code)
	case errors.Is(err, syscall.ECONNREFUSED):
		return transient(fmt.Errorf("%s: connection refused", what))
	case errors.As(err, &dns):
		return transient(fmt.Errorf("%s: %v", what, dns))
	case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		return transient(fmt.Errorf("%s: timed out", what))
	}
	msg := err.Error()
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		msg = ce.Unwrap().Error()
	}
	return transient(fmt.Errorf("%s: %s", what, firstLine(msg)))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// transientCode reports SQLSTATEs worth retrying: connection exceptions,
// an operator shutdown, serialization failures and deadlocks, and
// insufficient resources.
func transientCode(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"):
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", "40001", "40P01":
		return true
	}
	return false
}

// fetch runs the query once with $1 bound to the keys.
func (b *pgBackend) fetch(ctx context.Context, keys []runtime.Value, texts []string) (map[string]result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls.Add(1)
	conn, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	out, err := b.query(ctx, conn, keyArray(keys, texts))
	if err == nil {
		return out, nil
	}
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		err = fmt.Errorf("enrich: the lookup query failed: %s (SQLSTATE %s)", pe.Message, pe.Code)
		if transientCode(pe.Code) {
			b.drop()
			return nil, transient(err)
		}
		return nil, err
	case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		b.drop() // a query cut short leaves the connection unusable
		return nil, transient(fmt.Errorf("enrich: the lookup query on %s timed out", b.where()))
	case conn.IsClosed() || pgconn.SafeToRetry(err) || isNetErr(err):
		b.drop()
		return nil, transient(fmt.Errorf("enrich: the lookup query on %s failed: %s", b.where(), firstLine(err.Error())))
	}
	return nil, err
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

func (b *pgBackend) query(ctx context.Context, conn *pgx.Conn, arg any) (map[string]result, error) {
	rows, err := conn.Query(ctx, b.cfg.Query, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	names := make([]string, len(fds))
	match := -1
	for i, fd := range fds {
		names[i] = fd.Name
		if fd.Name == b.cfg.Match {
			match = i
		}
	}
	if match < 0 {
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("enrich: postgres.match: the query's result has no column %q; its columns: %s", b.cfg.Match, strings.Join(names, ", "))
	}
	out := map[string]result{}
	vals := make([]runtime.Value, len(fds))
	for rows.Next() {
		raw := rows.RawValues()
		gv, err := rows.Values()
		if err != nil {
			return nil, err
		}
		for i := range fds {
			v, err := pgValue(gv[i], fds[i].DataTypeOID, raw[i], fds[i].Format)
			if err != nil {
				return nil, fmt.Errorf("enrich: column %s: %w", names[i], err)
			}
			vals[i] = v
		}
		if vals[match].IsNull() {
			continue
		}
		t := keyText(vals[match])
		if _, dup := out[t]; dup {
			continue // the first row of a key counts
		}
		row, err := makeRow(names, vals, b.rowType, b.declared)
		if err != nil {
			return nil, fmt.Errorf("enrich: %w", err)
		}
		out[t] = result{row: row, found: true}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// keyArray is the value bound to $1: the keys as an array of their kind
// (int8[], float8[], bool[]), or of their texts when they are strings or
// of mixed kinds; the server converts it to the parameter's type.
func keyArray(keys []runtime.Value, texts []string) any {
	kind := keys[0].Kind()
	for _, k := range keys[1:] {
		if k.Kind() != kind {
			kind = runtime.KindString
		}
	}
	switch kind {
	case runtime.KindInt:
		a := make([]int64, len(keys))
		for i, k := range keys {
			a[i] = k.AsInt()
		}
		return a
	case runtime.KindFloat:
		a := make([]float64, len(keys))
		for i, k := range keys {
			a[i] = k.AsFloat()
		}
		return a
	case runtime.KindBool:
		a := make([]bool, len(keys))
		for i, k := range keys {
			a[i] = k.AsBool()
		}
		return a
	}
	return texts
}

// pgValue converts a column's decoded value to a record value: numbers,
// booleans and text as themselves; numeric as the exact decimal string;
// bytea as standard base64; json and jsonb parsed (keeping their text);
// dates and times as ISO 8601 text (timestamptz in UTC with Z); uuid and
// every other type as its text.
func pgValue(v any, oid uint32, raw []byte, format int16) (runtime.Value, error) {
	switch oid {
	case pgtype.JSONOID, pgtype.JSONBOID:
		if raw == nil {
			return runtime.Null(), nil
		}
		if oid == pgtype.JSONBOID && format == pgtype.BinaryFormatCode && len(raw) > 0 {
			raw = raw[1:] // jsonb's binary form: a version byte, then the text
		}
		return runtime.ParseJSON(raw)
	}
	switch x := v.(type) {
	case nil:
		return runtime.Null(), nil
	case bool:
		return runtime.Bool(x), nil
	case int16:
		return runtime.Int(int64(x)), nil
	case int32:
		return runtime.Int(int64(x)), nil
	case int64:
		return runtime.Int(x), nil
	case uint32:
		return runtime.Int(int64(x)), nil
	case float32:
		return runtime.Float(float64(x)), nil
	case float64:
		return runtime.Float(x), nil
	case string:
		return runtime.String(x), nil
	case []byte:
		return runtime.String(base64.StdEncoding.EncodeToString(x)), nil
	case [16]byte:
		return runtime.String(fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])), nil
	case time.Time:
		switch oid {
		case pgtype.DateOID:
			return runtime.String(x.Format("2006-01-02")), nil
		case pgtype.TimestampOID:
			return runtime.String(x.Format("2006-01-02T15:04:05.999999")), nil
		}
		return runtime.String(x.UTC().Format("2006-01-02T15:04:05.999999Z")), nil
	case pgtype.Numeric:
		t, err := x.Value()
		if err != nil {
			return runtime.Value{}, err
		}
		if s, ok := t.(string); ok {
			return runtime.String(s), nil
		}
		return runtime.Null(), nil
	case []any:
		out := make([]runtime.Value, len(x))
		for i, e := range x {
			c, err := pgValue(e, 0, nil, 0)
			if err != nil {
				return runtime.Value{}, err
			}
			out[i] = c
		}
		return runtime.ArrayValue(out), nil
	case fmt.Stringer:
		return runtime.String(x.String()), nil
	}
	if raw != nil && format == pgtype.TextFormatCode {
		return runtime.String(string(raw)), nil
	}
	return runtime.String(fmt.Sprint(v)), nil
}

// Describe prepares the query on the server without running it and
// reports its parameters' and result columns' types: what check
// --connect verifies.
func (b *pgBackend) describe(ctx context.Context) (*pgconn.StatementDescription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	sd, err := conn.Prepare(ctx, "", b.cfg.Query)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("the server refuses the query: %s (SQLSTATE %s)", pe.Message, pe.Code)
		}
		return nil, err
	}
	return sd, nil
}
