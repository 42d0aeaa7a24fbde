package cdc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/rivven/rivven-connect/runtime"
)

// decodeKind says how the text form of a PostgreSQL value becomes a
// runtime.Value.
type decodeKind uint8

const (
	kString      decodeKind = iota // text as is (text, varchar, uuid, enums, time, interval, …)
	kBool                          // t / f
	kInt                           // int2, int4, int8, oid
	kFloat                         // float4, float8 (NaN, ±Infinity)
	kNumeric                       // exact decimal text
	kBytea                         // \x… hex → base64
	kJSON                          // json, jsonb → parsed value carrying its exact text
	kDate                          // "2006-01-02", "0044-03-15 BC" → ISO 8601 with signed expanded years (isoDateTime)
	kTimestamp                     // "2006-01-02 15:04:05.999999" → "2006-01-02T15:04:05.999999" (isoDateTime)
	kTimestamptz                   // with +00 (the session is UTC) → …Z (isoDateTime)
	kArray                         // {…} → array of the element type
)

// pgType is a resolved column type.
type pgType struct {
	oid  uint32
	name string
	kind decodeKind
	elem *pgType // kArray
}

// runtimeType is the schema type of the column's values.
func (t *pgType) runtimeType() runtime.Type {
	switch t.kind {
	case kBool:
		return runtime.Type{Kind: runtime.KindBool}
	case kInt:
		return runtime.Type{Kind: runtime.KindInt}
	case kFloat:
		return runtime.Type{Kind: runtime.KindFloat}
	case kJSON:
		return runtime.Any
	case kArray:
		e := t.elem.runtimeType()
		return runtime.Type{Kind: runtime.KindArray, Elem: &e}
	}
	return runtime.Type{Kind: runtime.KindString}
}

var builtinKinds = map[uint32]decodeKind{
	pgtype.BoolOID: kBool, pgtype.Int2OID: kInt, pgtype.Int4OID: kInt, pgtype.Int8OID: kInt, pgtype.OIDOID: kInt,
	pgtype.XIDOID: kInt, pgtype.CIDOID: kInt,
	pgtype.Float4OID: kFloat, pgtype.Float8OID: kFloat, pgtype.NumericOID: kNumeric,
	pgtype.ByteaOID: kBytea, pgtype.JSONOID: kJSON, pgtype.JSONBOID: kJSON,
	pgtype.DateOID: kDate, pgtype.TimestampOID: kTimestamp, pgtype.TimestamptzOID: kTimestamptz,
}

// typeCache resolves type OIDs: built-in types through pgx's type map,
// others (enums, domains, arrays of them, extension types) from pg_type.
type typeCache struct {
	mu    sync.Mutex
	m     *pgtype.Map
	types map[uint32]*pgType
}

func newTypeCache() *typeCache {
	return &typeCache{m: pgtype.NewMap(), types: map[uint32]*pgType{}}
}

// querier runs one query; *pgx.Conn satisfies it.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (c *typeCache) resolve(ctx context.Context, q querier, oid uint32) (*pgType, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resolveLocked(ctx, q, oid, 0)
}

func (c *typeCache) resolveLocked(ctx context.Context, q querier, oid uint32, depth int) (*pgType, error) {
	if t, ok := c.types[oid]; ok {
		return t, nil
	}
	if depth > 8 {
		return nil, fmt.Errorf("postgres-cdc: type %d: nesting too deep", oid)
	}
	t := &pgType{oid: oid}
	if pt, ok := c.m.TypeForOID(oid); ok {
		t.name = pt.Name
		if k, ok := builtinKinds[oid]; ok {
			t.kind = k
		} else if ac, ok := pt.Codec.(*pgtype.ArrayCodec); ok {
			elem, err := c.resolveLocked(ctx, q, ac.ElementType.OID, depth+1)
			if err != nil {
				return nil, err
			}
			t.kind, t.elem = kArray, elem
		}
		c.types[oid] = t
		return t, nil
	}
	var (
		name, typtype  string
		base, elem     uint32
		category       string
		delim          string
		typeNameOutErr error
	)
	typeNameOutErr = q.QueryRow(ctx,
		`SELECT typname, typtype::text, typbasetype, typelem, typcategory::text, typdelim::text FROM pg_catalog.pg_type WHERE oid = $1`,
		oid).Scan(&name, &typtype, &base, &elem, &category, &delim)
	if typeNameOutErr != nil {
		return nil, fmt.Errorf("postgres-cdc: look up type %d: %w", oid, typeNameOutErr)
	}
	t.name = name
	switch {
	case typtype == "d": // a domain decodes like its base type
		b, err := c.resolveLocked(ctx, q, base, depth+1)
		if err != nil {
			return nil, err
		}
		t.kind, t.elem = b.kind, b.elem
	case category == "A" && elem != 0 && delim == ",":
		e, err := c.resolveLocked(ctx, q, elem, depth+1)
		if err != nil {
			return nil, err
		}
		t.kind, t.elem = kArray, e
	default: // enums, ranges, composites, extension types: their text
		t.kind = kString
	}
	c.types[oid] = t
	return t, nil
}

