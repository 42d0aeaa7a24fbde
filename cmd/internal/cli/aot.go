package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/pflag"

	"github.com/rivven/rivven-connect/compiler/build"
	"github.com/rivven/rivven-connect/compiler/emit"
)

func init() {
	var out, emitDir string
	commands = append(commands, &command{
		name:    "compile",
		usage:   "[-c FILE] -o BINARY [--emit-dir DIR]",
		summary: "Compile the config into a standalone pipeline binary (needs a Go toolchain).",
		flags: func(fs *pflag.FlagSet, o *options) {
			fs.StringVarP(&out, "output", "o", "", "the binary to build")
			fs.StringVar(&emitDir, "emit-dir", "", "write the generated Go module here and keep it")
		},
		run: func(e *env, o *options, args []string) int {
			if len(args) > 0 {
				fmt.Fprintf(e.stderr, "rivven-connect compile: unexpected argument %q\n", args[0])
				return exitUsage
			}
			if out == "" && emitDir == "" {
				fmt.Fprintln(e.stderr, "rivven-connect compile: say where to put the result: -o BINARY and/or --emit-dir DIR")
				return exitUsage
			}
			start := time.Now()
			p, _, ok := e.compile(o)
			if !ok {
				return exitUsage
			}
			files, err := emit.Go(p, emit.Options{Package: "main", Compiler: version()})
			if err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect compile: %v\n", err)
				var ee *emit.Error
				if errors.As(err, &ee) {
					return exitUsage
				}
				return exitFailure
			}
			var goBin string
			if out != "" {
				if goBin, err = build.Toolchain(exec.LookPath, os.Getenv); err != nil {
					fmt.Fprintf(e.stderr, "rivven-connect compile: %v\n", err)
					return exitUsage
				}
			}
			dir := emitDir
			if dir == "" {
				if dir, err = os.MkdirTemp("", "rivven-compile-"); err != nil {
					fmt.Fprintf(e.stderr, "rivven-connect compile: %v\n", err)
					return exitFailure
				}
			}
			if err := build.WriteModule(dir, map[string]map[string][]byte{".": files}); err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect compile: writing %s: %v\n", dir, err)
				return exitFailure
			}
			if out == "" {
				fmt.Fprintf(e.stdout, "wrote the generated module to %s (build it with: cd %s && go build)\n", dir, dir)
				return exitOK
			}
			if err := build.Go(context.Background(), goBin, dir, ".", out); err != nil {
				fmt.Fprintf(e.stderr, "rivven-connect compile: %v\n", err)
				return exitFailure
			}
			if emitDir == "" {
				os.RemoveAll(dir)
			}
			fmt.Fprintf(e.stdout, "built %s (%s) from %s in %s", out, size(out), o.config, time.Since(start).Round(10*time.Millisecond))
			if self, err := os.Executable(); err == nil {
				fmt.Fprintf(e.stdout, "; rivven-connect itself is %s", size(self))
			}
			fmt.Fprintln(e.stdout)
			if emitDir != "" {
				fmt.Fprintf(e.stdout, "generated module kept in %s\n", emitDir)
			}
			return exitOK
		},
	})
}

func size(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "size unknown"
	}
	return fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20))
}
