package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivven/rivven-connect/runtime/state"
)

// pageSource reads items from pages of size items, as a source following
// an HTTP cursor does. Item k (its one field is k) is item k%size of page
// k/size and carries the token "page-P#I": page P, its first I items
// through. The token means something to this source only. Offsets number
// the records of each run from 0: they do not carry on across a restart,
// so only the token can resume the source.
type pageSource struct {
	n, size int
	item    int    // next item to read
	off     uint64 // next Offset of this run
	schema  *Schema

	mu        sync.Mutex
	issued    map[uint64]string // the token given to each Offset of this run
	acks      []Position
	bad       []string // broken Ack contract
	resumedAt *Position
	opened    bool
}

func newPageSource(n, size int) *pageSource {
	return &pageSource{n: n, size: size, issued: map[uint64]string{},
		schema: NewSchema(Field{Name: "n", Type: Type{Kind: KindInt}})}
}

func pageToken(k, size int) string { return fmt.Sprintf("page-%d#%d", k/size, k%size+1) }

func (s *pageSource) Resume(p Position) error {
	var page, through int
	if _, err := fmt.Sscanf(p.Token, "page-%d#%d", &page, &through); err != nil || p.Token != fmt.Sprintf("page-%d#%d", page, through) {
		return fmt.Errorf("position %s holds no page cursor (a state file of an earlier version?): delete the state file to read from the first page", p)
	}
	s.resumedAt = &p
	s.item = page*s.size + through
	return nil
}

func (s *pageSource) Open(context.Context) error { s.opened = true; return nil }
func (s *pageSource) Close() error               { return nil }

// Read returns at most the rest of the current page.
func (s *pageSource) Read(ctx context.Context, batch []Record) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := 0
	for k < len(batch) && s.item < s.n {
		tok := pageToken(s.item, s.size)
		batch[k] = Record{Stream: "pages", Schema: s.schema, After: append(batch[k].After[:0], Int(int64(s.item))),
			Position: Position{Offset: s.off, Token: tok}}
		s.issued[s.off] = tok
		s.item++
		s.off++
		k++
		if s.item%s.size == 0 {
			break
		}
	}
	if s.item == s.n {
		return k, io.EOF
	}
	return k, nil
}

// Ack checks that pos is a position this run gave out, with its own token,
// and later than the last one acknowledged.
func (s *pageSource) Ack(_ context.Context, pos Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok, ok := s.issued[pos.Offset]; !ok || tok != pos.Token {
		s.bad = append(s.bad, fmt.Sprintf("ack of %#v: Read gave Offset %d the token %q", pos, pos.Offset, tok))
	}
	if n := len(s.acks); n > 0 && !s.acks[n-1].Less(pos) {
		s.bad = append(s.bad, fmt.Sprintf("ack of %#v after %#v", pos, s.acks[n-1]))
	}
	s.acks = append(s.acks, pos)
	return nil
}

func (s *pageSource) lastAck(t *testing.T) Position {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bad {
		t.Error(b)
	}
	if len(s.acks) == 0 {
		t.Fatal("nothing acknowledged")
	}
	return s.acks[len(s.acks)-1]
}

// prefixCheckedPages is a pageSource whose every acknowledgement must
// cover durable records only.
type prefixCheckedPages struct {
	*pageSource
	set *durableSet
}

func (c prefixCheckedPages) Ack(ctx context.Context, p Position) error {
	c.set.checkPrefix(p.Offset, nil)
	return c.pageSource.Ack(ctx, p)
}

