// Command rivven-connect runs, checks and compiles rivven-connect pipelines.
package main

import (
	"os"

	"github.com/rivven/rivven-connect/cmd/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
