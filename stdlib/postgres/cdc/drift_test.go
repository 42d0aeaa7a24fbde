package cdc

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Types as the decoder resolves them, with their format_type text.
var (
	intT    = &pgType{name: "int4", kind: kInt}
	textT   = &pgType{name: "text", kind: kString}
	floatT  = &pgType{name: "float8", kind: kFloat}
	jsonT   = &pgType{name: "jsonb", kind: kJSON}
	intArrT = &pgType{name: "_int4", kind: kArray, elem: intT}
	natives = map[*pgType]string{intT: "integer", textT: "text", floatT: "double precision", jsonT: "jsonb", intArrT: "integer[]"}
)

// cols builds live columns from name/type pairs, as the catalog gives them
// (with format_type text).
func cols(pairs ...any) []column {
	var out []column
	for i := 0; i < len(pairs); i += 2 {
		t := pairs[i+1].(*pgType)
		out = append(out, column{name: pairs[i].(string), typ: t, native: natives[t]})
	}
	return out
}

// lockOf locks cs as discover --lock would.
func lockOf(cs []column) *LockedTable {
	lt := &LockedTable{Schema: "public", Table: "users"}
	for _, c := range cs {
		lt.Columns = append(lt.Columns, LockedColumn{Name: c.name, Type: c.native, Kind: c.kind(), NotNull: c.notNull})
	}
	return lt
}

// The lock's kinds are written as runtime.Type's String prints the record
// types the columns decode to.
func TestLockedKindStrings(t *testing.T) {
	got := lockOf(cols("i", intT, "s", textT, "f", floatT, "j", jsonT, "a", intArrT, "b", &pgType{kind: kBool}))
	var kinds []string
	for _, c := range got.Columns {
		kinds = append(kinds, c.Kind)
	}
	if strings.Join(kinds, " ") != "int string float any array<int> bool" {
		t.Fatalf("kinds %v", kinds)
	}
}

func TestDriftCompare(t *testing.T) {
	base := cols("id", intT, "name", textT, "age", intT)
	for _, tc := range []struct {
		name       string
		live       []column
		want       string // describe(false); "" for no drift
		warnPasses bool   // schema_drift: warn lets it through
	}{
		{"identical", cols("id", intT, "name", textT, "age", intT), "", true},
		{"appended", cols("id", intT, "name", textT, "age", intT, "email", textT, "tags", intArrT),
			"columns email (text, string), tags (integer[], array<int>) were added after the locked ones", true},
		{"added in the middle", cols("id", intT, "x", floatT, "name", textT, "age", intT),
			"column x (double precision, float) was added", false},
		{"dropped", cols("id", intT, "age", intT),
			"column name (text) was dropped", false},
		{"dropped last", cols("id", intT, "name", textT),
			"column age (integer) was dropped", false},
		{"dropped and appended", cols("id", intT, "age", intT, "email", textT),
			"column name (text) was dropped; column email (text, string) was added", false},
		{"last replaced", cols("id", intT, "name", textT, "email", textT),
			"column age (position 3) is now email of type text (string; locked integer, int)", false},
		{"retyped", cols("id", intT, "name", textT, "age", textT),
			"column age changed type from integer (int) to text (string)", false},
		{"retyped and appended", cols("id", intT, "name", jsonT, "age", intT, "z", intT),
			"column name changed type from text (string) to jsonb (any); column z (integer, int) was added", false},
		{"renamed", cols("id", intT, "full_name", textT, "age", intT),
			"column name (position 2) is now full_name", false},
		{"renamed and retyped", cols("id", intT, "name", textT, "years", floatT),
			"column age (position 3) is now years of type double precision (float; locked integer, int)", false},
		{"dropped and added again", cols("id", intT, "age", intT, "name", textT),
			"column name moved from position 2 to 3", false},
		{"moved and retyped", cols("id", intT, "age", intT, "name", intT),
			"column name moved from position 2 to 3; column name changed type from text (string) to integer (int)", false},
		{"empty", nil, "column id (integer) was dropped; column name (text) was dropped; column age (integer) was dropped", false},
		{"quoted names", cols("id", intT, "name", textT, "age", intT, "Zip Code", textT),
			`column "Zip Code" (text, string) was added after the locked ones`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := compareLocked(lockOf(base), tc.live, false)
			if tc.want == "" {
				if d != nil {
					t.Fatalf("drift %q", d.describe(true))
				}
				return
			}
			if d == nil {
				t.Fatalf("no drift, want %q", tc.want)
			}
			if got := d.describe(false); got != tc.want {
				t.Errorf("drift\n got %q\nwant %q", got, tc.want)
			}
			if !d.breaks(SchemaDriftFail) {
				t.Errorf("schema_drift: fail lets %q through", tc.want)
			}
			if got := !d.breaks(SchemaDriftWarn); got != tc.warnPasses {
				t.Errorf("schema_drift: warn lets it through: %v, want %v", got, tc.warnPasses)
			}
		})
	}
}

