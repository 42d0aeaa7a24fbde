package runtime

import (
	"fmt"
	"io"
	"os"
)

// File is a file a component reads when it starts (a WASM plugin's
// module): under `run` it is read from Path; a compiled binary embeds its
// bytes in Data (`compile` reads the file then), so the binary runs
// without it. Name is how messages call it.
type File struct {
	Path string
	Name string
	Data []byte
}

// MaxFileBytes bounds the files a File reads.
const MaxFileBytes = 512 << 20

// Read returns the file's bytes: Data when embedded, else Path's content.
// Path must name a regular file of at most MaxFileBytes (a device, a pipe
// or a directory is refused, never read).
func (f File) Read() ([]byte, error) {
	if f.Data != nil {
		return f.Data, nil
	}
	if f.Path == "" {
		return nil, fmt.Errorf("%s: no path and no embedded bytes", f.Name)
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", f.Name)
	case st.Size() > MaxFileBytes:
		return nil, fmt.Errorf("%s is larger than %d MiB", f.Name, MaxFileBytes>>20)
	}
	// Read into a buffer of the size stat gave (one allocation, no
	// copies as it grows); a file that grew since is read on, to the
	// bound.
	buf := make([]byte, 0, st.Size()+1)
	for {
		n, err := fh.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		case len(buf) > MaxFileBytes:
			return nil, fmt.Errorf("%s is larger than %d MiB", f.Name, MaxFileBytes>>20)
		case len(buf) == cap(buf):
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// Where names the file for messages: its path, or "<name> (embedded)".
func (f File) Where() string {
	if f.Data != nil || f.Path == "" {
		return f.Name + " (embedded)"
	}
	return f.Path
}
