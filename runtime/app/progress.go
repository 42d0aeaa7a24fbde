package app

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/runtime/health"
)

// progressTick is how often the live line is redrawn.
const progressTick = 200 * time.Millisecond

// display is Run's feedback on a terminal: a start-up line per pipeline,
// one live line redrawn under the logs, and a summary line per pipeline
// when it ends. A nil *display shows nothing (stderr is not a terminal).
type display struct {
	tw    *termWriter
	pipes []*runtime.Pipeline
	names map[string]health.Names
	width int // the terminal's columns; 0 = unknown (lines are not cut)

	mu     sync.Mutex
	meters map[*runtime.Pipeline]*meter
	ended  map[*runtime.Pipeline]bool
	stopc  chan struct{}
	wg     sync.WaitGroup
}

// newDisplay returns the display of a run, or nil when opts.Progress (or,
// unset, whether opts.Stderr is a terminal) says there is none.
func newDisplay(pipes []*runtime.Pipeline, opts RunOptions, tw *termWriter) *display {
	show := isTerminal(opts.Stderr)
	if opts.Progress != nil {
		show = *opts.Progress
	}
	if !show {
		return nil
	}
	d := &display{tw: tw, pipes: pipes, names: opts.Names, meters: map[*runtime.Pipeline]*meter{},
		ended: map[*runtime.Pipeline]bool{}, stopc: make(chan struct{})}
	if w, ok := termWidth(opts.Stderr); ok {
		d.width = w
	}
	for _, p := range pipes {
		d.meters[p] = &meter{}
	}
	return d
}

// start prints the start-up lines and starts redrawing the live line.
func (d *display) start() {
	if d == nil {
		return
	}
	for _, p := range d.pipes {
		d.println(startupLine(p, d.names[p.Name]))
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(progressTick)
		defer t.Stop()
		for {
			select {
			case <-d.stopc:
				return
			case now := <-t.C:
				d.mu.Lock()
				line := d.live(now)
				d.mu.Unlock()
				d.tw.draw(line)
			}
		}
	}()
}

// finished prints p's summary line (once).
func (d *display) finished(p *runtime.Pipeline) {
	if d == nil {
		return
	}
	d.mu.Lock()
	if d.ended[p] {
		d.mu.Unlock()
		return
	}
	d.ended[p] = true
	d.mu.Unlock()
	d.println(summaryLine(p.Name, p.Status(), time.Now()))
}

// stop stops and clears the live line.
func (d *display) stop() {
	if d == nil {
		return
	}
	close(d.stopc)
	d.wg.Wait()
	d.tw.draw("")
}

func (d *display) println(line string) {
	io.WriteString(d.tw, d.cut(line)+"\n")
}

// live renders the live line of the pipelines still running; d.mu held.
func (d *display) live(now time.Time) string {
	var parts []string
	for _, p := range d.pipes {
		if d.ended[p] {
			continue
		}
		st := p.Status()
		m := d.meters[p]
		m.add(now, st.In)
		rate, ok := m.rate()
		parts = append(parts, progressSegment(p.Name, st, p.Activity(), rate, ok))
	}
	return d.cut(strings.Join(parts, " | "))
}

// cut shortens line to the terminal's width (a longer line would wrap, and
// the next redraw would clear only its last row).
func (d *display) cut(line string) string {
	if d.width <= 1 || utf8.RuneCountInString(line) < d.width {
		return line
	}
	r := []rune(line)
	return string(r[:d.width-2]) + "…"
}

// startupLine is "pipeline orders: pg (postgres-cdc) → out (stdout): what
// it is doing".
func startupLine(p *runtime.Pipeline, n health.Names) string {
	src, sink := first(p.SourceName, n.Source, "source"), first(p.SinkName, n.Sink, "sink")
	if p.SourceConnector != "" {
		src += " (" + p.SourceConnector + ")"
	}
	if p.SinkConnector != "" {
		sink += " (" + p.SinkConnector + ")"
	}
	line := fmt.Sprintf("pipeline %s: %s → %s", p.Name, src, sink)
	if a := renderActivity(p.Activity()); a != "" {
		line += ": " + a
	}
	return line
}

func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// progressSegment renders one pipeline of the live line: "orders:
// snapshotting public.users 12,000/50,000 · in 12,000 · 3,210/s · out
// 11,744 · lag 1.2 MiB". rate is the records read per second lately
// (shown when ok).
func progressSegment(name string, st runtime.Status, act runtime.Activity, rate float64, ok bool) string {
	parts := []string{name + ":"}
	if a := renderActivity(act); a != "" {
		parts = append(parts, a)
	}
	in := "in " + thousands(st.In)
	if st.Expected > 0 {
		in += fmt.Sprintf("/%s (%d%%)", thousands(st.Expected), min(st.In*100/st.Expected, 100))
	}
	parts = append(parts, in)
	if ok {
		parts = append(parts, perSecond(rate))
	}
	parts = append(parts, "out "+thousands(st.Out))
	if st.Failed > 0 {
		parts = append(parts, "failed "+thousands(st.Failed))
	}
	if l := renderLag(st); l != "" {
		parts = append(parts, l)
	}
	return parts[0] + " " + strings.Join(parts[1:], " · ")
}

