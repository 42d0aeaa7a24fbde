package datagen

import (
	"strings"

	"github.com/rivven/rivven-connect/runtime"
)

// CDC simulation: a bounded pool of live rows that inserts add to, updates
// modify and deletes remove from.

const (
	// poolMax bounds the live-row pool. An insert into a full pool replaces a
	// random row, which is then never updated or deleted.
	poolMax = 10_000
	// spareMax bounds the free list of row slices kept for reuse.
	spareMax = 1024
)

// cdcState is the pool of live rows. Every slice in pool and spare is owned
// by the state: rows are copied into and out of batch slots, never shared
// with them, because the driver reuses the slots' slices.
type cdcState struct {
	pool  [][]runtime.Value
	spare [][]runtime.Value // free row slices, cap >= width
	metas []cdcMeta         // unused rest of the current Meta slab
}

// Keys of the CDC metadata objects (len == cap, see tagKeys).
var (
	metaKeys = []string{"cdc"}
	cdcKeys  = []string{"operation", "sequence", "source", "simulated"}
)

// metaSlab is the number of cdcMeta allocated at once. A record's Meta
// keeps its slab (about 22 KiB) alive; sinks do not retain records.
const metaSlab = 64

// cdcMeta holds a record's Meta and its nested "cdc" object, so that they
// cost a slot in a slab rather than separate allocations.
type cdcMeta struct {
	outer runtime.Object
	inner runtime.Object
	ov    [1]runtime.Value
	iv    [4]runtime.Value
}

func (c *cdcState) newMeta(op runtime.Op, seq uint64) *runtime.Object {
	if len(c.metas) == 0 {
		c.metas = make([]cdcMeta, metaSlab)
	}
	m := &c.metas[0]
	c.metas = c.metas[1:]
	m.iv = [4]runtime.Value{
		runtime.String(op.String()),
		runtime.Int(int64(seq)),
		runtime.String("datagen"),
		runtime.Bool(true),
	}
	m.inner = runtime.Object{Keys: cdcKeys, Values: m.iv[:]}
	m.ov[0] = runtime.ObjectValue(&m.inner)
	m.outer = runtime.Object{Keys: metaKeys, Values: m.ov[:]}
	return &m.outer
}

// take returns an empty slice with room for a row: cur's capacity if it
// suffices, else a spare slice, else a new one.
func (s *Source) take(cur []runtime.Value) []runtime.Value {
	if cap(cur) >= s.width {
		return cur[:0]
	}
	if c := s.cdc; c != nil {
		if n := len(c.spare); n > 0 {
			row := c.spare[n-1]
			c.spare[n-1] = nil
			c.spare = c.spare[:n-1]
			return row[:0]
		}
	}
	return make([]runtime.Value, 0, s.width)
}

// release keeps row's capacity for reuse by take. The caller must hold the
// only reference to row.
func (s *Source) release(row []runtime.Value) {
	if c := s.cdc; c != nil && cap(row) >= s.width && len(c.spare) < spareMax {
		c.spare = append(c.spare, row[:0])
	}
}

// fillCDC fills r with change event seq: 60 % insert, 30 % update, 10 %
// delete, and always an insert while the pool is empty.
func (s *Source) fillCDC(r *runtime.Record, seq uint64, sec int64) {
	c, g := s.cdc, s.gen
	op := runtime.OpInsert
	if len(c.pool) > 0 {
		switch roll := g.intn(100); {
		case roll < 60:
			op = runtime.OpInsert
		case roll < 90:
			op = runtime.OpUpdate
		default:
			op = runtime.OpDelete
		}
	}
	switch op {
	case runtime.OpInsert:
		after := s.row(s.take(r.After), seq, sec)
		s.release(r.Before)
		r.Before, r.After = nil, after
		row := append(s.take(nil), after...)
		if len(c.pool) < poolMax {
			c.pool = append(c.pool, row)
		} else {
			i := g.intn(len(c.pool))
			s.release(c.pool[i])
			c.pool[i] = row
		}
	case runtime.OpUpdate:
		row := c.pool[g.intn(len(c.pool))]
		before := append(s.take(r.Before), row...)
		after := append(s.take(r.After), row...)
		s.mutate(after, seq, sec)
		copy(row, after)
		r.Before, r.After = before, after
	case runtime.OpDelete:
		i := g.intn(len(c.pool))
		row := c.pool[i]
		before := append(s.take(r.Before), row...)
		last := len(c.pool) - 1
		c.pool[i] = c.pool[last]
		c.pool[last] = nil
		c.pool = c.pool[:last]
		s.release(row)
		s.release(r.After)
		r.Before, r.After = before, nil
	}
	r.Op = op
	r.Meta = c.newMeta(op, seq)
}

