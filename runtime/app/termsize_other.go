//go:build !(linux || darwin)

package app

import (
	"io"
	"os"
)

// termWidth returns 80 for a file (a terminal of unknown size); ok is
// false for other writers.
func termWidth(w io.Writer) (int, bool) {
	if _, ok := w.(*os.File); ok {
		return 80, true
	}
	return 0, false
}
