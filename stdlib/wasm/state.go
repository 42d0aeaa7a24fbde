package wasm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// stateStore is one plugin's durable key/value state: a JSON file under
// the state directory, replaced atomically (and fsynced) on every set.
// Safe for concurrent use: every instance of the plugin shares it.
type stateStore struct {
	mu   sync.Mutex
	path string
	vals map[string][]byte
}

var (
	storesMu sync.Mutex
	stores   = map[string]*stateStore{}
)

// stateOf returns the store of p's state.
func stateOf(p *Plugin) (*stateStore, error) {
	if p.StateDir == "" {
		return nil, fmt.Errorf("plugin %q keeps state, and the config has no settings.state_dir to keep it in", p.Name)
	}
	path := filepath.Join(p.StateDir, "plugins", p.Name+".state.json")
	storesMu.Lock()
	defer storesMu.Unlock()
	if s := stores[path]; s != nil {
		return s, nil
	}
	s := &stateStore{path: path, vals: map[string][]byte{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("plugin %q state: %w", p.Name, err)
	default:
		if err := json.Unmarshal(b, &s.vals); err != nil {
			return nil, fmt.Errorf("plugin %q state %s is corrupt: %v", p.Name, path, err)
		}
	}
	stores[path] = s
	return s, nil
}

func (s *stateStore) get(k string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals[k]
	return v, ok
}

func (s *stateStore) set(k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.vals[k]
	s.vals[k] = v
	if err := s.save(); err != nil {
		if had {
			s.vals[k] = old
		} else {
			delete(s.vals, k)
		}
		return err
	}
	return nil
}

func (s *stateStore) save() error {
	b, err := json.Marshal(s.vals)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("state_set: %w", err)
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("state_set: %w", err)
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		return fmt.Errorf("state_set: %w", err)
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
