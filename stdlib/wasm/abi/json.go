package abi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The JSON batch, for plugins whose manifest says "encoding": "json":
//
//	{"records": [{"stream": "orders", "namespace": "", "op": "insert",
//	  "time": "2026-01-02T03:04:05.000000006Z", "position": "<base64>",
//	  "after": {"id": 1, …}, "before": {…}, "meta": {…},
//	  "status": "keep", "error": ""}, …]}
//
// Rows are JSON objects whose keys are the schema's fields, in order;
// absent fields are left out. A number without a fraction or exponent
// that fits 64 bits is an int, any other a float; NaN and infinities are
// the strings "NaN", "Infinity" and "-Infinity". "time", "position",
// "before", "meta", "status" ("keep" | "drop" | "error") and "error" may
// be left out. A JSON batch carries no schema table: a record's fields
// are its row's keys.

var opNames = [...]string{"record", "insert", "update", "delete", "snapshot", "truncate"}

var statusNames = [...]string{"keep", "drop", "error"}

// AppendBatchJSON appends b's JSON encoding to dst.
func AppendBatchJSON(dst []byte, b *Batch) []byte {
	dst = append(dst, `{"records":[`...)
	for i := range b.Records {
		r := &b.Records[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"stream":`...)
		dst = strconv.AppendQuote(dst, r.Stream)
		if r.Namespace != "" {
			dst = append(dst, `,"namespace":`...)
			dst = strconv.AppendQuote(dst, r.Namespace)
		}
		dst = append(dst, `,"op":"`...)
		dst = append(dst, opNames[r.Op%6]...)
		dst = append(dst, '"')
		if r.HasTime {
			dst = append(dst, `,"time":"`...)
			dst = time.Unix(0, r.TimeNanos).UTC().AppendFormat(dst, time.RFC3339Nano)
			dst = append(dst, '"')
		}
		if len(r.Position) > 0 {
			dst = append(dst, `,"position":"`...)
			dst = base64.StdEncoding.AppendEncode(dst, r.Position)
			dst = append(dst, '"')
		}
		var fields []Field
		if r.Schema < len(b.Schemas) {
			fields = b.Schemas[r.Schema].Fields
		}
		if r.After != nil {
			dst = append(dst, `,"after":`...)
			dst = appendRowJSON(dst, fields, r.After)
		}
		if r.Before != nil {
			dst = append(dst, `,"before":`...)
			dst = appendRowJSON(dst, fields, r.Before)
		}
		if r.Meta != nil {
			dst = append(dst, `,"meta":`...)
			dst = appendMembersJSON(dst, r.Meta)
		}
		if r.Status != RecordKeep {
			dst = append(dst, `,"status":"`...)
			dst = append(dst, statusNames[r.Status%3]...)
			dst = append(dst, '"')
		}
		if r.Error != "" {
			dst = append(dst, `,"error":`...)
			dst = strconv.AppendQuote(dst, r.Error)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

func appendRowJSON(dst []byte, fields []Field, vs []Value) []byte {
	dst = append(dst, '{')
	first := true
	for i := range vs {
		if vs[i].Kind == KindAbsent {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		name := ""
		if i < len(fields) {
			name = fields[i].Name
		}
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		dst = AppendValueJSON(dst, &vs[i])
	}
	return append(dst, '}')
}

func appendMembersJSON(dst []byte, ms []Member) []byte {
	dst = append(dst, '{')
	first := true
	for i := range ms {
		if ms[i].Value.Kind == KindAbsent {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, ms[i].Key)
		dst = append(dst, ':')
		dst = AppendValueJSON(dst, &ms[i].Value)
	}
	return append(dst, '}')
}

// AppendValueJSON appends v as JSON.
func AppendValueJSON(dst []byte, v *Value) []byte {
	switch v.Kind {
	case KindBool:
		return strconv.AppendBool(dst, v.Bool)
	case KindInt:
		return strconv.AppendInt(dst, v.Int, 10)
	case KindFloat:
		f := v.Float
		switch {
		case math.IsNaN(f):
			return append(dst, `"NaN"`...)
		case math.IsInf(f, 1):
			return append(dst, `"Infinity"`...)
		case math.IsInf(f, -1):
			return append(dst, `"-Infinity"`...)
		}
		if f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return strconv.AppendFloat(dst, f, 'f', 1, 64)
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	case KindString:
		return appendJSONString(dst, v.Str)
	case KindObject:
		return appendMembersJSON(dst, v.Obj)
	case KindArray:
		dst = append(dst, '[')
		for i := range v.Arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendValueJSON(dst, &v.Arr[i])
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // escapes as JSON does; a string always marshals
	return append(dst, b...)
}

// ParseBatchJSON decodes a JSON batch. Each distinct list of row keys
// becomes one schema (fields of any kind, nullable), in order of first
// use.
func ParseBatchJSON(data []byte) (*Batch, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top struct {
		Records []json.RawMessage `json:"records"`
	}
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("JSON batch: %w", err)
	}
	b := &Batch{Records: make([]Record, len(top.Records))}
	schemas := map[string]int{}
	for i, raw := range top.Records {
		if err := parseRecordJSON(raw, b, schemas, &b.Records[i]); err != nil {
			return nil, fmt.Errorf("JSON batch record %d: %w", i, err)
		}
	}
	return b, nil
}

func parseRecordJSON(raw []byte, b *Batch, schemas map[string]int, r *Record) error {
	var j struct {
		Stream, Namespace, Op, Time, Position, Status, Error string
		After, Before, Meta                                  json.RawMessage
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	r.Stream, r.Namespace, r.Error = j.Stream, j.Namespace, j.Error
	switch j.Status {
	case "", "keep":
	case "drop":
		r.Status = RecordDrop
	case "error":
		r.Status = RecordError
	default:
		return fmt.Errorf("status %q is not keep, drop or error", j.Status)
	}
	op := -1
	for k, n := range opNames {
		if n == j.Op || (j.Op == "" && k == 0) {
			op = k
		}
	}
	if op < 0 {
		return fmt.Errorf("op %q is not one of %s", j.Op, strings.Join(opNames[:], ", "))
	}
	r.Op = Op(op)
	if j.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, j.Time)
		if err != nil {
			return fmt.Errorf("time: %w", err)
		}
		r.TimeNanos, r.HasTime = t.UnixNano(), true
	}
	if j.Position != "" {
		p, err := base64.StdEncoding.DecodeString(j.Position)
		if err != nil {
			return fmt.Errorf("position is not base64: %w", err)
		}
		r.Position = p
	}
	row := func(raw json.RawMessage, which string) ([]string, []Value, error) {
		if len(raw) == 0 || string(raw) == "null" {
			return nil, nil, nil
		}
		v, err := ParseValueJSON(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", which, err)
		}
		if v.Kind != KindObject {
			return nil, nil, fmt.Errorf("%s is a %s, not an object", which, v.Kind)
		}
		ks := make([]string, len(v.Obj))
		vals := make([]Value, len(v.Obj))
		seen := map[string]bool{}
		for i, m := range v.Obj {
			if seen[m.Key] {
				return nil, nil, fmt.Errorf("%s has the key %q twice", which, m.Key)
			}
			seen[m.Key] = true
			ks[i], vals[i] = m.Key, m.Value
		}
		return ks, vals, nil
	}
	ak, av, err := row(j.After, "after")
	if err != nil {
		return err
	}
	bk, bv, err := row(j.Before, "before")
	if err != nil {
		return err
	}
	// One field list for both rows: after's keys, then before's others; a
	// field a row lacks is absent there.
	keys := ak
	for _, k := range bk {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	r.After, r.Before = align(keys, ak, av), align(keys, bk, bv)
	if len(j.Meta) > 0 && string(j.Meta) != "null" {
		v, err := ParseValueJSON(j.Meta)
		if err != nil || v.Kind != KindObject {
			return fmt.Errorf("meta is not an object")
		}
		r.Meta = v.Obj
	}
	sig := strings.Join(keys, "\x00")
	si, ok := schemas[sig]
	if !ok {
		si = len(b.Schemas)
		schemas[sig] = si
		s := Schema{Fields: make([]Field, len(keys))}
		for i, k := range keys {
			s.Fields[i] = Field{Name: k, Kind: KindNull, Nullable: true}
		}
		b.Schemas = append(b.Schemas, s)
	}
	r.Schema = si
	return nil
}

// align lays a row's values out along keys, absent where it has none;
// nil for a row that is not there.
func align(keys, ks []string, vs []Value) []Value {
	if vs == nil {
		return nil
	}
	if slices.Equal(ks, keys) {
		return vs
	}
	out := make([]Value, len(keys))
	for i, k := range keys {
		out[i] = Value{Kind: KindAbsent}
		for j, x := range ks {
			if x == k {
				out[i] = vs[j]
			}
		}
	}
	return out
}

// ParseValueJSON decodes one JSON value, keeping object key order.
func ParseValueJSON(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValueTokens(dec, 0)
	if err != nil {
		return Value{}, err
	}
	if dec.More() {
		return Value{}, fmt.Errorf("data after the value")
	}
	return v, nil
}

func parseValueTokens(dec *json.Decoder, depth int) (Value, error) {
	if depth > MaxDepth {
		return Value{}, fmt.Errorf("values nested deeper than %d", MaxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return Value{}, err
	}
	switch t := tok.(type) {
	case nil:
		return Value{}, nil
	case bool:
		return Value{Kind: KindBool, Bool: t}, nil
	case json.Number:
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return Value{Kind: KindInt, Int: i}, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Value{}, fmt.Errorf("number %s: %w", s, err)
		}
		return Value{Kind: KindFloat, Float: f}, nil
	case string:
		return Value{Kind: KindString, Str: t}, nil
	case json.Delim:
		if t == '{' {
			v := Value{Kind: KindObject, Obj: []Member{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return Value{}, err
				}
				k, _ := kt.(string)
				mv, err := parseValueTokens(dec, depth+1)
				if err != nil {
					return Value{}, err
				}
				v.Obj = append(v.Obj, Member{Key: k, Value: mv})
			}
			_, err := dec.Token()
			return v, err
		}
		v := Value{Kind: KindArray, Arr: []Value{}}
		for dec.More() {
			ev, err := parseValueTokens(dec, depth+1)
			if err != nil {
				return Value{}, err
			}
			v.Arr = append(v.Arr, ev)
		}
		_, err := dec.Token()
		return v, err
	}
	return Value{}, fmt.Errorf("unexpected token %v", tok)
}
