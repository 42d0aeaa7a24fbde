package enrich

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/rivven/rivven-connect/runtime"
)

var _ runtime.Prober = (*Step)(nil)

// Probe checks the step's back end without looking anything up (check
// --connect): for PostgreSQL it prepares the query (Prepare/Describe, the
// query is not run) and checks that it takes exactly one parameter, an
// array, that its result has the match column, and that each declared
// schema field is a column of a type that converts to the declared one;
// the result's columns and their record types are reported, ready to be
// declared as schema. It returns an error only when it cannot connect.
func (s *Step) Probe(ctx context.Context) ([]runtime.Finding, error) {
	if s.initErr != nil {
		return []runtime.Finding{{Check: "config", Level: runtime.FindingFail, Detail: s.initErr.Error()}}, nil
	}
	pg, ok := s.backend.(*pgBackend)
	if !ok {
		return []runtime.Finding{{Check: "http lookup", Level: runtime.FindingOK,
			Detail: "not probed: a request needs a key; the first batch makes the first one"}}, nil
	}
	defer pg.close()
	sd, err := pg.describe(ctx)
	if err != nil {
		if strings.HasPrefix(err.Error(), "the server refuses") {
			return []runtime.Finding{{Check: "query", Level: runtime.FindingFail, Detail: err.Error()}}, nil
		}
		return nil, err
	}
	var fs []runtime.Finding
	add := func(check, level, format string, args ...any) {
		fs = append(fs, runtime.Finding{Check: check, Level: level, Detail: fmt.Sprintf(format, args...)})
	}
	switch {
	case len(sd.ParamOIDs) != 1:
		add("query parameters", runtime.FindingFail, "the query takes %d parameters; it must take one, $1, the array of keys", len(sd.ParamOIDs))
	case !isArrayOID(sd.ParamOIDs[0]):
		add("query parameters", runtime.FindingFail, "$1 is of type %s, not an array: compare the key column with = ANY($1)", oidName(sd.ParamOIDs[0]))
	default:
		add("query parameters", runtime.FindingOK, "$1 is of type %s (the keys of a batch)", oidName(sd.ParamOIDs[0]))
	}
	cols := map[string]runtime.Type{}
	var desc []string
	for _, f := range sd.Fields {
		t := oidType(f.DataTypeOID)
		cols[f.Name] = t
		desc = append(desc, f.Name+" "+t.String())
	}
	if _, ok := cols[s.cfg.Postgres.Match]; ok {
		add("match column", runtime.FindingOK, "the result has column %q", s.cfg.Postgres.Match)
	} else {
		add("match column", runtime.FindingFail, "the query's result has no column %q; its columns: %s", s.cfg.Postgres.Match, strings.Join(desc, ", "))
	}
	if len(s.cfg.Schema) == 0 {
		add("result columns", runtime.FindingOK, "%s (declare them under schema: to type conditions on %s)", strings.Join(desc, ", "), s.cfg.Into)
		return fs, nil
	}
	for _, f := range s.rowType.Fields {
		ct, ok := cols[f.Name]
		switch {
		case !ok:
			add("schema."+f.Name, runtime.FindingFail, "the query's result has no column %q (it would always be null); its columns: %s", f.Name, strings.Join(desc, ", "))
		case !converts(ct, f.Type):
			add("schema."+f.Name, runtime.FindingFail, "the column is %s; its values do not convert to the declared %s", ct, f.Type)
		default:
			add("schema."+f.Name, runtime.FindingOK, "column of %s", ct)
		}
	}
	return fs, nil
}

// converts reports whether values of record type from always convert to
// type to (convert).
func converts(from, to runtime.Type) bool {
	switch {
	case to.Kind == runtime.KindNull || from.Kind == to.Kind && from.Kind != runtime.KindArray:
		return true
	case to.Kind == runtime.KindFloat && from.Kind == runtime.KindInt:
		return true
	case to.Kind == runtime.KindArray && from.Kind == runtime.KindArray:
		return from.Elem == nil || to.Elem == nil || converts(*from.Elem, *to.Elem)
	}
	return false
}

// oidType is the record type pgValue gives a column of type oid.
func oidType(oid uint32) runtime.Type {
	switch oid {
	case pgtype.BoolOID:
		return runtime.Type{Kind: runtime.KindBool}
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID:
		return runtime.Type{Kind: runtime.KindInt}
	case pgtype.Float4OID, pgtype.Float8OID:
		return runtime.Type{Kind: runtime.KindFloat}
	case pgtype.JSONOID, pgtype.JSONBOID:
		return runtime.Any
	}
	if elem, ok := arrayElems[oid]; ok {
		e := oidType(elem)
		return runtime.Type{Kind: runtime.KindArray, Elem: &e}
	}
	return runtime.Type{Kind: runtime.KindString}
}

// arrayElems maps the array types of the common element types to them.
var arrayElems = map[uint32]uint32{
	pgtype.BoolArrayOID: pgtype.BoolOID, pgtype.Int2ArrayOID: pgtype.Int2OID, pgtype.Int4ArrayOID: pgtype.Int4OID,
	pgtype.Int8ArrayOID: pgtype.Int8OID, pgtype.Float4ArrayOID: pgtype.Float4OID, pgtype.Float8ArrayOID: pgtype.Float8OID,
	pgtype.TextArrayOID: pgtype.TextOID, pgtype.VarcharArrayOID: pgtype.VarcharOID, pgtype.BPCharArrayOID: pgtype.BPCharOID,
	pgtype.UUIDArrayOID: pgtype.UUIDOID, pgtype.NumericArrayOID: pgtype.NumericOID, pgtype.DateArrayOID: pgtype.DateOID,
	pgtype.TimestampArrayOID: pgtype.TimestampOID, pgtype.TimestamptzArrayOID: pgtype.TimestamptzOID,
	pgtype.JSONArrayOID: pgtype.JSONOID, pgtype.JSONBArrayOID: pgtype.JSONBOID, pgtype.ByteaArrayOID: pgtype.ByteaOID,
}

func isArrayOID(oid uint32) bool {
	_, ok := arrayElems[oid]
	return ok
}

// oidName names a type for messages.
func oidName(oid uint32) string {
	if t, ok := pgtype.NewMap().TypeForOID(oid); ok {
		if elem, ok := strings.CutPrefix(t.Name, "_"); ok {
			return elem + "[]" // PostgreSQL's internal name of an array type
		}
		return t.Name
	}
	return fmt.Sprintf("type %d", oid)
}
