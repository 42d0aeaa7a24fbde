package cdc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rivven/rivven-connect/runtime"
)

// The spellings config.tables accepts, and the exact names they mean.
var tableSpellings = []struct {
	in           string
	schema, name string // schema "" = the default schema
}{
	{`users`, "", "users"},
	{`public.users`, "public", "users"},
	{`_t$1`, "", "_t$1"},
	{`user`, "", "user"}, // a reserved word, yet a fine name: it is always quoted
	{`"Users"`, "", "Users"},
	{`public."Order Items"`, "public", "Order Items"},
	{`"Sales-EU"."Ümlaut"`, "Sales-EU", "Ümlaut"},
	{`"Sales-EU".orders`, "Sales-EU", "orders"},
	{`ümlaut`, "", "ümlaut"},
	{`Ümlaut`, "", "Ümlaut"}, // PostgreSQL folds only A-Z (UTF-8 database)
	{`"a.b"`, "", "a.b"},
	{`"a.b"."c.d"`, "a.b", "c.d"},
	{`"say ""hi"""`, "", `say "hi"`},
	{`"x""; DROP TABLE t; --"`, "", `x"; DROP TABLE t; --`}, // quoted: a harmless (odd) name
	{`"it's"`, "", "it's"},
	{`"` + strings.Repeat("é", 31) + `"`, "", strings.Repeat("é", 31)}, // 62 bytes
	{strings.Repeat("a", 63), "", strings.Repeat("a", 63)},
	{`"` + strings.Repeat("A", 63) + `"`, "", strings.Repeat("A", 63)},
}

// What config.tables refuses, and what the error says.
var badTables = []struct{ in, want string }{
	{`x"; DROP TABLE t; --`, `a " at character 2: double quotes enclose a whole name`},
	{`t; DROP TABLE t`, `';' cannot appear in an unquoted name (character 2)`},
	{`"x"; DROP TABLE t; --`, `"x" is followed by ';': a quoted name ends at its closing "`},
	{`public"`, `a " at character 7`},
	{`a.b.c`, "more than one . outside double quotes"},
	{`a..b`, "the name before the . is empty"},
	{`.b`, "the name before the . is empty"},
	{`a.`, "the table name after the . is empty"},
	{``, "the name is empty"},
	{`""`, `"" is an empty name`},
	{`"open`, `the double quote that opens "open is never closed`},
	{`"a""`, `the double quote that opens "a"" is never closed`},
	{`1abc`, "an unquoted name starts with a letter or _, not '1'"},
	{`$x`, "an unquoted name starts with a letter or _, not '$'"},
	{`my table`, "' ' cannot appear in an unquoted name (character 3)"},
	{`a-b`, "'-' cannot appear in an unquoted name (character 2)"},
	{"\"a\x00b\"", "the name contains NUL"},
	{"a\xffb", "not valid UTF-8"},
	{strings.Repeat("a", 64), "is 64 bytes long, and PostgreSQL names have at most 63 bytes"},
	{`"` + strings.Repeat("é", 32) + `"`, "the name is 64 bytes long"},
	{`Users`, `PostgreSQL folds unquoted names to lower case, so this means users: for the table created as "Users" write "Users" (in YAML: '"Users"'), else write users`},
	{`public.Users`, `so this means public.users: for the table created as public."Users" write public."Users", else write public.users`},
	{`Sales.orders`, `so this means sales.orders: for the table created as "Sales".orders write "Sales".orders (in YAML: '"Sales".orders'), else write sales.orders`},
	{`ÜmLaut`, `so this means "Ümlaut": for the table created as "ÜmLaut" write "ÜmLaut"`},
}

func TestTableSpellings(t *testing.T) {
	for _, c := range tableSpellings {
		schema, name, err := parseTable(c.in)
		if err != nil || schema != c.schema || name != c.name {
			t.Errorf("parseTable(%s) = %q, %q, %v; want %q, %q", c.in, schema, name, err, c.schema, c.name)
			continue
		}
		// QuoteName spells the exact names back so that they parse again.
		back := QuoteName(name)
		if schema != "" {
			back = QuoteName(schema) + "." + back
		}
		if s2, n2, err := parseTable(back); err != nil || s2 != schema || n2 != name {
			t.Errorf("%s: QuoteName gives %s, which parses as %q, %q, %v", c.in, back, s2, n2, err)
		}
	}
	for _, c := range badTables {
		if _, _, err := parseTable(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseTable(%q) = %v; want an error with %q", c.in, err, c.want)
		}
	}
}

