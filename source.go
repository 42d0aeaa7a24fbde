// Package rivvenconnect embeds the source that generated pipeline binaries
// link: the module's go.mod and go.sum, runtime/ and stdlib/. The compile
// command writes it next to the generated code, so a build needs only a Go
// toolchain and the module cache, never this repository.
package rivvenconnect

import "embed"

// Source holds go.mod, go.sum and the runtime and stdlib trees.
//
//go:embed go.mod go.sum runtime stdlib
var Source embed.FS
