package cdc

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/rivven/rivven-connect/runtime"
)

// pgMsg builds a pgoutput message.
type pgMsg []byte

func (m pgMsg) u8(b byte) pgMsg     { return append(m, b) }
func (m pgMsg) u16(v uint16) pgMsg  { return binary.BigEndian.AppendUint16(m, v) }
func (m pgMsg) u32(v uint32) pgMsg  { return binary.BigEndian.AppendUint32(m, v) }
func (m pgMsg) u64(v uint64) pgMsg  { return binary.BigEndian.AppendUint64(m, v) }
func (m pgMsg) text(s string) pgMsg { return append(m.u8('t').u32(uint32(len(s))), s...) }

// tuple appends a TupleData of cols: a string is a text value, nil a
// null, "\x00toast" an unchanged TOAST value.
func (m pgMsg) tuple(cols ...any) pgMsg {
	m = m.u16(uint16(len(cols)))
	for _, c := range cols {
		switch c := c.(type) {
		case nil:
			m = m.u8('n')
		case string:
			if c == "\x00toast" {
				m = m.u8('u')
			} else {
				m = m.text(c)
			}
		}
	}
	return m
}

// testSession is a session over relation 7, public.items (id int4 key,
// name text, price numeric, doc jsonb), decoding into ss.out.
func testSession() *session {
	s := &Source{cfg: Config{Database: "shop"}, proto: 1}
	cols := []column{
		{name: "id", typ: &pgType{oid: 23, name: "int4", kind: kInt}, ident: true},
		{name: "name", typ: &pgType{oid: 25, name: "text", kind: kString}},
		{name: "price", typ: &pgType{oid: 1700, name: "numeric", kind: kNumeric}},
		{name: "doc", typ: &pgType{oid: 3802, name: "jsonb", kind: kJSON}},
	}
	rel := newRelation("public", "items", cols, []string{"id"})
	return &session{s: s, rels: map[uint32]*relation{7: rel}, out: make([]runtime.Record, 0, batchRecords)}
}

func TestPgoutputDecodesRowsAsPglogrepl(t *testing.T) {
	ss := testSession()
	ctx := context.Background()
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	us := uint64(at.UnixMicro() - pgEpochMicros)
	begin := pgMsg{'B'}.u64(0x16_B374D848).u64(us).u32(901)
	if err := ss.applyData(ctx, begin, 0, false); err != nil {
		t.Fatal(err)
	}
	if ss.commitLSN != "16/B374D848" || ss.commitTime != "2024-05-06T07:08:09.123456Z" || !ss.commitAt.Equal(at) || ss.xid != 901 || !ss.inTx {
		t.Fatalf("begin: lsn %q time %q at %v xid %d", ss.commitLSN, ss.commitTime, ss.commitAt, ss.xid)
	}
	msgs := []pgMsg{
		pgMsg{'I'}.u32(7).u8('N').tuple("1", "ann", "1.50", `{"a": [1, 2]}`),
		pgMsg{'I'}.u32(7).u8('N').tuple("2", nil, "NaN", nil),
		pgMsg{'U'}.u32(7).u8('N').tuple("1", "bob", "2", "\x00toast"),
		pgMsg{'U'}.u32(7).u8('K').tuple("1", nil, nil, nil).u8('N').tuple("3", "cy", "2", nil),
		pgMsg{'U'}.u32(7).u8('O').tuple("3", "cy", "2", `{"b":1}`).u8('N').tuple("3", "dee", "2", "\x00toast"),
		pgMsg{'D'}.u32(7).u8('K').tuple("3", nil, nil, nil),
		pgMsg{'D'}.u32(7).u8('O').tuple("2", "x", "1", "null"),
	}
	for i, m := range msgs {
		if err := ss.applyData(ctx, m, pglogrepl.LSN(0x16_B374D900+uint64(i)), false); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	want := []string{
		`{"op":"insert","after":{"id":1,"name":"ann","price":"1.50","doc":{"a":[1,2]}},"lsn":"16/B374D900","key":{"id":1}}`,
		`{"op":"insert","after":{"id":2,"name":null,"price":"NaN","doc":null},"lsn":"16/B374D901","key":{"id":2}}`,
		`{"op":"update","after":{"id":1,"name":"bob","price":"2","doc":"__rivven_unchanged_toast__"},"lsn":"16/B374D902","key":{"id":1},"toast":["doc"]}`,
		`{"op":"update","before":{"id":1},"after":{"id":3,"name":"cy","price":"2","doc":null},"lsn":"16/B374D903","key":{"id":3}}`,
		`{"op":"update","before":{"id":3,"name":"cy","price":"2","doc":{"b":1}},"after":{"id":3,"name":"dee","price":"2","doc":{"b":1}},"lsn":"16/B374D904","key":{"id":3}}`,
		`{"op":"delete","before":{"id":3},"lsn":"16/B374D905","key":{"id":3}}`,
		`{"op":"delete","before":{"id":2,"name":"x","price":"1","doc":null},"lsn":"16/B374D906","key":{"id":2}}`,
	}
	if len(ss.out) != len(want) {
		t.Fatalf("%d records, want %d", len(ss.out), len(want))
	}
	for i, r := range ss.out {
		if got := describeChange(r); got != want[i] {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, want[i])
		}
		if r.Position.Offset != uint64(i+1) || !r.Time.Equal(at) || r.Stream != "items" || r.Namespace != "public" {
			t.Errorf("record %d: offset %d time %v stream %s.%s", i, r.Position.Offset, r.Time, r.Namespace, r.Stream)
		}
	}
	// The commit waits for the records still with the stream goroutine.
	commit := pgMsg{'C'}.u8(0).u64(0x16_B374D848).u64(0x16_B374DA00).u64(us)
	if err := ss.applyData(ctx, commit, 0, false); err != nil {
		t.Fatal(err)
	}
	if ss.inTx || len(ss.marks) != 1 || ss.marks[0] != (commitMark{last: 7, end: 0x16_B374DA00, tx: txMark{commit: 0x16_B374D848}}) || len(ss.s.commits) != 0 {
		t.Fatalf("commit: in tx %v, waiting %v, recorded %v", ss.inTx, ss.marks, ss.s.commits)
	}
}