// Every refusal happens in Validate (and New), before any connection, and
// names what is wrong; slot names keep PostgreSQL's own rule.
func TestIdentifiersValidatedWithoutConnecting(t *testing.T) {
	for _, c := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"injection in a table", func(c *Config) { c.Tables = []string{`x"; DROP TABLE t; --`} },
			`table 'x"; DROP TABLE t; --' is not valid: a " at character 2`},
		{"injection in a quoted table", func(c *Config) { c.Tables = []string{`"x"; DROP TABLE t; --`} },
			`table '"x"; DROP TABLE t; --' is not valid: "x" is followed by ';'`},
		{"injection in a schema", func(c *Config) { c.Schemas = []string{`public"; DROP TABLE t; --`} },
			`schema 'public"; DROP TABLE t; --' is not valid: a " at character 7`},
		{"injection in the publication", func(c *Config) { c.Publication = `p'; DROP TABLE x` },
			`publication 'p''; DROP TABLE x' is not valid: '\'' cannot appear in an unquoted name (character 2)`},
		{"upper-case table", func(c *Config) { c.Tables = []string{"Users"} },
			`table 'Users' is not valid: PostgreSQL folds unquoted names to lower case, so this means users: for the table created as "Users" write "Users" (in YAML: '"Users"'), else write users`},
		{"upper-case schema", func(c *Config) { c.Schemas = []string{"Sales"} },
			`schema 'Sales' is not valid: PostgreSQL folds unquoted names to lower case, so this means sales: for the schema created as "Sales" write "Sales" (in YAML: '"Sales"'), else write sales`},
		{"upper-case publication", func(c *Config) { c.Publication = "Pub" },
			`publication 'Pub' is not valid: PostgreSQL folds unquoted names to lower case, so this means pub: for the publication created as "Pub" write "Pub"`},
		{"qualified schema", func(c *Config) { c.Schemas = []string{"a.b"} },
			"schema 'a.b' is not valid: a is followed by a . outside double quotes"},
		{"NUL", func(c *Config) { c.Tables = []string{"\"a\x00\""} }, `table "\"a\x00\"" is not valid: the name contains NUL`},
		{"slot quoted", func(c *Config) { c.SlotName = `"Slot"` }, `slot_name "\"Slot\"" is not valid`},
		{"slot upper", func(c *Config) { c.SlotName = "Slot" }, `slot_name "Slot" is not valid`},
		{"slot injection", func(c *Config) { c.SlotName = `s"; DROP TABLE x; --` }, "slot_name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config("nosuchdb", "t")
			cfg.Port = 1 // nothing listens: a refusal cannot come from a server
			c.mut(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate: %v; want an error with %q", err, c.want)
			}
			if _, err := New(cfg, nil); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	// Quoted names of every kind pass.
	cfg := config("nosuchdb", `public."Order Items"`, `"Ümlaut"`)
	cfg.Publication, cfg.Schemas = `"Pub Mixed"`, []string{`"Sales-EU"`, "public"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// The default schema of an unqualified table is the first of schemas,
	// by its exact name.
	if got := fmt.Sprint(cfg.SelectedTables()); got != "[[public Order Items] [Sales-EU Ümlaut]]" {
		t.Fatalf("SelectedTables = %s", got)
	}
}

// PostgreSQL's own parser (parse_ident) reads every spelling the source
// accepts as the same names; and QuoteName's spelling of odd names too.
func TestSpellingsAgreeWithPostgreSQL(t *testing.T) {
	db := cluster.NewDatabase(t)
	c := conn(t, db)
	check := func(spelling string, want []string) {
		t.Helper()
		var got []string
		if err := c.QueryRow(context.Background(), `SELECT parse_ident($1)`, spelling).Scan(&got); err != nil {
			t.Errorf("parse_ident(%s): %v", spelling, err)
			return
		}
		if !slices.Equal(got, want) {
			t.Errorf("PostgreSQL reads %s as %q, the source as %q", spelling, got, want)
		}
	}
	for _, s := range tableSpellings {
		want := []string{s.name}
		if s.schema != "" {
			want = []string{s.schema, s.name}
		}
		check(s.in, want)
	}
	for _, name := range []string{"users", "Users", "a b", `"`, `""`, "'", "a.b", ",", "x$", "ß", "日本語", "\t", "naïve", "e\u0301"} {
		check(QuoteName(name), []string{name})
	}
}

// FuzzTableSpelling cross-checks parseTable with QuoteName: whatever it
// accepts is exact names that QuoteName spells back to the same names.
func FuzzTableSpelling(f *testing.F) {
	for _, c := range tableSpellings {
		f.Add(c.in)
	}
	for _, c := range badTables {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		schema, name, err := parseTable(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if CheckName(name) != nil || schema != "" && CheckName(schema) != nil {
			t.Fatalf("parseTable(%q) accepted %q, %q", s, schema, name)
		}
		if !strings.Contains(s, `"`) && strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("parseTable(%q) accepted an unquoted upper-case name", s)
		}
		back := QuoteName(name)
		if schema != "" {
			back = QuoteName(schema) + "." + back
		}
		if s2, n2, err := parseTable(back); err != nil || s2 != schema || n2 != name {
			t.Fatalf("parseTable(%q) = %q, %q; QuoteName spells it %s, which parses as %q, %q, %v", s, schema, name, back, s2, n2, err)
		}
	})
}