func TestTokenPositionsAreAcknowledgedAsAContiguousPrefix(t *testing.T) {
	set := &durableSet{t: t}
	src := newPageSource(3000, 7)
	sink := &asyncSink{set: set, rng: rand.New(rand.NewPCG(13, 13)), maxWait: 3 * time.Millisecond}
	p := &Pipeline{Name: "pages", Source: prefixCheckedPages{src, set}, Sink: sink, Program: ProgramFunc(keepAll),
		Settings: Settings{BatchSize: 32, SinkBatch: SinkBatch{MaxRecords: 20}}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sink.wg.Wait()
	want := Position{Offset: 2999, Token: pageToken(2999, 7)}
	if last := src.lastAck(t); last != want {
		t.Errorf("last ack %#v, want %#v", last, want)
	}
	if st := p.Status(); st.Acked == nil || *st.Acked != want {
		t.Errorf("status acked %v, want %#v", st.Acked, want)
	}
	if len(src.acks) < 10 {
		t.Errorf("only %d acknowledgements: the prefix was not followed", len(src.acks))
	}
}

func TestStateDirResumesFromTheToken(t *testing.T) {
	dir := t.TempDir()
	const n, size = 500, 7
	// First run: stop gracefully after most records, so that the second
	// run's Offsets all stay below the first run's.
	src1, sink1 := newPageSource(n, size), &memSink{}
	ctx, cancel := context.WithCancel(context.Background())
	sink1.onWrite = func() {
		if len(sink1.got) >= 300 {
			cancel()
		}
	}
	p1 := &Pipeline{Name: "pages", Source: src1, Sink: sink1, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 10, StateDir: dir}}
	if err := p1.Run(ctx); err != nil {
		t.Fatal(err)
	}
	last := src1.lastAck(t)
	if want := pageToken(len(sink1.got)-1, size); last.Token != want {
		t.Fatalf("last ack %#v with %d written, want token %s", last, len(sink1.got), want)
	}
	st, _ := state.Open(dir)
	raw, ok, err := st.Get("pages")
	if want := fmt.Sprintf(`{"offset":%d,"token":%q}`, last.Offset, last.Token); err != nil || !ok || string(raw) != want {
		t.Fatalf("state file holds %s (%v, %v), want %s", raw, ok, err, want)
	}

	// Second run: numbers its records from 0 again; the token alone
	// resumes it right after the last acknowledged record, and its
	// acknowledgements are not measured against the first run's Offsets.
	src2, sink2 := newPageSource(n, size), &memSink{}
	p2 := &Pipeline{Name: "pages", Source: src2, Sink: sink2, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 10, StateDir: dir}}
	if err := p2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if src2.resumedAt == nil || *src2.resumedAt != last {
		t.Fatalf("resumed at %v, want %#v", src2.resumedAt, last)
	}
	all := append(append([]int64(nil), sink1.got...), sink2.got...)
	for i, v := range all {
		if v != int64(i) {
			t.Fatalf("item %d = %d across the restart (duplicate or gap)", i, v)
		}
	}
	if len(all) != n {
		t.Errorf("%d items in total, want %d", len(all), n)
	}
	end := Position{Offset: uint64(len(sink2.got) - 1), Token: pageToken(n-1, size)}
	if got := src2.lastAck(t); got != end {
		t.Errorf("second run's last ack %#v, want %#v (numbered from 0 again)", got, end)
	}

	// Third run: nothing left; status shows the position it resumed from.
	src3 := newPageSource(n, size)
	p3 := &Pipeline{Name: "pages", Source: src3, Sink: &memSink{}, Program: ProgramFunc(keepAll), Settings: Settings{StateDir: dir}}
	if err := p3.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := p3.Status(); st.Acked == nil || *st.Acked != end || st.In != 0 {
		t.Errorf("status after resuming with nothing to read: %+v, acked %v", st, st.Acked)
	}
}

