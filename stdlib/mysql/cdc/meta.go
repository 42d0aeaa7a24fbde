package cdc

import "github.com/rivven/rivven-connect/runtime"

// meta builds a record's metadata: transaction_id (the GTID; null in the
// snapshot), key (the primary key's columns and values), and source
// {connector, database, table, file, pos, gtid, server_id, snapshot}.
func (s *Source) meta(rel *relation, row []runtime.Value, before []runtime.Value, at token, gtid string, snap bool) *runtime.Object {
	m := runtime.NewObject(3)
	if gtid == "" {
		m.Set("transaction_id", runtime.Null())
	} else {
		m.Set("transaction_id", runtime.String(gtid))
	}
	kr := row
	if kr == nil {
		kr = before
	}
	if len(rel.pk) > 0 {
		key := runtime.NewObject(len(rel.pk))
		for _, k := range rel.pk {
			key.Set(rel.cols[k].name, kr[k])
		}
		m.Set("key", runtime.ObjectValue(key))
	} else {
		m.Set("key", runtime.Null())
	}
	src := runtime.NewObject(8)
	src.Set("connector", runtime.String("mysql-cdc"))
	src.Set("database", runtime.String(rel.t.db))
	src.Set("table", runtime.String(rel.t.name))
	src.Set("file", runtime.String(at.file))
	src.Set("pos", runtime.Int(int64(at.pos)))
	if gtid != "" {
		src.Set("gtid", runtime.String(gtid))
	} else {
		src.Set("gtid", runtime.Null())
	}
	src.Set("snapshot", runtime.Bool(snap))
	m.Set("source", runtime.ObjectValue(src))
	return m
}
