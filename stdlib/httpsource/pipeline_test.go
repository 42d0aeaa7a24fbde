package httpsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/conformance"
	"github.com/rivven/rivven-connect/runtime/state"
)

func TestConformance(t *testing.T) {
	for _, style := range []string{"cursor", "link", "page"} {
		t.Run(style, func(t *testing.T) {
			api := newFakeAPI(t, style, 1500, 7)
			conformance.RunSource(t, func(t *testing.T) runtime.Source {
				s, _, _ := newSource(t, api.config())
				return s
			}, conformance.SourceOptions{Records: 1000, Resumes: true})
		})
	}
}

// memSink keeps the ids of what it is given; onWrite runs after each
// write.
type memSink struct {
	mu      sync.Mutex
	ids     []int64
	onWrite func(n int)
}

func (m *memSink) Open(context.Context) error { return nil }
func (m *memSink) Close() error               { return nil }
func (m *memSink) Write(_ context.Context, rs []runtime.Record) error {
	m.mu.Lock()
	for _, r := range rs {
		m.ids = append(m.ids, r.After[r.Schema.Index("id")].AsInt())
	}
	n := len(m.ids)
	m.mu.Unlock()
	if m.onWrite != nil {
		m.onWrite(n)
	}
	return nil
}

func (m *memSink) got() []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int64(nil), m.ids...)
}

// Through the driver with a state_dir: a run stopped gracefully, and one
// aborted (its last acknowledgements lost, as in a crash), are each
// resumed by the next run from the page of the last saved position: no
// record is missed, and only records after the saved position, or of its
// own page, come again.
func TestPipelineResumesFromStateDir(t *testing.T) {
	const n, per = 3000, 7
	for _, mode := range []string{"stop", "abort"} {
		t.Run(mode, func(t *testing.T) {
			api := newFakeAPI(t, "cursor", n, per)
			dir := t.TempDir()
			settings := runtime.Settings{BatchSize: 16, StateDir: dir, SinkBatch: runtime.SinkBatch{MaxRecords: 5}}
			sink1 := &memSink{}
			ctx, cancel := context.WithCancel(context.Background())
			abort, crash := context.WithCancelCause(context.Background())
			sink1.onWrite = func(k int) {
				if k >= 1000 {
					cancel()
					crash(errors.New("simulated crash"))
				}
			}
			s1, _, _ := newSource(t, api.config())
			p1 := &runtime.Pipeline{Name: "api", Source: s1, Sink: sink1, Program: runtime.ProgramFunc(keep), Settings: settings}
			var err error
			if mode == "stop" {
				err = p1.Run(ctx)
			} else {
				err = p1.RunAbortable(context.Background(), abort)
				if errors.Is(err, runtime.ErrAborted) {
					err = nil
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			saved := savedPosition(t, dir, "api")
			first := sink1.got()

			s2, _, _ := newSource(t, api.config())
			sink2 := &memSink{}
			p2 := &runtime.Pipeline{Name: "api", Source: s2, Sink: sink2, Program: runtime.ProgramFunc(keep), Settings: settings}
			if err := p2.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			second := sink2.got()
			checkResumed(t, first, second, saved, n, per)
		})
	}
}

func keep(*runtime.Record) (bool, error) { return true, nil }

// savedPosition reads the position the driver saved for pipeline name.
func savedPosition(t *testing.T, dir, name string) runtime.Position {
	t.Helper()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, ok, err := st.Get(name)
	if err != nil || !ok {
		t.Fatalf("no saved position (%v, %v)", ok, err)
	}
	var p runtime.Position
	if err := p.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkResumed checks two runs over records 0..n-1 in pages of per: the
// second starts at the page of the saved position (the next page when the
// saved record was its page's last) — so at most that one page of records
// at or before the saved position comes again — and reads every record
// after it, once and in order.
func checkResumed(t *testing.T, first, second []int64, saved runtime.Position, n, per int) {
	t.Helper()
	// The saved record: the last of first whose position is saved; the
	// token names its page, and the first run holds it.
	if len(first) == 0 || len(second) == 0 {
		t.Fatalf("first run %d records, second %d", len(first), len(second))
	}
	start := int(second[0])
	for i, id := range second {
		if id != int64(start+i) {
			t.Fatalf("second run: record %d has id %d, want %d (a gap or a duplicate)", i, id, start+i)
		}
	}
	if last := int(second[len(second)-1]); last != n-1 {
		t.Fatalf("second run ended at id %d, want %d", last, n-1)
	}
	if start > len(first) {
		t.Fatalf("gap: the first run delivered ids 0..%d, the second starts at %d", len(first)-1, start)
	}
	page, skip := pageOf(t, saved.Token)
	if start != page*per+skip {
		t.Errorf("second run starts at id %d, want %d (the saved position %s)", start, page*per+skip, saved.Token)
	}
	// Records at or before the saved position delivered again: at most
	// one page.
	again := 0
	for _, id := range second {
		if int(id) <= int(saved.Offset) {
			again++
		}
	}
	if again > per {
		t.Errorf("%d records at or before the saved position %v came again (more than a page of %d)", again, saved, per)
	}
	t.Logf("first run %d records, saved %s (offset %d), second run from id %d: %d records again", len(first), saved.Token, saved.Offset, start, again)
}

// pageOf reads the page number and skip of a fake API cursor token.
func pageOf(t *testing.T, tok string) (page, skip int) {
	t.Helper()
	r, err := styleCursor.parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if r.Cursor != "" {
		var p int
		if _, err := fmt.Sscanf(r.Cursor, "c%d", &p); err != nil {
			t.Fatalf("cursor %q", r.Cursor)
		}
		page = p
	}
	return page, r.Skip
}

// stateFiles returns the bytes of every file under dir.
func stateFiles(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}