// UnchangedToast is the value of a column whose stored value is TOASTed
// and was not changed by an UPDATE, when the server did not send it (the
// table's REPLICA IDENTITY is not FULL). It is neither null nor empty: the
// column keeps whatever value it had. Records that carry it also list the
// columns under metadata.unchanged_toast.
const UnchangedToast = "__rivven_unchanged_toast__"

// decodeText turns the text form of a value of type t into a Value.
func decodeText(t *pgType, src []byte) (runtime.Value, error) {
	switch t.kind {
	case kBool:
		switch string(src) {
		case "t":
			return runtime.Bool(true), nil
		case "f":
			return runtime.Bool(false), nil
		}
	case kInt:
		if n, err := strconv.ParseInt(string(src), 10, 64); err == nil {
			return runtime.Int(n), nil
		}
		if n, err := strconv.ParseUint(string(src), 10, 64); err == nil { // xid8-like
			return runtime.String(strconv.FormatUint(n, 10)), nil
		}
	case kFloat:
		if f, err := strconv.ParseFloat(string(src), 64); err == nil {
			return runtime.Float(f), nil
		}
	case kBytea:
		if bytes.HasPrefix(src, []byte(`\x`)) {
			raw := make([]byte, hex.DecodedLen(len(src)-2))
			if _, err := hex.Decode(raw, src[2:]); err == nil {
				return runtime.String(base64.StdEncoding.EncodeToString(raw)), nil
			}
		}
	case kJSON:
		v, err := runtime.ParseJSON(src)
		if err != nil {
			return runtime.Value{}, fmt.Errorf("postgres-cdc: %s: %w", t.name, err)
		}
		return v, nil
	case kDate, kTimestamp, kTimestamptz:
		if s, ok := isoDateTime(t.kind, src); ok {
			return runtime.String(s), nil
		}
	case kArray:
		v, rest, err := parseArray(t.elem, src)
		if err == nil && len(rest) == 0 {
			return v, nil
		}
	default: // kString, kNumeric
		return runtime.String(string(src)), nil
	}
	return runtime.Value{}, fmt.Errorf("postgres-cdc: cannot decode %q as %s", truncate(src), t.name)
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// parseArray parses an array literal ({a,"b c",NULL,{…}}), with an
// optional dimension prefix ([1:2]={…}), and decodes its elements.
func parseArray(elem *pgType, src []byte) (runtime.Value, []byte, error) {
	if len(src) > 0 && src[0] == '[' {
		i := bytes.IndexByte(src, '=')
		if i < 0 {
			return runtime.Value{}, nil, fmt.Errorf("bad array dimensions")
		}
		src = src[i+1:]
	}
	if len(src) == 0 || src[0] != '{' {
		return runtime.Value{}, nil, fmt.Errorf("array must start with {")
	}
	src = src[1:]
	out := []runtime.Value{}
	if len(src) > 0 && src[0] == '}' {
		return runtime.ArrayValue(out), src[1:], nil
	}
	for {
		var v runtime.Value
		var err error
		switch {
		case len(src) == 0:
			return runtime.Value{}, nil, fmt.Errorf("unterminated array")
		case src[0] == '{':
			v, src, err = parseArray(elem, src)
		case src[0] == '"':
			var b []byte
			i := 1
			for ; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' && i+1 < len(src) {
					i++
				}
				b = append(b, src[i])
			}
			if i >= len(src) {
				return runtime.Value{}, nil, fmt.Errorf("unterminated quoted element")
			}
			src = src[i+1:]
			v, err = decodeText(elem, b)
		default:
			i := bytes.IndexAny(src, ",}")
			if i < 0 {
				return runtime.Value{}, nil, fmt.Errorf("unterminated array")
			}
			tok := src[:i]
			src = src[i:]
			if strings.EqualFold(string(tok), "NULL") {
				v = runtime.Null()
			} else {
				v, err = decodeText(elem, tok)
			}
		}
		if err != nil {
			return runtime.Value{}, nil, err
		}
		out = append(out, v)
		if len(src) == 0 {
			return runtime.Value{}, nil, fmt.Errorf("unterminated array")
		}
		switch src[0] {
		case ',':
			src = src[1:]
		case '}':
			return runtime.ArrayValue(out), src[1:], nil
		default:
			return runtime.Value{}, nil, fmt.Errorf("unexpected %q in array", src[0])
		}
	}
}

