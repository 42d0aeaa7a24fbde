package cdc

import (
	"context"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// receiver receives the replication stream's messages. A receive bounded
// by a context costs pgconn a watch of that context per message (an
// allocation, a registration and its removal), which adds up to a large
// share of the work for small rows. So messages are received without a
// context: the read deadline of the network connection bounds each
// receive (it is set again only when it changes, once per status
// interval), and the end of the watched context moves that deadline to
// the past, once, which ends a receive in progress as a timeout.
type receiver struct {
	conn   *pgconn.PgConn
	nc     net.Conn
	at     time.Time // the read deadline set; zero when unknown
	parent context.Context
	stop   func() bool
	timer  *time.Timer // pause's, reused
	lowat  func(n int) // sets the socket's SO_RCVLOWAT; nil where it cannot
}

func newReceiver(conn *pgconn.PgConn, parent context.Context) *receiver {
	r := &receiver{conn: conn, nc: conn.Conn()}
	r.lowat = socketLowat(r.nc)
	r.watch(parent)
	return r
}

// watch makes the end of parent end receives (instead of the previous
// context's).
func (r *receiver) watch(parent context.Context) {
	if r.stop != nil {
		r.stop()
	}
	r.parent = parent
	r.at = time.Time{}
	r.stop = context.AfterFunc(parent, func() { _ = r.nc.SetReadDeadline(time.Unix(1, 0)) })
}

// receive returns the next message, waiting until at at most (then the
// error is a timeout: pgconn.Timeout). Once the watched context ended,
// it returns the context's error, or a timeout.
func (r *receiver) receive(at time.Time) (pgproto3.BackendMessage, error) {
	if err := r.parent.Err(); err != nil {
		return nil, err
	}
	if !at.Equal(r.at) {
		if err := r.nc.SetReadDeadline(at); err != nil {
			return nil, err
		}
		r.at = at
		// The context may have ended, and moved the deadline, just
		// before it was set.
		if err := r.parent.Err(); err != nil {
			return nil, err
		}
	}
	msg, err := r.conn.ReceiveMessage(context.Background())
	if err != nil {
		r.at = time.Time{} // the deadline may have been moved: set it again
	}
	return msg, err
}

// pollPause is how long the stream goroutine lets messages gather, when
// they are flowing, before it reads them. The walsender sends every
// message as soon as it is decoded, so a receive waiting for the network
// wakes the process for each one (and hands work between threads): when
// messages come faster than that, the wakes cost more than the decoding,
// most when another process keeps the cores busy. So once the read buffer
// is empty while messages are flowing, the goroutine pauses this long
// (after handing over what it decoded) and then reads all that arrived
// meanwhile at once: at most pollPause of added latency, and one wake per
// pause instead of one per message. When nothing arrived during a pause,
// the next receive waits for the network as usual: an idle stream costs
// nothing, and the first message after a quiet period is not delayed.
const pollPause = time.Millisecond

// pauseLowat is the socket's receive low-water mark during a pause: the
// kernel does not report the socket readable to Go's network poller
// until that many bytes wait (or the pause ends). Without it, the poller,
// which is edge-triggered, wakes a thread for every segment the walsender
// sends even while nothing waits on the socket — one wake per row, the
// cost the pause is there to avoid. It stays well below the receive
// buffer (a larger mark would make Linux clamp the window).
const pauseLowat = 16 << 10

// pause waits pollPause, or until parent ends. Bytes that arrive
// meanwhile wake nobody (pauseLowat); a read after the pause takes them
// whatever their amount.
func (r *receiver) pause(parent context.Context) {
	if r.lowat != nil {
		r.lowat(pauseLowat)
		defer r.lowat(1)
	}
	if r.timer == nil {
		r.timer = time.NewTimer(pollPause)
	} else {
		r.timer.Reset(pollPause)
	}
	select {
	case <-r.timer.C:
	case <-parent.Done():
		r.timer.Stop()
	}
}

// buffered reports whether received bytes wait in the connection's read
// buffer: when none do, the next receive waits for the network.
func (r *receiver) buffered() bool {
	return r.conn.Frontend().ReadBufferLen() > 0
}

// close stops watching and clears the read deadline.
func (r *receiver) close() {
	r.stop()
	_ = r.nc.SetReadDeadline(time.Time{})
}
