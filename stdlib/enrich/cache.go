package enrich

import (
	"container/list"
	"time"

	"github.com/rivven/rivven-connect/runtime"
)

// result is what a lookup found for one key: the row (as the value merged
// under Into), or found=false for a key without a row.
type result struct {
	row   runtime.Value
	found bool
}

// cache is an LRU of lookup results, each valid until its expiry: a found
// row for ttl, a miss for negTTL. It is not safe for concurrent use (Step
// holds its lock).
type cache struct {
	size        int
	ttl, negTTL time.Duration
	ll          *list.List // front: most recently used
	items       map[string]*list.Element
}

type entry struct {
	key     string
	res     result
	expires time.Time // zero: never
}

func newCache(c Cache) *cache {
	return &cache{
		size:   c.Size,
		ttl:    time.Duration(c.TTLMs) * time.Millisecond,
		negTTL: time.Duration(c.NegativeTTLMs) * time.Millisecond,
		ll:     list.New(),
		items:  map[string]*list.Element{},
	}
}

// get returns the live entry of key at now, marking it recently used; an
// expired entry is removed.
func (c *cache) get(key string, now time.Time) (result, bool) {
	el, ok := c.items[key]
	if !ok {
		return result{}, false
	}
	e := el.Value.(*entry)
	if !e.expires.IsZero() && !now.Before(e.expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		return result{}, false
	}
	c.ll.MoveToFront(el)
	return e.res, true
}

// put stores res for key at now, evicting the least recently used entry
// when full. A miss is not stored when misses are not cached.
func (c *cache) put(key string, res result, now time.Time) {
	if c.size <= 0 || !res.found && c.negTTL <= 0 {
		return
	}
	ttl := c.ttl
	if !res.found {
		ttl = c.negTTL
	}
	var exp time.Time
	if ttl > 0 {
		exp = now.Add(ttl)
	}
	if el, ok := c.items[key]; ok {
		e := el.Value.(*entry)
		e.res, e.expires = res, exp
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&entry{key: key, res: res, expires: exp})
	for c.ll.Len() > c.size {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*entry).key)
	}
}

// len is the number of entries, expired ones included.
func (c *cache) len() int { return c.ll.Len() }
