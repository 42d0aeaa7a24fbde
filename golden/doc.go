// Package golden holds the end-to-end golden cases of rivven-connect: each
// testdata/*.txtar file is a config (pipeline.yaml, optionally env) and the
// outputs it must produce (out/errors, out/plan, out/records). Run
// `go test ./golden -update` to rewrite the outputs from current behaviour.
package golden