func TestOldStateFileResumes(t *testing.T) {
	// The state file of an earlier version: {"offset":N}, no token.
	dir := t.TempDir()
	st, _ := state.Open(dir)
	if err := st.Put("orders", []byte(`{"offset":41}`)); err != nil {
		t.Fatal(err)
	}
	src, sink := &resumableSource{seqSource: newSeqSource(100)}, &memSink{}
	p := &Pipeline{Name: "orders", Source: src, Sink: sink, Program: ProgramFunc(keepAll), Settings: Settings{BatchSize: 10, StateDir: dir}}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if src.resumedAt == nil || *src.resumedAt != (Position{Offset: 41}) {
		t.Fatalf("resumed at %v, want offset 41", src.resumedAt)
	}
	if len(sink.got) != 58 || sink.got[0] != 42 || sink.got[57] != 99 {
		t.Fatalf("wrote %d records from %v", len(sink.got), sink.got[:min(len(sink.got), 3)])
	}
	// An offset-only source still writes the earlier form, byte for byte.
	if raw, _, _ := st.Get("orders"); string(raw) != `{"offset":99}` {
		t.Errorf("state file holds %s", raw)
	}

	// A source that needs a token refuses the old file, saying why, and is
	// not started.
	if err := st.Put("pages", []byte(`{"offset":41}`)); err != nil {
		t.Fatal(err)
	}
	pages := newPageSource(100, 7)
	p2 := &Pipeline{Name: "pages", Source: pages, Sink: &memSink{}, Program: ProgramFunc(keepAll), Settings: Settings{StateDir: dir}}
	err := p2.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `pipeline "pages": resume source at position 41 (`+filepath.Join(dir, "pages.state")+`): position 41 holds no page cursor`) {
		t.Fatalf("got %v", err)
	}
	if pages.opened {
		t.Error("the source was opened without a position it can resume from")
	}
}

func TestTokenShownInErrorsDeadLettersAndLogs(t *testing.T) {
	// Item 10 of pages of 7 is page 1's 4th item; it has Offset 10.
	bad := ProgramFunc(func(r *Record) (bool, error) {
		if r.After[0].AsInt() == 10 {
			return false, &StageError{Stage: "t", Err: errors.New("bad value")}
		}
		return true, nil
	})
	want := Position{Offset: 10, Token: "page-1#4"}

	t.Run("stop", func(t *testing.T) {
		p := &Pipeline{Name: "pages", Source: newPageSource(30, 7), Sink: &memSink{}, Program: bad}
		err := p.Run(context.Background())
		var re *RecordError
		if !errors.As(err, &re) || re.Position != want {
			t.Fatalf("got %v, want a RecordError at %#v", err, want)
		}
		if !strings.Contains(err.Error(), `record at position page-1#4 of stream "pages"`) {
			t.Errorf("error text %q does not name the token", err)
		}
		if st := p.Status(); !strings.Contains(st.LastError, "page-1#4") {
			t.Errorf("status last error %q", st.LastError)
		}
	})
	t.Run("dead_letter", func(t *testing.T) {
		src, dlq := newPageSource(30, 7), &dlqSink{}
		p := &Pipeline{Name: "pages", Source: src, Sink: &memSink{}, Program: bad, DeadLetter: dlq,
			Settings: Settings{OnError: OnErrorDeadLetter, DeadLetterSink: "dlq"}}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(dlq.letters) != 1 {
			t.Fatalf("%d dead letters", len(dlq.letters))
		}
		dl := dlq.letters[0]
		if got := dlField(t, dl, "position").AsString(); got != "page-1#4" || dl.Position != want {
			t.Errorf("dead letter position %q (record at %#v), want page-1#4", got, dl.Position)
		}
		if last := src.lastAck(t); last.Token != pageToken(29, 7) {
			t.Errorf("last ack %#v", last)
		}
	})
	t.Run("skip", func(t *testing.T) {
		var logs bytes.Buffer
		p := &Pipeline{Name: "pages", Source: newPageSource(30, 7), Sink: &memSink{}, Program: bad,
			Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Settings: Settings{OnError: OnErrorSkip}}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), `"position":{"offset":10,"token":"page-1#4"}`) {
			t.Errorf("skip log does not name the token: %s", logs.String())
		}
	})
}
