package check

import (
	"strconv"
	"strings"
)

// patternHelp says in words what each string pattern of the CUE
// definitions (cue/*.cue, `=~"…"`) asks for: a value that does not match
// is told that, not the regular expression.
// TestEveryPatternDescribed keeps the table complete.
var patternHelp = map[string]string{
	`^/`:                               "a path starting with /",
	`^[^:/ ]+:[0-9]+$`:                 "host:port (e.g. api.example.com:443)",
	`^.*:[0-9]+$`:                      "host:port (e.g. 127.0.0.1:8080, or :8080 for every interface)",
	`^[A-Za-z_][A-Za-z0-9_]*$`:         "an environment variable name (letters, digits and _, not starting with a digit)",
	`^[a-z0-9_]{1,63}$`:                "a replication slot name: 1 to 63 lower-case letters, digits or _",
	`^https?://[^/?#]+`:                "an http:// or https:// URL with a host",
	`^[hH][tT][tT][pP][sS]?://[^/?#]+`: "an http:// or https:// URL with a host",
	`\{position\}`:                     "a template that holds {position} (every object key must name its first record's position, so a replay writes the same key)",
	`^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`: "a duration such as 90s, 15m or 1h30m (0 for none)",
}

// patternMessage words a value's failure to match the pattern bounds
// (each as CUE prints it, `=~"…"`), or "" when a bound is not a described
// pattern.
func patternMessage(value string, bounds []string) string {
	var wants []string
	for _, b := range bounds {
		lit, ok := strings.CutPrefix(b, "=~")
		if !ok {
			return ""
		}
		re, err := strconv.Unquote(lit)
		if err != nil {
			return ""
		}
		help, ok := patternHelp[re]
		if !ok {
			return ""
		}
		wants = append(wants, help)
	}
	return value + " is not " + strings.Join(dedupe(wants), " and ")
}