// mutate turns row (a copy of a live row) into its updated version for
// change event seq. The key field (position 0) never changes; every pattern
// but sequence changes at least one field:
//   - random: value (always), ratio and active (re-drawn);
//   - users: email (new domain), premium (toggled), or both;
//   - orders: status advances (pending → confirmed → processing → shipped →
//     delivered, or cancelled before shipping), or quantity changes with
//     total_amount recomputed (also for delivered/cancelled orders);
//   - events: new session_id and a re-drawn payload for the same event_type;
//   - metrics: a new value reading and timestamp = now;
//   - key_value: a new value.
//
// "_sequence" becomes seq and "_timestamp" now; custom fields stay.
func (s *Source) mutate(row []runtime.Value, seq uint64, sec int64) {
	g := s.gen
	switch g.pat {
	case patRandom:
		old := row[randValue].AsInt()
		row[randValue] = runtime.Int((old + 1 + int64(g.intn(999))) % 1000)
		row[randRatio] = runtime.Float(round2(g.float()))
		row[randActive] = runtime.Bool(g.coin())
	case patUsers:
		what := g.intn(3)
		if what != 1 {
			f := indexOf(firstNames, row[userFirst].AsString())
			l := indexOf(lastNames, row[userLast].AsString())
			d := 0
			email := row[userEmail].AsString()
			for i, dom := range domains {
				if strings.HasSuffix(email, "@"+dom) {
					d = i
				}
			}
			d = (d + 1 + g.intn(len(domains)-1)) % len(domains)
			row[userEmail] = runtime.String(g.email(f, l, d))
		}
		if what != 0 {
			row[userPremium] = runtime.Bool(!row[userPremium].AsBool())
		}
	case patOrders:
		st := indexOf(statuses, row[orderStatus].AsString())
		switch {
		case st < statusShipped && g.intn(4) == 0, st >= statusDelivered:
			qty := row[orderQuantity].AsInt()
			qty = 1 + (qty-1+1+int64(g.intn(8)))%9
			price := row[orderUnitPrice].AsFloat()
			row[orderQuantity] = runtime.Int(qty)
			row[orderTotal] = runtime.Float(round2(price * float64(qty)))
		case st < statusShipped && g.intn(10) == 0:
			row[orderStatus] = runtime.String(statuses[statusCancelled])
		default:
			row[orderStatus] = runtime.String(statuses[st+1])
		}
	case patEvents:
		et := indexOf(eventTypes, row[eventType].AsString())
		sess := g.rng.Uint64() >> 16
		b := append(g.buf[:0], "sess_"...)
		g.buf = appendHex(b, sess, 12)
		row[eventSession] = runtime.String(string(g.buf))
		row[eventPayload] = g.payload(et)
	case patMetrics:
		m := indexOf(metricNames, row[metricName].AsString())
		row[metricValue] = runtime.Float(g.metricValue(m))
		row[metricTimestamp] = runtime.String(g.nowString(sec))
	case patKeyValue:
		b := append(g.buf[:0], "value_"...)
		g.buf = appendHex(b, g.rng.Uint64(), 16)
		row[kvValue] = runtime.String(string(g.buf))
	}
	if s.seqPos >= 0 {
		row[s.seqPos] = runtime.Int(int64(seq))
	}
	if s.tsPos >= 0 {
		row[s.tsPos] = runtime.String(g.nowString(sec))
	}
}

// indexOf returns the index of v in table; 0 if absent (rows only ever
// hold table values).
func indexOf(table []string, v string) int {
	for i, t := range table {
		if t == v {
			return i
		}
	}
	return 0
}
