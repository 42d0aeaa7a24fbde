// Package cue embeds the CUE definitions that are the single source of
// truth for the shape of a rivven-connect config: the document (#Config),
// and one definition per connector and transform under `connectors`. The
// checker validates every config against them, and `spec` renders them as
// JSON Schema. The files are one CUE package, "connect".
package cue

import "embed"

// Files holds the *.cue files of this directory.
//
//go:embed *.cue
var Files embed.FS
