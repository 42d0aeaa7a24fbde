package cli

import (
	"fmt"

	"github.com/spf13/pflag"
)

func init() {
	commands = append(commands, &command{
		name:    "help",
		usage:   "[COMMAND]",
		summary: "Show help for rivven-connect or one command.",
		run: func(e *env, o *options, args []string) int {
			if len(args) == 0 {
				e.usage(e.stdout)
				return exitOK
			}
			if len(args) > 1 {
				fmt.Fprintf(e.stderr, "rivven-connect help: name one command, got %q\n", args)
				return exitUsage
			}
			c := lookupCommand(args[0])
			if c == nil {
				fmt.Fprintf(e.stderr, "rivven-connect help: unknown command %q\n", args[0])
				return exitUsage
			}
			fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
			fs.StringP("config", "c", "connect.yaml", "config file")
			fs.BoolP("verbose", "v", false, "verbose logging")
			fs.BoolP("help", "h", false, "show help")
			if c.flags != nil {
				c.flags(fs, &options{})
			}
			e.commandUsage(e.stdout, c, fs)
			return exitOK
		},
	})
}
