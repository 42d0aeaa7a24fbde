package check

import (
	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
)

// Sections the config language reserves (the seed documents them) but this
// version cannot run: each is refused at its key with code not-available,
// never accepted and ignored. An entry leaves this list when it is built.
var unavailableSections = []struct{ key, what string }{}

// UnavailableSections lists the top-level keys refused as not available,
// for the JSON Schema of the config (which flags them too).
func UnavailableSections() []string {
	out := make([]string, len(unavailableSections))
	for i, u := range unavailableSections {
		out[i] = u.key
	}
	return out
}

// unavailable refuses the sections of unavailableSections.
func (c *checker) unavailable(root *config.Node) {
	for _, u := range unavailableSections {
		if n := root.Get(u.key); n != nil {
			c.errs.Add(n.KeyPos, source.CodeNotAvailable, u.key, "%s", u.what)
		}
	}
}
