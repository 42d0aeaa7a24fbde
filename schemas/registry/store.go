package registry

import "sync"

// Store is the durable log behind a Registry. The Registry calls Load once,
// when it opens, then Append for every change, one call at a time and
// before the change takes effect; Close when it closes. A Store is used by
// one Registry.
type Store interface {
	// Load returns every event appended so far, oldest first.
	Load() ([]Event, error)
	// Append durably adds ev at the end of the log. When it returns nil the
	// event must survive a crash; when it returns an error the event must
	// not be replayed by a later Load.
	Append(ev Event) error
	// Close releases the store.
	Close() error
}

// memoryStore is the Store of a Registry opened without one: it keeps the
// log in memory only.
type memoryStore struct {
	mu     sync.Mutex
	events []Event
}

func (m *memoryStore) Load() ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...), nil
}

func (m *memoryStore) Append(ev Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, ev)
	return nil
}

func (m *memoryStore) Close() error { return nil }
