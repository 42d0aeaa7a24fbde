package cdc

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// syncerEventCache is how many decoded binlog events go-mysql buffers
// ahead of the stream loop. A rows event of a big transaction is some
// 8 KB of binlog and several times that of decoded rows: go-mysql's
// default, 10240, can hold hundreds of MB; 1024 kept some 70 MB live
// while a big transaction was read, and every row cost more CPU for it
// (garbage collection, fresh pages): BenchmarkBinlogDrain spends about a
// quarter less CPU per row with 256, and as much with 128.
const syncerEventCache = 256

// newSyncer returns a go-mysql binlog syncer for the source's server.
// Row values are decoded to the forms binlogValue (binlogvalue.go)
// expects: ParseTime off and TimestampStringLocation UTC give DATETIME,
// TIMESTAMP and TIME as the text the server prints (TIMESTAMP in UTC,
// like the snapshot's time_zone '+00:00'); UseDecimal off gives DECIMAL as
// its exact text. go-mysql's own retries are off: a broken connection
// ends the syncer's stream with an error, and the source reconnects with
// a new syncer (reconnect.go). The rows of the captured tables are
// decoded by images (rowimage.go), which belongs to this syncer.
// Connections are dialled only while ctx lasts, and closed when it ends.
func (s *Source) newSyncer(ctx context.Context, images *imageDecoder) (*replication.BinlogSyncer, error) {
	cfg, err := s.syncerConfig(ctx, images)
	if err != nil {
		return nil, err
	}
	return replication.NewBinlogSyncer(cfg), nil
}

// syncerConfig is newSyncer's configuration.
func (s *Source) syncerConfig(ctx context.Context, images *imageDecoder) (replication.BinlogSyncerConfig, error) {
	tc, err := s.binlogTLS(ctx)
	if err != nil {
		return replication.BinlogSyncerConfig{}, err
	}
	flavor := gomysql.MySQLFlavor
	if s.mariadb {
		flavor = gomysql.MariaDBFlavor
	}
	cache := syncerEventCache
	if s.eventCache > 0 {
		cache = s.eventCache
	}
	d := &net.Dialer{Timeout: time.Duration(s.cfg.ConnectTimeoutSecs) * time.Second}
	cfg := replication.BinlogSyncerConfig{
		ServerID:                uint32(s.cfg.ServerID),
		Flavor:                  flavor,
		Host:                    s.cfg.Host,
		Port:                    uint16(s.cfg.Port),
		User:                    s.cfg.User,
		Password:                s.cfg.Password,
		TLSConfig:               tc,
		ParseTime:               false,
		TimestampStringLocation: time.UTC,
		UseDecimal:              false,
		HeartbeatPeriod:         30 * time.Second,
		DisableRetrySync:        true,
		VerifyChecksum:          true,
		EventCacheCount:         cache,
		Logger:                  slog.New(debugHandler{s.logger().Handler()}).With("component", "go-mysql"),
		// Connecting ends with ctx: Close is prompt while the server is
		// unreachable (and go-mysql's KILL of the dump connection on
		// Close is skipped: closing the connection ends it). The
		// connection is closed when ctx ends, so no read or write (the
		// registration's queries included, which take no context) blocks
		// on a server that stopped answering.
		Dialer: func(dctx context.Context, network, addr string) (net.Conn, error) {
			dctx, cancel := context.WithCancel(dctx)
			defer cancel()
			stop := context.AfterFunc(ctx, cancel)
			defer stop()
			c, err := d.DialContext(dctx, network, addr)
			if err != nil {
				return nil, err
			}
			context.AfterFunc(ctx, func() { _ = c.Close() })
			return c, nil
		},
		// Rows are decoded in go-mysql's parser goroutine, which runs
		// beside the stream's: by images where it can (rowimage.go).
		RowsEventDecodeFunc: images.decode,
	}
	return cfg, nil
}

// binlogTLS returns the binlog connection's TLS settings for tls.mode:
// nil for disable; for prefer, TLS only when the server offers it, which
// the query pool (TLS with a plaintext fallback) has found out.
func (s *Source) binlogTLS(ctx context.Context) (*tls.Config, error) {
	tc, required, err := s.cfg.tlsConfig()
	if err != nil || tc == nil || required {
		return tc, err
	}
	var name, cipher string
	err = s.db.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher)
	switch {
	case err == sql.ErrNoRows:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("mysql-cdc: find out whether %s offers TLS (SHOW SESSION STATUS LIKE 'Ssl_cipher'): %w", s.addr(), err)
	case cipher == "":
		return nil, nil
	}
	return tc, nil
}

// debugHandler hands go-mysql's log records to the source's handler at
// debug level: the library logs routine events (connecting, rotating,
// closing) at info and error.
type debugHandler struct{ h slog.Handler }

func (d debugHandler) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.h.Enabled(ctx, slog.LevelDebug)
}

func (d debugHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return d.h.Handle(ctx, r)
}

func (d debugHandler) WithAttrs(as []slog.Attr) slog.Handler { return debugHandler{d.h.WithAttrs(as)} }

func (d debugHandler) WithGroup(name string) slog.Handler { return debugHandler{d.h.WithGroup(name)} }