// summaryLine is a pipeline's last line: "pipeline orders: stopped after
// 1.52s · 10,000 in · 9,000 out · 1,000 dropped · 6,579/s". now stands in
// for the end of a pipeline still running.
func summaryLine(name string, st runtime.Status, now time.Time) string {
	el := elapsed(st, now)
	parts := []string{thousands(st.In) + " in", thousands(st.Out) + " out"}
	for _, c := range []struct {
		n    uint64
		what string
	}{{st.Dropped, "dropped"}, {st.Failed, "failed"}, {st.DeadLettered, "dead-lettered"}} {
		if c.n > 0 {
			parts = append(parts, thousands(c.n)+" "+c.what)
		}
	}
	if el > 0 && st.In > 0 {
		parts = append(parts, perSecond(float64(st.In)/el.Seconds()))
	}
	return fmt.Sprintf("pipeline %s: %s after %s · %s", name, st.State, roundElapsed(el), strings.Join(parts, " · "))
}

// elapsed is how long the pipeline of st ran: from its start to its end,
// or to now while it runs; 0 when it never started.
func elapsed(st runtime.Status, now time.Time) time.Duration {
	switch {
	case st.Started.IsZero():
		return 0
	case !st.Ended.IsZero():
		return st.Ended.Sub(st.Started)
	}
	return now.Sub(st.Started)
}

// roundElapsed keeps three significant digits or so: 312ms, 1.52s, 2m3s.
func roundElapsed(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// renderActivity renders a as "snapshotting public.users 12,000/50,000".
func renderActivity(a runtime.Activity) string {
	switch {
	case a.Doing == "":
		return ""
	case a.Total > 0:
		return fmt.Sprintf("%s %s/%s", a.Doing, thousands(a.Done), thousands(a.Total))
	case a.Done > 0:
		return a.Doing + " " + thousands(a.Done)
	}
	return a.Doing
}

// renderLag renders the pipeline's lag when known: the source's own
// ("lag 1.2 MiB", "lag 1,200 records"), else the event-time lag ("lag 1.5s").
func renderLag(st runtime.Status) string {
	switch {
	case st.HasSourceLag && st.SourceLagUnit == "bytes":
		return "lag " + bytesIEC(st.SourceLag)
	case st.HasSourceLag:
		return "lag " + thousands(st.SourceLag) + " " + st.SourceLagUnit
	case st.HasEventLag:
		return "lag " + roundElapsed(st.EventLag).String()
	}
	return ""
}

// thousands renders n with comma thousands separators: 12,000.
func thousands[T int64 | uint64](n T) string {
	var s string
	switch v := any(n).(type) {
	case int64:
		s = strconv.FormatInt(v, 10)
	case uint64:
		s = strconv.FormatUint(v, 10)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// perSecond renders a rate: "0/s", "0.5/s", "12/s", "3,210/s".
func perSecond(r float64) string {
	if r == 0 {
		return "0/s"
	}
	if r < 10 {
		return strconv.FormatFloat(r, 'f', 1, 64) + "/s"
	}
	return thousands(int64(r+0.5)) + "/s"
}

// bytesIEC renders n bytes as "512 B", "1.2 KiB", "3.4 GiB".
func bytesIEC(n uint64) string {
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, unit := float64(n)/1024, 0
	for v >= 1024 && unit < 4 {
		v /= 1024
		unit++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + [...]string{"KiB", "MiB", "GiB", "TiB", "PiB"}[unit]
}

// meter keeps the last second or so of a counter's samples to tell its
// recent rate.
type meter struct {
	t    [6]time.Time
	n    [6]uint64
	len  int
	head int // next slot
}

func (m *meter) add(t time.Time, n uint64) {
	m.t[m.head], m.n[m.head] = t, n
	m.head = (m.head + 1) % len(m.t)
	m.len = min(m.len+1, len(m.t))
}

// rate returns the counter's growth per second over the samples kept;
// ok is false before two samples.
func (m *meter) rate() (float64, bool) {
	if m.len < 2 {
		return 0, false
	}
	newest := (m.head - 1 + len(m.t)) % len(m.t)
	oldest := (m.head - m.len + len(m.t)) % len(m.t)
	dt := m.t[newest].Sub(m.t[oldest]).Seconds()
	if dt <= 0 || m.n[newest] < m.n[oldest] {
		return 0, false
	}
	return float64(m.n[newest]-m.n[oldest]) / dt, true
}

// termWriter is stderr shared by the logs and the live line: a log record
// first clears the live line, which the next tick redraws.
type termWriter struct {
	mu    sync.Mutex
	w     io.Writer
	drawn bool
}

func (t *termWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.drawn {
		io.WriteString(t.w, "\r\x1b[K")
		t.drawn = false
	}
	return t.w.Write(b)
}

// draw replaces the live line with line ("" clears it).
func (t *termWriter) draw(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.drawn || line != "" {
		io.WriteString(t.w, "\r\x1b[K"+line)
	}
	t.drawn = line != ""
}

// isTerminal reports whether w is a character device (a terminal), not a
// pipe or a file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