// identDB creates the tables of the identifier tests: public."Order Items"
// (a mixed-case column), "Sales-EU"."Ümlaut" and public."a.b ""c""", one
// row each.
func identDB(t *testing.T) string {
	db := cluster.NewDatabase(t)
	cluster.Exec(t, db,
		`CREATE TABLE "Order Items" (id int PRIMARY KEY, "Item Name" text, "Qty" int)`,
		`CREATE SCHEMA "Sales-EU"`,
		`CREATE TABLE "Sales-EU"."Ümlaut" ("Größe" int PRIMARY KEY, v text)`,
		`CREATE TABLE "a.b ""c""" (id int PRIMARY KEY)`,
		`CREATE TABLE plain (id int PRIMARY KEY)`,
		`INSERT INTO "Order Items" VALUES (1, 'pen', 2)`,
		`INSERT INTO "Sales-EU"."Ümlaut" VALUES (1, 'x')`,
		`INSERT INTO "a.b ""c""" VALUES (1)`,
		`INSERT INTO plain VALUES (1)`)
	return db
}

// changes writes one insert, update and delete to each identDB table.
func changes(t *testing.T, db string) {
	cluster.Exec(t, db,
		`INSERT INTO "Order Items" VALUES (2, 'ink', 1)`,
		`UPDATE "Order Items" SET "Qty" = 3 WHERE id = 2`,
		`DELETE FROM "Order Items" WHERE id = 2`,
		`INSERT INTO "Sales-EU"."Ümlaut" VALUES (2, 'y')`,
		`UPDATE "Sales-EU"."Ümlaut" SET v = 'z' WHERE "Größe" = 2`,
		`DELETE FROM "Sales-EU"."Ümlaut" WHERE "Größe" = 2`,
		`INSERT INTO "a.b ""c""" VALUES (2)`,
		`DELETE FROM "a.b ""c""" WHERE id = 2`,
		`INSERT INTO plain VALUES (2)`,
		`INSERT INTO "Sales-EU"."Ümlaut" VALUES (99, 'end')`) // last: what was not delivered before it never is
}

func describeRecs(recs []runtime.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s [%s].[%s] before=%s after=%s", r.Op, r.Namespace, r.Stream, row(r, r.Before), row(r, r.After)))
	}
	return out
}

var (
	snapOrderItems = `snapshot [public].[Order Items] before=null after={"id":1,"Item Name":"pen","Qty":2}`
	snapUmlaut     = `snapshot [Sales-EU].[Ümlaut] before=null after={"Größe":1,"v":"x"}`
	snapOdd        = `snapshot [public].[a.b "c"] before=null after={"id":1}`
	streamOrder    = []string{
		`insert [public].[Order Items] before=null after={"id":2,"Item Name":"ink","Qty":1}`,
		`update [public].[Order Items] before=null after={"id":2,"Item Name":"ink","Qty":3}`,
		`delete [public].[Order Items] before={"id":2} after=null`,
	}
	streamUmlaut = []string{
		`insert [Sales-EU].[Ümlaut] before=null after={"Größe":2,"v":"y"}`,
		`update [Sales-EU].[Ümlaut] before=null after={"Größe":2,"v":"z"}`,
		`delete [Sales-EU].[Ümlaut] before={"Größe":2} after=null`,
	}
	streamOdd = []string{
		`insert [public].[a.b "c"] before=null after={"id":2}`,
		`delete [public].[a.b "c"] before={"id":2} after=null`,
	}
	streamEnd = []string{`insert [Sales-EU].[Ümlaut] before=null after={"Größe":99,"v":"end"}`}
)

