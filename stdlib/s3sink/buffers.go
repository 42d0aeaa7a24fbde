package s3sink

import (
	"slices"
	"sync"
)

// buffers recycles the byte buffers of stored objects (their encoded
// records and their bodies) for the next objects. An object's bytes grow
// to megabytes one record at a time; growing a fresh slice for every
// object copied it several times over into memory the kernel had to fault
// in, which cost more CPU than encoding the records. A recycled buffer
// has, after the first objects, the capacity the next one needs.
//
// It keeps at most keepBuffers buffers, the largest ones, so a sink holds
// at most that many objects' worth of memory between units. (A sync.Pool
// would not do: the garbage collector, which runs about once an object
// here, empties it.)
type buffers struct {
	mu   sync.Mutex
	free [][]byte // by capacity, smallest first
}

// keepBuffers is how many buffers a sink keeps: enough for the objects
// of the units storing while the next one fills (one object each, as a
// unit of one stream and time partition has), without keeping many
// objects' worth of memory when units hold many objects.
const keepBuffers = 4

// get returns an empty buffer: the largest recycled one, else nil.
func (b *buffers) get() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.free)
	if n == 0 {
		return nil
	}
	buf := b.free[n-1]
	b.free[n-1] = nil
	b.free = b.free[:n-1]
	return buf
}

// put recycles buf, which its owner no longer uses; an empty one is
// ignored.
func (b *buffers) put(buf []byte) {
	if cap(buf) == 0 {
		return
	}
	buf = buf[:0]
	b.mu.Lock()
	defer b.mu.Unlock()
	i, _ := slices.BinarySearchFunc(b.free, cap(buf), func(e []byte, c int) int { return cap(e) - c })
	b.free = slices.Insert(b.free, i, buf)
	if len(b.free) > keepBuffers {
		b.free[0] = nil
		b.free = b.free[1:]
	}
}

// freeList keeps up to keepBuffers things of one kind for reuse (a
// parquet schema's idle writers and pending-row arrays), the last kept
// taken first. Safe for concurrent use; the zero value is empty.
type freeList[T any] struct {
	mu    sync.Mutex
	items []T
}

// take returns a kept item, or false when there is none.
func (l *freeList[T]) take() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero T
	n := len(l.items)
	if n == 0 {
		return zero, false
	}
	it := l.items[n-1]
	l.items[n-1] = zero
	l.items = l.items[:n-1]
	return it, true
}

// keep keeps it for a later take, unless keepBuffers are kept already.
func (l *freeList[T]) keep(it T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) < keepBuffers {
		l.items = append(l.items, it)
	}
}
