package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/mysql/mysqltest"
)

// TestMySQLDiscover runs discover on a mysql-cdc config against a real
// server: the catalog of its tables with their types, keys and the
// server's type names; a missing table is named.
func TestMySQLDiscover(t *testing.T) {
	my := mysqltest.New(t, mysqltest.Options{})
	db := my.NewDatabase(t)
	my.Exec(t, db, "CREATE TABLE items (id INT PRIMARY KEY, price DECIMAL(8,2), name VARCHAR(20) NOT NULL, n BIGINT UNSIGNED)",
		"CREATE TABLE pairs (a INT, b INT, f DOUBLE, PRIMARY KEY (b, a))")
	t.Setenv("MYSQLPW", my.Password)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "my.yaml")
	write := func(tables string) {
		writeFile(t, cfg, fmt.Sprintf(`
sources:
  my: {connector: mysql-cdc, config: {host: 127.0.0.1, port: %d, user: %s, password: "${MYSQLPW}", server_id: 7401, tables: [%s], tls: {mode: disable}}}
sinks:
  out: {connector: stdout}
pipelines:
  cdc: {source: my, sink: out}
`, my.Port, mysqltest.Superuser, tables))
	}
	write(db + ".items, " + db + ".pairs")
	out, errOut, code := mainOut(t, "discover", "-c", cfg, "my")
	var cat struct {
		Streams []struct {
			Name       string
			Namespace  string
			JSONSchema struct {
				Properties map[string]map[string]any
			} `json:"json_schema"`
			PK [][]string `json:"source_defined_primary_key"`
		}
	}
	if err := json.Unmarshal([]byte(out), &cat); err != nil || code != exitOK {
		t.Fatalf("discover: exit %d %v\n%s%s", code, err, out, errOut)
	}
	if len(cat.Streams) != 2 || cat.Streams[0].Name != "items" || cat.Streams[0].Namespace != db ||
		fmt.Sprint(cat.Streams[0].PK) != "[[id]]" || fmt.Sprint(cat.Streams[1].PK) != "[[b] [a]]" ||
		cat.Streams[0].JSONSchema.Properties["price"]["x-source-type"] != "decimal(8,2)" ||
		cat.Streams[0].JSONSchema.Properties["n"]["x-source-type"] != "bigint(20) unsigned" {
		t.Errorf("catalog:\n%s", out)
	}
	if strings.Contains(out+errOut, my.Password) {
		t.Error("discover shows the password")
	}

	write(db + ".items, " + db + ".gone")
	out, errOut, code = mainOut(t, "discover", "-c", cfg, "my")
	if code != exitFailure || !strings.Contains(errOut, "table `"+db+"`.`gone` does not exist") {
		t.Errorf("discover of a missing table: exit %d\n%s%s", code, out, errOut)
	}
}

// TestSchemaLockTypesMySQLCDCPipelines: discover --lock writes the lock
// of a mysql-cdc source; check then types the pipeline's conditions with
// the locked columns, run reads with them, and run stops, naming the
// table, the column and the lock command, once the table differs.
func TestSchemaLockTypesMySQLCDCPipelines(t *testing.T) {
	my := mysqltest.New(t, mysqltest.Options{})
	db := my.NewDatabase(t)
	my.Exec(t, db, "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, email TEXT, age INT, score DECIMAL(6,2))",
		"INSERT INTO users VALUES (1, 'ann', 'a@example.com', 31, 1.25), (2, 'bob', NULL, 45, NULL), (3, 'cy', 'c@example.com', 20, 3.50)")
	t.Setenv("MYSQLPW", my.Password)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cdc.yaml")
	write := func(cond string) {
		writeFile(t, cfg, fmt.Sprintf(`
sources:
  db: {connector: mysql-cdc, config: {host: 127.0.0.1, port: %d, user: %s, password: "${MYSQLPW}", server_id: 7402,
       tables: [%s.users], snapshot_mode: initial_only, tls: {mode: disable}}}
transforms:
  f: {type: filter, config: {condition: '%s'}}
sinks:
  out: {connector: stdout, config: {format: json}}
pipelines:
  p: {source: db, sink: out, transforms: [f]}
`, my.Port, mysqltest.Superuser, db, cond))
	}
	write(`nosuchcol > 3`)
	if out, errOut, code := mainOut(t, "check", "-c", cfg); code != exitOK {
		t.Fatalf("check without a lock: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := mainOut(t, "discover", "-c", cfg, "db", "--lock")
	lockPath := filepath.Join(dir, "cdc.lock.yaml")
	if code != exitOK || !strings.Contains(out, "cdc.lock.yaml: locked 1 stream of source \"db\"") {
		t.Fatalf("discover --lock: exit %d\n%s%s", code, out, errOut)
	}
	text, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"connector: mysql-cdc", "- name: users", "namespace: " + db, "key: [id]",
		`- {name: id, type: "int(11)", kind: int`, `- {name: score, type: "decimal(6,2)", kind: string}`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("lock lacks %q:\n%s", want, text)
		}
	}
	if out, errOut, code = mainOut(t, "check", "-c", cfg); code != exitUsage ||
		!strings.Contains(errOut, `unknown-field: transforms.f.config.condition: the stream has no field "nosuchcol"; fields: id, name, email, age, score`) {
		t.Errorf("check with the lock: exit %d\n%s%s", code, out, errOut)
	}
	write(`name == 5`)
	if out, errOut, code = mainOut(t, "check", "-c", cfg); code != exitUsage || !strings.Contains(errOut, `invalid operation: == (mismatched types string and int)`) {
		t.Errorf("check with the lock: exit %d\n%s%s", code, out, errOut)
	}
	write(`age != nil && age > 25`)
	out, errOut, code = mainOut(t, "explain", "-c", cfg)
	if code != exitOK || strings.Contains(out, "known at run time") || !strings.Contains(out, "schema: id ?int, name ?string, email ?string, age ?int, score ?string") {
		t.Errorf("explain with the lock: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = mainOut(t, "run", "-c", cfg)
	if code != exitOK || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"ann"`) || !strings.Contains(out, `"bob"`) {
		t.Fatalf("typed run: exit %d\n%s%s", code, out, errOut)
	}

	my.Exec(t, db, "ALTER TABLE users MODIFY age VARCHAR(3)")
	out, errOut, code = mainOut(t, "run", "-c", cfg)
	want := "the columns of table `" + db + "`.`users` no longer match the schema lock: column `age` changed type from int(11) (int) to varchar(3) (string); run rivven-connect discover -c " + cfg + " db --lock to accept the new schema"
	if code == exitOK || !strings.Contains(errOut, want) || strings.Contains(out+errOut, my.Password) {
		t.Errorf("run after the table changed: exit %d\n%s%s\nwant %s", code, out, errOut, want)
	}
}
