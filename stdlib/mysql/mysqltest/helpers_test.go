package mysqltest

import (
	"database/sql"
	"net"
	"strconv"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func openAs(t *testing.T, user, password string) *sql.DB {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = user, password, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(server.Port))
	conn, err := mysql.NewConnector(c)
	if err != nil {
		t.Fatal(err)
	}
	d := sql.OpenDB(conn)
	t.Cleanup(func() { d.Close() })
	return d
}

// openAt opens a pool to s as the superuser without the test's cleanup
// (the caller closes it).
func openAt(t *testing.T, s *Server, db string) *sql.DB {
	d, err := sql.Open("mysql", s.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
