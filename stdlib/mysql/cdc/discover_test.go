package cdc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// manyTypes is a table with a column of each kind the source maps.
const manyTypes = `CREATE TABLE many (
	id BIGINT NOT NULL, k2 VARCHAR(8) NOT NULL,
	ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT, i INT NOT NULL, bu BIGINT UNSIGNED, y YEAR,
	f FLOAT, d DOUBLE, n DECIMAL(10,2) UNSIGNED,
	dt DATE, dtm DATETIME(3), ts TIMESTAMP(6) NULL, tm TIME,
	c CHAR(3), vc VARCHAR(20), tx TEXT, l1 VARCHAR(5) CHARACTER SET latin1,
	e ENUM('a','b'), st SET('x','y'), j JSON,
	bn BINARY(2), vb VARBINARY(4), bl BLOB, b1 BIT(1), b64 BIT(64),
	PRIMARY KEY (k2, id))`

const manyRow = `INSERT INTO many VALUES (%d, 'k', 1, 2, 3, 4, 18446744073709551615, 2024,
	1.5, 2.25, 12.34, '2024-01-02', '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.123456', '-12:00:01',
	'abc', 'vc', 'text', 'é', 'b', 'x,y', '{"a": 1}', 'ab', 'abcd', 'blob', b'1', b'1111')`

// schemaText prints a schema's fields (name, type, nullability) and key.
func schemaText(s *runtime.Schema) string {
	var b strings.Builder
	for _, f := range s.Fields {
		fmt.Fprintf(&b, "%s %s %t, ", f.Name, f.Type, f.Nullable)
	}
	fmt.Fprintf(&b, "key %v", s.KeyNames())
	return b.String()
}

func TestDiscoverMatchesTheRecordsOfSnapshotAndStream(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, manyTypes, fmt.Sprintf(manyRow, 1))
	cfg := config(db, "many")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("discovered %d streams", len(got))
	}
	ds := got[0]
	if ds.Name != "many" || ds.Namespace != db {
		t.Errorf("stream %s.%s", ds.Namespace, ds.Name)
	}
	if !slices.Equal(ds.PrimaryKey, []string{"k2", "id"}) {
		t.Errorf("primary key %v", ds.PrimaryKey)
	}
	for col, want := range map[string]string{"id": "bigint(20)", "si": "smallint(5) unsigned", "n": "decimal(10,2) unsigned",
		"e": "enum('a','b')", "dtm": "datetime(3)", "b64": "bit(64)", "vc": "varchar(20)", "j": "longtext"} {
		if ds.NativeTypes[col] != want {
			t.Errorf("native type of %s: %q, want %q", col, ds.NativeTypes[col], want)
		}
	}
	if len(ds.NativeTypes) != len(ds.Schema.Fields) {
		t.Errorf("%d native types for %d fields", len(ds.NativeTypes), len(ds.Schema.Fields))
	}
	var notNull []string
	for c := range ds.NotNull {
		notNull = append(notNull, c)
	}
	slices.Sort(notNull)
	if !slices.Equal(notNull, []string{"i", "id", "k2"}) {
		t.Errorf("NOT NULL columns %v", notNull)
	}
	if !slices.Equal(ds.SyncModes, []string{"full_refresh", "incremental"}) {
		t.Errorf("sync modes %v", ds.SyncModes)
	}
	want := schemaText(ds.Schema)
	if !strings.Contains(want, "bu string true") || !strings.Contains(want, "f float true") || !strings.Contains(want, "b1 int true") {
		t.Errorf("discovered schema %s", want)
	}
	src := open(t, cfg, nil)
	snap := read(t, src, 1)
	if g := schemaText(snap[0].Schema); g != want {
		t.Errorf("snapshot record schema\n%s\ndiscovered\n%s", g, want)
	}
	server.Exec(t, db, fmt.Sprintf(manyRow, 2))
	streamed := read(t, src, 1)
	if streamed[0].Op != runtime.OpInsert {
		t.Fatalf("op %s", streamed[0].Op)
	}
	if g := schemaText(streamed[0].Schema); g != want {
		t.Errorf("streamed record schema\n%s\ndiscovered\n%s", g, want)
	}
}

func TestDiscoverNamesAMissingTable(t *testing.T) {
	db := server.NewDatabase(t)
	server.Exec(t, db, "CREATE TABLE k (id INT PRIMARY KEY)")
	cfg := config(db, "k", "nope")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Discover(context.Background())
	if err == nil || !strings.Contains(err.Error(), "`"+db+"`.`nope` does not exist") {
		t.Fatalf("Discover: %v", err)
	}
}
