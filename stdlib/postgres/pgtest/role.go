package pgtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewRole creates a LOGIN role with password and the extra attributes
// attrs ("REPLICATION", or "" for none) for one test, and returns its
// name: lower-case letters, digits and _, at most 63 bytes, unique in the
// cluster for the life of the process. Roles are cluster-wide, so a fixed
// name collides when a test runs again under -count. The role is dropped
// in t.Cleanup; it must not own objects then (the test's databases are
// dropped after it when they were created first). Errors never show the
// password.
func (c *Cluster) NewRole(t testing.TB, password, attrs string) string {
	t.Helper()
	name := fmt.Sprintf("r%d_%s", c.seq.Add(1), strings.ToLower(sanitize(t.Name())))
	if len(name) > 63 {
		name = name[:63]
	}
	ident := pgx.Identifier{name}.Sanitize()
	if err := c.exec("CREATE ROLE " + ident + " LOGIN " + attrs + " PASSWORD '" + strings.ReplaceAll(password, "'", "''") + "'"); err != nil {
		t.Fatalf("pgtest: create role %q: %v", name, err)
	}
	t.Cleanup(func() {
		if err := c.exec("DROP ROLE IF EXISTS " + ident); err != nil {
			t.Errorf("pgtest: cleanup: drop role %q: %v", name, err)
		}
	})
	return name
}

// exec runs one statement on the postgres database; its error does not
// show the statement (it may hold a password).
func (c *Cluster) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}
