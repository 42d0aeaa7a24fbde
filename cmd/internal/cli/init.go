package cli

import (
	_ "embed"
	"fmt"
)

// initConfig is the example config `init` prints. Tests check that it
// passes check and runs.
//
//go:embed init.yaml
var initConfig string

func init() {
	commands = append(commands, &command{
		name:    "init",
		summary: "Print a commented example config (datagen → filter → field-mask → stdout).",
		run: func(e *env, o *options, args []string) int {
			if len(args) > 0 {
				fmt.Fprintf(e.stderr, "rivven-connect init: unexpected argument %q (redirect the output: rivven-connect init > connect.yaml)\n", args[0])
				return exitUsage
			}
			fmt.Fprint(e.stdout, initConfig)
			return exitOK
		},
	})
}
