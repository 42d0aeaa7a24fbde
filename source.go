// Package rivvenconnect embeds the source that generated pipeline binaries
// link: the module's go.mod and go.sum, runtime/, stdlib/ and schemas/ (the
// codecs and registry the typed sink formats use). The compile
// command writes it next to the generated code, so a build needs only a Go
// toolchain and the module cache, never this repository.
package rivvenconnect

import "embed"

// Source holds go.mod, go.sum and the runtime, stdlib and schemas trees.
//
//go:embed go.mod go.sum runtime stdlib schemas
var Source embed.FS
