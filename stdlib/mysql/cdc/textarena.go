package cdc

import "unsafe"

// arenaChunk is the size of a textArena's chunks; a text longer than a
// quarter of it gets an allocation of its own.
const arenaChunk = 16 << 10

// textArena hands out the strings of decoded row images from shared
// chunks: one allocation for the text of many values instead of one per
// value. A string points into its chunk, which is never written at that
// place again (a chunk is only appended to, and a new one is started
// when a text does not fit), so the strings are immutable like any
// other. A string keeps its whole chunk alive. An arena is used by one
// goroutine; the strings it gave may be read by any.
type textArena struct {
	buf []byte // the current chunk: written up to len, room up to cap
}

// reserve makes room for n more bytes in the current chunk, starting a
// new chunk when they do not fit, and returns the chunk to append the
// text to (then take it with take).
func (a *textArena) reserve(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(arenaChunk, n))
	}
	return a.buf
}

// take returns the text appended to b (reserve's chunk) as a string, and
// keeps b as the chunk. b should not grow beyond the room reserved: it
// stays correct, but the copy wastes the chunk's start.
func (a *textArena) take(b []byte) string {
	// When b grew, append copied the chunk's start to a new array: the
	// text still starts at the old length, and the strings given before
	// keep pointing into the old array, which nothing writes again.
	start := len(a.buf)
	a.buf = b
	if len(b) == start {
		return ""
	}
	return unsafe.String(&b[start], len(b)-start)
}

// copyBytes returns a string holding a copy of b.
func (a *textArena) copyBytes(b []byte) string {
	if len(b) > arenaChunk/4 {
		return string(b)
	}
	return a.take(append(a.reserve(len(b)), b...))
}
