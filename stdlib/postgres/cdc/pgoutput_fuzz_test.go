package cdc

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pglogrepl"
)

// FuzzPgoutput feeds arbitrary bytes to the hand-written pgoutput decoder
// (make fuzz): it never panics, a message it refuses is a fatal error,
// and a change it accepts is one pglogrepl accepts too (it is never more
// lenient than the reference decoder).
func FuzzPgoutput(f *testing.F) {
	for _, m := range []pgMsg{
		pgMsg{'B'}.u64(1).u64(2).u32(3),
		pgMsg{'C'}.u8(0).u64(1).u64(2).u64(3),
		pgMsg{'I'}.u32(7).u8('N').tuple("1", "ann", "1.5", nil),
		pgMsg{'U'}.u32(7).u8('O').tuple("1", "ann", "1.5", nil).u8('N').tuple("1", "bob", "1.5", "\x00toast"),
		pgMsg{'U'}.u32(7).u8('N').tuple("1", "bob", "2", `{"a":1}`),
		pgMsg{'D'}.u32(7).u8('K').tuple("1", nil, nil, nil),
	} {
		f.Add([]byte(m), false)
	}
	f.Add([]byte(pgMsg{'I'}.u32(99).u32(7).u8('N').tuple("1", "ann", "1.5", nil)), true)
	f.Fuzz(func(t *testing.T, data []byte, streamed bool) {
		if len(data) == 0 || pglogrepl.MessageType(data[0]) == pglogrepl.MessageTypeRelation {
			return // a relation message queries the catalog: no connection here
		}
		ss := testSession()
		ss.s.proto = 1
		if streamed {
			ss.s.proto = 2
		}
		err := ss.applyData(context.Background(), data, 0, streamed)
		if err != nil {
			if !errors.As(err, new(fatalError)) {
				t.Fatalf("%q: %v is not fatal", data, err)
			}
			return
		}
		switch pglogrepl.MessageType(data[0]) {
		case pglogrepl.MessageTypeInsert, pglogrepl.MessageTypeUpdate, pglogrepl.MessageTypeDelete:
			var perr error
			proto := 1
			if streamed {
				proto = 2
			}
			_, perr = parseMessage(data, proto, streamed)
			if perr != nil {
				t.Fatalf("%q: decoded, but pglogrepl refuses it: %v", data, perr)
			}
		}
	})
}