// describeChange is a record's op, rows, LSN, key and unchanged TOAST
// columns as JSON-like text.
func describeChange(r runtime.Record) string {
	var b strings.Builder
	row := func(name string, vals []runtime.Value) {
		if vals == nil {
			return
		}
		o := runtime.NewObject(len(vals))
		for i, v := range vals {
			if v.Kind() != runtime.KindAbsent {
				o.Set(r.Schema.Fields[i].Name, v)
			}
		}
		b.WriteString(`,"` + name + `":` + string(runtime.AppendJSON(nil, runtime.ObjectValue(o))))
	}
	b.WriteString(`{"op":"` + r.Op.String() + `"`)
	row("before", r.Before)
	row("after", r.After)
	src, _ := r.Meta.Get("source")
	lsn, _ := src.AsObject().Get("lsn")
	key, _ := r.Meta.Get("key")
	b.WriteString(`,"lsn":"` + lsn.AsString() + `","key":` + string(runtime.AppendJSON(nil, key)))
	if toast, ok := r.Meta.Get("unchanged_toast"); ok {
		b.WriteString(`,"toast":` + string(runtime.AppendJSON(nil, toast)))
	}
	return b.String() + "}"
}

// Every prefix of a well-formed message is an error, never a panic; so is
// a tuple with an unknown kind of value, or a binary value.
func TestPgoutputRejectsMalformedMessages(t *testing.T) {
	msgs := []pgMsg{
		pgMsg{'B'}.u64(1).u64(2).u32(3),
		pgMsg{'C'}.u8(0).u64(1).u64(2).u64(3),
		pgMsg{'I'}.u32(7).u8('N').tuple("1", "ann", "1.5", nil),
		pgMsg{'U'}.u32(7).u8('O').tuple("1", "ann", "1.5", nil).u8('N').tuple("1", "bob", "1.5", "\x00toast"),
		pgMsg{'D'}.u32(7).u8('K').tuple("1", nil, nil, nil),
	}
	for _, m := range msgs {
		for n := 1; n < len(m); n++ {
			ss := testSession()
			if err := ss.applyData(context.Background(), m[:n], 0, false); err == nil {
				t.Errorf("%q cut to %d bytes: no error", m, n)
			} else if !errors.As(err, new(fatalError)) {
				t.Errorf("%q cut to %d bytes: %v is not fatal", m, n, err)
			}
		}
	}
	bad := []pgMsg{
		pgMsg{'I'}.u32(7).u8('X').tuple("1"),
		pgMsg{'I'}.u32(7).u8('N').u16(1).u8('?'),
		pgMsg{'I'}.u32(7).u8('N').u16(1).u8('b').u32(1).u8(0),
		pgMsg{'I'}.u32(7).u8('N').u16(1).u8('t').u32(math.MaxUint32).u8(0),
		pgMsg{'U'}.u32(7).u8('K').tuple("1").u8('X').tuple("1"),
		pgMsg{'D'}.u32(7).u8('N').tuple("1"),
		pgMsg{'I'}.u32(8).u8('N').tuple("1"),                // no relation message
		pgMsg{'I'}.u32(7).u8('N').tuple("x", nil, nil, nil), // not an int4
		// a row wider or narrower than its relation message: never read
		// into the wrong columns, never a column silently dropped
		pgMsg{'I'}.u32(7).u8('N').tuple("2", nil, "NaN", nil, "extra"),
		pgMsg{'I'}.u32(7).u8('N').tuple("2", nil),
	}
	for _, m := range bad {
		ss := testSession()
		err := ss.applyData(context.Background(), m, 0, false)
		if err == nil || !errors.As(err, new(fatalError)) {
			t.Errorf("%q: %v, want a fatal error", m, err)
		}
	}
}

