package runtime

import (
	"fmt"
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

// Read returns the file's bytes: Data when embedded, else Path's content.
func (f File) Read() ([]byte, error) {
	if f.Data != nil {
		return f.Data, nil
	}
	if f.Path == "" {
		return nil, fmt.Errorf("%s: no path and no embedded bytes", f.Name)
	}
	return os.ReadFile(f.Path)
}

// Where names the file for messages: its path, or "<name> (embedded)".
func (f File) Where() string {
	if f.Data != nil || f.Path == "" {
		return f.Name + " (embedded)"
	}
	return f.Path
}
