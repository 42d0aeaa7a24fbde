package runtime

import "fmt"

// Program is the fused per-record function of one pipeline: the contract that
// both back ends (the interpreter and generated Go) meet.
//
// Process runs every transform of the pipeline on r, in place. It returns
// keep=false when a filter dropped the record. A non-nil error is a
// *StageError naming the transform that failed; r is then left as that
// transform found it. Process must be safe to call from one goroutine at a
// time; the driver never calls it concurrently for one pipeline. A
// Program that holds connections (enrich's lookups) implements io.Closer:
// the driver closes it when the pipeline ends, after its last Process.
type Program interface {
	Process(r *Record) (keep bool, err error)
}

// ProgramFunc adapts a function to Program.
type ProgramFunc func(r *Record) (bool, error)

// Process calls f(r).
func (f ProgramFunc) Process(r *Record) (bool, error) { return f(r) }

// StageError reports which transform of a pipeline failed on a record.
type StageError struct {
	Stage string // transform name from the config
	Err   error
}

func (e *StageError) Error() string { return fmt.Sprintf("transform %q: %v", e.Stage, e.Err) }

// Unwrap returns the underlying error.
func (e *StageError) Unwrap() error { return e.Err }