func wantLines(t *testing.T, what string, got []string, want ...[]string) {
	t.Helper()
	w := slices.Concat(want...)
	if strings.Join(got, "\n") != strings.Join(w, "\n") {
		t.Fatalf("%s: got\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(w, "\n"))
	}
}

// published lists a publication's tables as schema.name with exact names.
func published(t *testing.T, db, pub string) string {
	t.Helper()
	rows, err := conn(t, db).Query(context.Background(), `SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, pub)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(list, ", ")
}

// Mixed-case, quoted and non-ASCII tables, listed in tables: the source
// creates its publication (itself mixed-case) for exactly them, snapshots
// them and streams their changes, under their exact names.
func TestQuotedTablesOwnPublication(t *testing.T) {
	db := identDB(t)
	cfg := config(db, `public."Order Items"`, `"Sales-EU"."Ümlaut"`, `"a.b ""c"""`)
	cfg.Publication = `"Pub Mixed"`

	// check --connect before anything exists.
	got := probe(t, cfg)
	for _, want := range []string{
		`ok publication: "Pub Mixed" does not exist yet; it will be created`,
		`ok replica identity public."Order Items": DEFAULT (primary key)`,
		`ok replica identity "Sales-EU"."Ümlaut": DEFAULT (primary key)`,
		`ok replica identity public."a.b ""c""": DEFAULT (primary key)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("probe lacks %q:\n%s", want, got)
		}
	}
	missing := config(db, `public."order items"`)
	if got := probe(t, missing); !strings.Contains(got, `fail table public."order items": does not exist`) {
		t.Errorf("probe of a table that differs in case:\n%s", got)
	}

	s := open(t, cfg)
	if got := published(t, db, "Pub Mixed"); got != `Sales-EU.Ümlaut, public.Order Items, public.a.b "c"` {
		t.Fatalf("the publication covers %s", got)
	}
	snap := read(t, s, 3)
	wantLines(t, "snapshot", describeRecs(snap), []string{snapUmlaut, snapOrderItems, snapOdd})
	m := js(snap[1])
	if !strings.Contains(m, `"key":{"id":1}`) || !strings.Contains(m, `"schema":"public","table":"Order Items"`) {
		t.Errorf("snapshot metadata %s", m)
	}
	ackAll(t, s, snap)
	changes(t, db)
	recs := read(t, s, 9)
	wantLines(t, "stream", describeRecs(recs), streamOrder, streamUmlaut, streamOdd, streamEnd)
	m = js(recs[3])
	if !strings.Contains(m, `"key":{"Größe":2}`) || !strings.Contains(m, `"schema":"Sales-EU","table":"Ümlaut"`) {
		t.Errorf("stream metadata %s", m)
	}
	ackAll(t, s, recs)

	// check --connect while running, with a table the publication lacks:
	// its ALTER PUBLICATION hint is SQL that works as written.
	got = probe(t, func() Config {
		c := config(db, `public."Order Items"`, "plain")
		c.Publication = cfg.Publication
		return c
	}())
	for _, want := range []string{
		`ok publication: "Pub Mixed" publishes "Sales-EU"."Ümlaut", public."Order Items", public."a.b ""c"""`,
		`ok selection: "Pub Mixed" also publishes "Sales-EU"."Ümlaut", public."a.b ""c""", which this source does not select`,
		`warn table public.plain: listed in tables but not published by "Pub Mixed"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("probe lacks %q:\n%s", want, got)
		}
	}
	hint := got[strings.Index(got, "ALTER PUBLICATION"):]
	hint = hint[:strings.IndexByte(hint, '\n')]
	if hint != `ALTER PUBLICATION "Pub Mixed" ADD TABLE "public"."plain"` {
		t.Fatalf("hint %s", hint)
	}
	cluster.Exec(t, db, hint)

	// discover names the publication's tables exactly.
	d, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := d.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range streams {
		var fields []string
		for _, f := range st.Schema.Fields {
			fields = append(fields, f.Name+" "+st.NativeTypes[f.Name])
		}
		names = append(names, fmt.Sprintf("[%s].[%s] (%s) key %q", st.Namespace, st.Name, strings.Join(fields, ", "), st.PrimaryKey))
	}
	wantLines(t, "discover", names, []string{
		`[Sales-EU].[Ümlaut] (Größe integer, v text) key ["Größe"]`,
		`[public].[Order Items] (id integer, Item Name text, Qty integer) key ["id"]`,
		`[public].[a.b "c"] (id integer) key ["id"]`,
	})
}

// discover without a publication: the configured tables, or the tables of
// the configured schemas, by their exact names.
func TestDiscoverQuotedNames(t *testing.T) {
	db := identDB(t)
	for _, c := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"tables", config(db, `public."Order Items"`, `"Sales-EU"."Ümlaut"`), []string{"[public].[Order Items]", "[Sales-EU].[Ümlaut]"}},
		{"schemas", func() Config { c := config(db); c.Schemas = []string{`"Sales-EU"`}; return c }(), []string{"[Sales-EU].[Ümlaut]"}},
		{"default schema", func() Config { c := config(db, `"Ümlaut"`); c.Schemas = []string{`"Sales-EU"`}; return c }(), []string{"[Sales-EU].[Ümlaut]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(c.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			streams, err := s.Discover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, st := range streams {
				got = append(got, fmt.Sprintf("[%s].[%s]", st.Namespace, st.Name))
			}
			wantLines(t, "discover", got, c.want)
		})
	}
}

// An existing publication whose name needs quoting — upper-case, a space,
// a comma, ' and " — chosen by its exact name in START_REPLICATION's
// publication_names (which the server splits like a list of identifiers,
// folding unquoted ones): a decoy publication named as the folded name
// would otherwise be read instead.
func TestQuotedExistingPublication(t *testing.T) {
	for _, c := range []struct{ name, pub, decoy string }{
		{"mixed case", `"PubMixed"`, "pubmixed"},
		{"space comma quotes", `"It's, ""Odd"""`, `"it's"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := identDB(t)
			pub, err := parseName("publication", c.pub)
			if err != nil {
				t.Fatal(err)
			}
			cluster.Exec(t, db,
				`CREATE PUBLICATION `+c.pub+` FOR TABLE "Sales-EU"."Ümlaut", "Order Items"`,
				`CREATE PUBLICATION `+c.decoy+` FOR TABLE plain, "a.b ""c"""`)
			cfg := config(db)
			cfg.Publication, cfg.AutoCreatePublication = c.pub, false
			cfg.Schemas = []string{`"Sales-EU"`} // of the publication, only "Sales-EU"'s tables
			got := probe(t, cfg)
			for _, want := range []string{
				fmt.Sprintf(`ok publication: %q publishes "Sales-EU"."Ümlaut", public."Order Items"`, pub),
				fmt.Sprintf(`ok selection: %q also publishes public."Order Items", which this source does not select`, pub),
				`ok replica identity "Sales-EU"."Ümlaut": DEFAULT (primary key)`,
			} {
				if !strings.Contains(got, want) {
					t.Errorf("probe lacks %q:\n%s", want, got)
				}
			}
			s := open(t, cfg)
			snap := read(t, s, 1)
			wantLines(t, "snapshot", describeRecs(snap), []string{snapUmlaut})
			ackAll(t, s, snap)
			changes(t, db)
			recs := read(t, s, 4)
			wantLines(t, "stream", describeRecs(recs), streamUmlaut, streamEnd)
		})
	}
}

