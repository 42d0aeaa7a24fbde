package runtime

import (
	"io"
	"time"
)

// Env is what components get from the process that runs them. Tests
// substitute a fixed clock and buffers; production uses time.Now and the
// process's standard streams.
type Env struct {
	Now    func() time.Time
	Stdout io.Writer
	Stderr io.Writer
}
