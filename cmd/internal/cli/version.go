package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release version, set with -ldflags "-X …cli.Version=…".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "0.1.0-dev"
}

func init() {
	commands = append(commands, &command{
		name:    "version",
		summary: "Print the version.",
		run: func(e *env, o *options, args []string) int {
			if len(args) > 0 {
				fmt.Fprintf(e.stderr, "rivven-connect version: unexpected argument %q\n", args[0])
				return exitUsage
			}
			fmt.Fprintf(e.stdout, "rivven-connect %s (%s)\n", version(), runtime.Version())
			return exitOK
		},
	})
}