// A v2 streamed change carries its xid before the relation.
func TestPgoutputStreamedChange(t *testing.T) {
	ss := testSession()
	ss.s.proto = 2
	m := pgMsg{'I'}.u32(555).u32(7).u8('N').tuple("4", "eve", "0", nil)
	if err := ss.applyData(context.Background(), m, 0x10, true); err != nil {
		t.Fatal(err)
	}
	if got := describeChange(ss.out[0]); got != `{"op":"insert","after":{"id":4,"name":"eve","price":"0","doc":null},"lsn":"0/10","key":{"id":4}}` {
		t.Fatal(got)
	}
}

func TestAppendCommitTimeAsFormat(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.FixedZone("x", -3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-44, 3, 15, 12, 0, 0, 0, time.UTC),
		pgTime(0), pgTime(1 << 62), pgTime(1<<63 + 5),
	} {
		if got, want := string(appendCommitTime(nil, at)), at.UTC().Format(commitTimeLayout); got != want {
			t.Errorf("appendCommitTime(%v) = %q, want %q", at, got, want)
		}
	}
}

func TestAppendLSNAsPglogrepl(t *testing.T) {
	for _, l := range []pglogrepl.LSN{0, 1, 0xF, 0x16_B374D848, 0xFFFFFFFF_FFFFFFFF, 0x1_00000000, 0xABCDEF01_23456789} {
		if got, want := string(appendLSN(nil, l)), l.String(); got != want {
			t.Errorf("appendLSN(%d) = %q, want %q", uint64(l), got, want)
		}
	}
}

// streamMeta builds what meta builds, for every shape of key and with
// unchanged TOAST columns or without.
func TestStreamMetaIsMeta(t *testing.T) {
	s := &Source{cfg: Config{Database: "shop"}}
	typ := &pgType{oid: 25, name: "text", kind: kString}
	row := []runtime.Value{runtime.Int(1), runtime.String("a"), runtime.Null(), runtime.String("d")}
	for _, key := range [][]string{nil, {"b"}, {"b", "a"}, {"c", "a", "d"}} {
		cols := []column{{name: "a", typ: typ}, {name: "b", typ: typ}, {name: "c", typ: typ}, {name: "d", typ: typ}}
		rel := newRelation("public", "t", cols, key)
		for _, toast := range [][]runtime.Value{nil, {runtime.String("d")}} {
			for _, r := range [][]runtime.Value{row, row[:2], nil} { // nil: a truncate's
				for _, lsn := range []string{"", "0/1"} {
					want := s.meta(rel, r, 42, lsn, "0/2", "2024-01-01T00:00:00.000000Z", false, toast)
					got := s.streamMeta(rel, newKeyColumns(rel), r, 42, lsn, "0/2", "2024-01-01T00:00:00.000000Z", toast)
					if !reflect.DeepEqual(got, want) {
						t.Errorf("key %v, row %d values, toast %v, lsn %q:\n got %s\nwant %s", key, len(r), toast, lsn,
							runtime.AppendJSON(nil, runtime.ObjectValue(got)), runtime.AppendJSON(nil, runtime.ObjectValue(want)))
					}
				}
			}
		}
	}
}