// A publication the source creates FOR TABLES IN SCHEMA a quoted schema;
// a table there without a replica identity is refused by its exact name.
func TestQuotedSchemaOwnPublication(t *testing.T) {
	db := identDB(t)
	cluster.Exec(t, db, `CREATE TABLE "Sales-EU"."No Key" (v int)`)
	cfg := config(db)
	cfg.Schemas = []string{`"Sales-EU"`}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Open(context.Background())
	_ = s.Close()
	if err == nil || !strings.Contains(err.Error(), `no replica identity (no primary key, or REPLICA IDENTITY NOTHING), so publishing them would make their UPDATEs and DELETEs fail: "Sales-EU"."No Key";`) {
		t.Fatalf("got %v, want a refusal naming \"Sales-EU\".\"No Key\"", err)
	}
	cluster.Exec(t, db, `ALTER TABLE "Sales-EU"."No Key" REPLICA IDENTITY FULL`, `INSERT INTO "Sales-EU"."No Key" VALUES (7)`)
	s = open(t, cfg)
	if got := published(t, db, "p1"); got != `Sales-EU.No Key, Sales-EU.Ümlaut` {
		t.Fatalf("the publication covers %s", got)
	}
	snap := read(t, s, 2)
	wantLines(t, "snapshot", describeRecs(snap), []string{`snapshot [Sales-EU].[No Key] before=null after={"v":7}`, snapUmlaut})
	ackAll(t, s, snap)
	changes(t, db)
	recs := read(t, s, 4)
	wantLines(t, "stream", describeRecs(recs), streamUmlaut, streamEnd)
}
