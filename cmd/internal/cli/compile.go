package cli

import (
	"fmt"

	"github.com/rivven/rivven-connect/compiler"
	"github.com/rivven/rivven-connect/compiler/plan"
	"github.com/rivven/rivven-connect/compiler/source"
)

// compile reads and compiles the config, printing errors (text, or JSON
// when o.format is json) and returning nil on failure.
func (e *env) compile(o *options) (*plan.Plan, source.Errors, bool) {
	data, ok := e.readConfig(o)
	if !ok {
		return nil, nil, false
	}
	p, errs := compiler.Compile(o.config, data, e.lookup)
	if len(errs) > 0 {
		if o.format == "json" {
			e.stdout.Write(errs.JSON())
		} else {
			e.printErrors(errs)
		}
		return nil, errs, false
	}
	return p, nil, true
}

func (e *env) printErrors(errs source.Errors) {
	for _, err := range errs {
		fmt.Fprintln(e.stderr, err.Error())
	}
	noun := "errors"
	if len(errs) == 1 {
		noun = "error"
	}
	fmt.Fprintf(e.stderr, "%d %s\n", len(errs), noun)
}
