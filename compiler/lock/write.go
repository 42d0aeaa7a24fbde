package lock

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Write renders l as a lock file: deterministic (the same lock always
// gives the same bytes), one line per column so that a schema change is a
// readable diff. configName names the config in the header comment.
func Write(l *Lock, configName string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Schema lock of %s: the stream schemas of its sources, as\n", configName)
	fmt.Fprintf(&b, "# `rivven-connect discover -c %s SOURCE --lock` read them. check types conditions and\n", configName)
	b.WriteString("# masks against it offline; check --connect reports drift from the live schema. Commit it\n")
	b.WriteString("# with the config; write it again after a schema change.\n")
	fmt.Fprintf(&b, "version: %d\n", Version)
	if len(l.Sources) == 0 {
		b.WriteString("sources: {}\n")
	} else {
		b.WriteString("sources:\n")
	}
	for _, s := range l.Sources {
		fmt.Fprintf(&b, "  %s:\n    connector: %s\n", scalar(s.Name), scalar(s.Connector))
		if len(s.Streams) == 0 {
			b.WriteString("    streams: []\n")
			continue
		}
		b.WriteString("    streams:\n")
		for _, st := range s.Streams {
			fmt.Fprintf(&b, "      - name: %s\n", scalar(st.Name))
			if st.Namespace != "" {
				fmt.Fprintf(&b, "        namespace: %s\n", scalar(st.Namespace))
			}
			if len(st.Key) > 0 {
				keys := make([]string, len(st.Key))
				for i, k := range st.Key {
					keys[i] = scalar(k)
				}
				fmt.Fprintf(&b, "        key: [%s]\n", strings.Join(keys, ", "))
			}
			if len(st.Columns) == 0 {
				b.WriteString("        columns: []\n")
				continue
			}
			b.WriteString("        columns:\n")
			for _, c := range st.Columns {
				fmt.Fprintf(&b, "          - {name: %s", scalar(c.Name))
				if c.Type != "" {
					fmt.Fprintf(&b, ", type: %s", scalar(c.Type))
				}
				fmt.Fprintf(&b, ", kind: %s", scalar(c.Kind.String()))
				if c.NotNull {
					b.WriteString(", not_null: true")
				}
				b.WriteString("}\n")
			}
		}
	}
	return []byte(b.String())
}

var plainScalar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*( [A-Za-z0-9_.-]+)*$`)

// scalar writes s as a YAML scalar that reads back as s in a flow
// collection: plain when that is unambiguous, else double-quoted, with
// "${" escaped as "$${" (lock files hold no variables).
func scalar(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "null", "yes", "no", "on", "off", "y", "n":
		return strconv.Quote(s)
	}
	if plainScalar.MatchString(s) {
		return s
	}
	return strconv.Quote(strings.ReplaceAll(s, "${", "$${"))
}
