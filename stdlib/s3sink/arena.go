package s3sink

import "github.com/parquet-go/parquet-go"

// arena hands out parquet rows and the bytes of their string values from
// large chunks instead of one allocation each: a parquet object holds
// every value of its records until it is written, and allocating them one
// by one cost as much CPU as encoding the file. A chunk is freed when no
// row handed out from it is referenced any longer. Not safe for
// concurrent use: only the Hold goroutine encodes.
type arena struct {
	vals []parquet.Value
	b    []byte
	js   []byte // scratch for JSON text
}

// The chunk sizes: values (24 bytes each) and bytes.
const (
	arenaValues = 4096
	arenaBytes  = 64 << 10
)

// row returns a row of n zero values.
func (a *arena) row(n int) parquet.Row {
	if len(a.vals) < n {
		a.vals = make([]parquet.Value, max(arenaValues, n))
	}
	r := a.vals[:n:n]
	a.vals = a.vals[n:]
	return r
}

// arenaCopy returns a copy of s from a's bytes (a large s gets its own).
func arenaCopy[S string | []byte](a *arena, s S) []byte {
	if cap(a.b)-len(a.b) < len(s) {
		if len(s) > arenaBytes/4 {
			return append([]byte(nil), s...)
		}
		a.b = make([]byte, 0, arenaBytes)
	}
	n := len(a.b)
	a.b = append(a.b, s...)
	return a.b[n:len(a.b):len(a.b)]
}
