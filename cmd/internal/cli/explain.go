package cli

import "fmt"

func init() {
	commands = append(commands, &command{
		name:    "explain",
		usage:   "[-c FILE]",
		summary: "Print the compiled plan: each pipeline's source, fused stages with schemas, and sink.",
		run: func(e *env, o *options, args []string) int {
			if len(args) > 0 {
				fmt.Fprintf(e.stderr, "rivven-connect explain: unexpected argument %q\n", args[0])
				return exitUsage
			}
			p, _, ok := e.compile(o)
			if !ok {
				return exitUsage
			}
			fmt.Fprint(e.stdout, p.Dump())
			return exitOK
		},
	})
}