// isoDateTime rewrites PostgreSQL's text of a date, timestamp or
// timestamptz (DateStyle ISO; TimeZone UTC, so timestamptz ends in +00) in
// ISO 8601 with signed expanded years, as java.time's ISO parsers read
// them: "2006-01-02", "2006-01-02T15:04:05.999999" (the fraction as the
// server prints it: up to 6 digits, trailing zeros dropped) and
// "2006-01-02T15:04:05.999999Z" (another offset as "+05:30", "-08:00").
// Years 0001–9999 AD have 4 digits; later years a "+" and all their digits
// ("+294276-12-31T23:59:59.999999"); BC years count astronomically, 1 BC
// being year 0000 and 44 BC year -0043 ("-0043-03-15T12:00:00"). infinity
// and -infinity stay as they are. It reports false for any other text.
func isoDateTime(kind decodeKind, src []byte) (string, bool) {
	s := string(src)
	if s == "infinity" || s == "-infinity" {
		return s, true
	}
	bc := strings.HasSuffix(s, " BC")
	if bc {
		s = s[:len(s)-3]
	}
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	if n < 4 || !digitsAt(s, n, "-00-00") {
		return "", false
	}
	year, rest := s[:n], s[n:]
	out := make([]byte, 0, len(s)+2)
	switch {
	case bc:
		y, err := strconv.Atoi(year)
		if err != nil || y < 1 {
			return "", false
		}
		if y == 1 {
			out = append(out, "0000"...)
		} else {
			out = fmt.Appendf(out, "-%04d", y-1)
		}
	case n > 4:
		out = append(append(out, '+'), year...)
	default:
		out = append(out, year...)
	}
	out = append(out, rest[:6]...)
	rest = rest[6:]
	if kind == kDate {
		return string(out), rest == ""
	}
	if !digitsAt(rest, 0, " 00:00:00") {
		return "", false
	}
	out = append(append(out, 'T'), rest[1:9]...)
	rest = rest[9:]
	if rest != "" && rest[0] == '.' {
		f := 1
		for f < len(rest) && isDigit(rest[f]) {
			f++
		}
		if f == 1 || f > 7 {
			return "", false
		}
		out = append(out, rest[:f]...)
		rest = rest[f:]
	}
	if kind == kTimestamp {
		return string(out), rest == ""
	}
	switch {
	case rest == "+00" || rest == "+00:00" || rest == "+00:00:00":
		out = append(out, 'Z')
	case len(rest) == 3 && (digitsAt(rest, 0, "+00") || digitsAt(rest, 0, "-00")):
		out = append(append(out, rest...), ":00"...)
	case (len(rest) == 6 || len(rest) == 9) && (rest[0] == '+' || rest[0] == '-') &&
		digitsAt(rest, 1, "00:00:00"[:len(rest)-1]):
		out = append(out, rest...)
	default:
		return "", false
	}
	return string(out), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digitsAt reports whether s at i has the shape of pattern, where 0 stands
// for any digit and other bytes for themselves.
func digitsAt(s string, i int, pattern string) bool {
	if len(s)-i < len(pattern) {
		return false
	}
	for j := 0; j < len(pattern); j++ {
		c := s[i+j]
		if pattern[j] == '0' && !isDigit(c) || pattern[j] != '0' && c != pattern[j] {
			return false
		}
	}
	return true
}