// From the catalog, type texts and NOT NULL that change without changing
// the records are stale, not drift.
func TestDriftStaleOnly(t *testing.T) {
	lt := lockOf(cols("id", intT, "name", textT))
	lt.Columns[0].NotNull = true
	lt.Columns[1].Type = "character varying(10)"
	live := cols("id", &pgType{name: "int8", kind: kInt}, "name", textT)
	live[0].native = "bigint"
	live[1].notNull = true
	if d := compareLocked(lt, live, false); d != nil {
		t.Fatalf("run-time drift %q", d.describe(true))
	}
	d := compareLocked(lt, live, true)
	if d == nil || d.breaks(SchemaDriftFail) {
		t.Fatalf("drift %+v, want stale only", d)
	}
	want := "column id changed type from integer to bigint (both decode to int); column id is no longer NOT NULL; " +
		"column name changed type from character varying(10) to text (both decode to string); column name became NOT NULL"
	if got := d.describe(true); got != want {
		t.Errorf("stale\n got %q\nwant %q", got, want)
	}
}

// checkDrift's errors name the table, the columns and the command that
// rewrites the lock, and are fatal (no reconnect retries them); a table
// the lock lacks fails too; without a lock nothing is checked.
func TestCheckDriftErrors(t *testing.T) {
	cfg := config("d", "users")
	cfg.Locked = []LockedTable{*lockOf(cols("id", intT, "name", textT))}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.checkDrift(ctx, newRelation("public", "users", cols("id", intT, "name", textT), []string{"id"})); err != nil {
		t.Fatalf("identical: %v", err)
	}
	err = s.checkDrift(ctx, newRelation("public", "users", cols("id", intT, "name", textT, "email", textT), nil))
	var fe fatalError
	if err == nil || !errors.As(err, &fe) || transient(err) {
		t.Fatalf("appended under fail: %v, want a fatal error", err)
	}
	want := "postgres-cdc: the columns of table public.users no longer match the schema lock: column email (text, string) was added after the locked ones; " +
		"run rivven-connect discover -c FILE SOURCE --lock to accept the new schema"
	if err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}
	err = s.checkDrift(ctx, newRelation("public", "orders", cols("id", intT), nil))
	if want := "postgres-cdc: table public.orders is not in the schema lock, which holds public.users: run rivven-connect discover -c FILE SOURCE --lock to lock it"; err == nil || err.Error() != want {
		t.Errorf("unlocked table: %v, want %s", err, want)
	}

	s.cfg.SchemaDrift, s.cfg.LockCommand = SchemaDriftWarn, "rivven-connect discover -c p.yaml db --lock"
	if err := s.checkDrift(ctx, newRelation("public", "users", cols("id", intT, "name", textT, "email", textT), nil)); err != nil {
		t.Errorf("appended under warn: %v", err)
	}
	err = s.checkDrift(ctx, newRelation("public", "users", cols("id", intT, "email", textT), nil))
	want = "postgres-cdc: the columns of table public.users no longer match the schema lock: column name (position 2) is now email " +
		"(schema_drift: warn lets through only columns added after the locked ones); run rivven-connect discover -c p.yaml db --lock to accept the new schema"
	if err == nil || err.Error() != want {
		t.Errorf("renamed under warn:\n got %v\nwant %s", err, want)
	}

	s.cfg.Locked = nil
	if err := s.checkDrift(ctx, newRelation("public", "orders", cols("x", textT), nil)); err != nil {
		t.Errorf("without a lock: %v", err)
	}
}

func TestLockConfigValidation(t *testing.T) {
	cfg := config("d")
	cfg.SchemaDrift = "replan"
	cfg.Locked = []LockedTable{
		{Schema: "public", Table: "a", Columns: []LockedColumn{{Name: "x", Kind: "int"}, {Name: "x", Kind: "int"}, {Name: "y"}}},
		{Schema: "public", Table: "a"},
		{Table: "b"},
	}
	err := cfg.Validate()
	for _, want := range []string{`schema_drift "replan" is not valid: use fail or warn`, "column x of table public.a is locked twice",
		"column y of table public.a has no record type", "table public.a is locked twice", `table ""."b" needs a schema and a name`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
	if d := Defaults().SchemaDrift; d != SchemaDriftFail {
		t.Errorf("default schema_drift %q", d)
	}
}
