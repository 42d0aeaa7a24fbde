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
	data, errs := e.readConfig(o)
	if errs == nil {
		var p *plan.Plan
		if p, errs = compiler.Compile(o.config, data, e.lookup); len(errs) == 0 {
			return p, nil, true
		}
	}
	if o.format == "json" {
		e.stdout.Write(errs.JSON())
	} else {
		e.printErrors(errs)
	}
	return nil, errs, false
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
