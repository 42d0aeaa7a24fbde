package cdc

import (
	"context"
	"errors"
	"fmt"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
)

// unavailableError says that the server refused to send the binlog from a
// position (error 1236: the file was purged, the position is past its
// end, or the GTID position is not in the server's binlogs).
type unavailableError struct {
	at     token
	reason string // the server's message
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("the server cannot send the binlog from %s: %s", e.at, e.reason)
}

// binlogAvailable asks the server for the binlog from at, as the stream
// would, and waits for its first event: nil when it comes (the server
// accepted the position), an *unavailableError when the server refuses
// the position, another error when it cannot tell (no connection, a
// missing privilege). The connection is closed before it returns.
func (s *Source) binlogAvailable(ctx context.Context, at token) error {
	timeout := time.Duration(s.cfg.ConnectTimeoutSecs) * time.Second
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, _, stop, err := s.startSync(sctx, at)
	if err != nil {
		return err
	}
	defer stop()
	_, err = st.GetEvent(sctx)
	var me *gomysql.MyError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me) && me.Code == 1236:
		return &unavailableError{at: at, reason: me.Message}
	case ctx.Err() != nil:
		return fmt.Errorf("mysql-cdc: check that %s still has the binlog at %s: %w", s.addr(), at, ctx.Err())
	case sctx.Err() != nil:
		return fmt.Errorf("mysql-cdc: check that %s still has the binlog at %s: it sent nothing within %v", s.addr(), at, timeout)
	}
	return fmt.Errorf("mysql-cdc: check that %s still has the binlog at %s: %v", s.addr(), at, err)
}
