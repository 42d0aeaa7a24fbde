// Package goldentest holds what the golden tests share: reading a case,
// its environment, and running pipelines deterministically. It exists for
// tests only.
package goldentest

import (
	"bufio"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/rivven/rivven-connect/runtime"
)

// Now is the clock of every golden run.
var Now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Clock returns Now.
func Clock() time.Time { return Now }

// Case is one golden file.
type Case struct {
	Name     string
	File     string
	Archive  *txtar.Archive
	Sections map[string]string
	Env      map[string]string
}

// Lookup reads the case's environment.
func (c *Case) Lookup(k string) (string, bool) { v, ok := c.Env[k]; return v, ok }

// Load reads every testdata/*.txtar case below dir.
func Load(dir string) ([]*Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "testdata", "*.txtar"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no golden cases in %s: %v", dir, err)
	}
	var out []*Case
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			return nil, err
		}
		c := &Case{Name: strings.TrimSuffix(filepath.Base(f), ".txtar"), File: f, Archive: ar, Sections: map[string]string{}}
		for _, s := range ar.Files {
			c.Sections[s.Name] = string(s.Data)
		}
		c.Env = parseEnv(c.Sections["env"])
		out = append(out, c)
	}
	return out, nil
}

func parseEnv(s string) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	return env
}

// RunAll runs pipelines one at a time (so output order is fixed) and
// returns their errors, one per line. It fails if they take over 20 s.
func RunAll(pipes []*runtime.Pipeline) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var errs strings.Builder
	for _, rp := range pipes {
		if err := rp.Run(ctx); err != nil {
			errs.WriteString(err.Error() + "\n")
		}
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("golden run did not finish in 20s: set max_events on every source")
	}
	return errs.String(), nil
}

// PkgName is the Go package of a case's generated code.
func PkgName(caseName string) string {
	var b strings.Builder
	for _, r := range caseName {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
