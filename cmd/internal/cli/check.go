package cli

import (
	"fmt"

	"github.com/spf13/pflag"
)

func init() {
	commands = append(commands, &command{
		name:    "check",
		usage:   "[-c FILE] [--format text|json] [--connect]",
		summary: "Validate the config offline (every error names file:line:col, a code and the config path); --connect also checks every source's and sink's server.",
		flags: func(fs *pflag.FlagSet, o *options) {
			fs.StringVar(&o.format, "format", "text", "output format: text or json")
			fs.BoolVar(&o.connect, "connect", false, "also connect to every enabled pipeline's servers and check them (nothing is created)")
		},
		run: func(e *env, o *options, args []string) int {
			if len(args) > 0 {
				fmt.Fprintf(e.stderr, "rivven-connect check: unexpected argument %q\n", args[0])
				return exitUsage
			}
			if o.format != "text" && o.format != "json" {
				fmt.Fprintf(e.stderr, "rivven-connect check: --format must be text or json, not %q\n", o.format)
				return exitUsage
			}
			p, _, ok := e.compile(o)
			if !ok {
				return exitUsage
			}
			if o.format == "json" {
				if o.connect {
					return e.probe(p, o.format)
				}
				fmt.Fprintln(e.stdout, "[]")
				return exitOK
			}
			enabled := 0
			for _, pp := range p.Pipelines {
				if pp.Enabled {
					enabled++
				}
			}
			fmt.Fprintf(e.stdout, "%s: ok (%s, %d enabled)\n", o.config, plural(len(p.Pipelines), "pipeline"), enabled)
			if enabled == 0 {
				fmt.Fprintln(e.stdout, "note: every pipeline is disabled; run will have nothing to do")
			}
			if o.connect {
				return e.probe(p, o.format)
			}
			fmt.Fprintln(e.stdout, "note: nothing was connected to (offline check); 'rivven-connect check --connect' also checks every server the pipelines use")
			return exitOK
		},
	})
}

// plural renders "1 pipeline", "2 pipelines".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
