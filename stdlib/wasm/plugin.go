package wasm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// Defaults of a plugin's limits.
const (
	DefaultMemoryMB  = 64
	DefaultTimeoutMs = 1000
)

// Plugin is one plugin as a pipeline runs it: plain data, so generated
// code can write it as a literal. check builds it from the plugins
// section and the plugin's manifest.
type Plugin struct {
	// Name is the plugin's key under plugins.
	Name string
	// Module is the .wasm: its path under `run`, its bytes embedded in a
	// compiled binary.
	Module runtime.File
	// SHA256 is the hex digest of the module check read; Load refuses a
	// module with another ("" = not checked): a file changed since check,
	// or a corrupt embedding.
	SHA256 string
	// Kind is the plugin's role (abi.KindTransform, …), from its manifest.
	Kind string
	// Config is the plugin's config object, ${VAR}s substituted.
	Config runtime.Value
	// SecretKeys lists the paths in Config (keys, "." joined) whose values
	// are secrets (they came from ${VAR}, or their key names a password,
	// secret, token or key): the host masks them in the plugin's logs and
	// errors.
	SecretKeys []string
	// MemoryMB caps the instance's memory; TimeoutMs bounds every call
	// (0: DefaultTimeoutMs).
	MemoryMB, TimeoutMs int
	// Unbounded (limits.timeout_ms: 0) runs calls with no deadline: a
	// trusted plugin's code then runs without the deadline checks wazero
	// compiles into every loop (several times faster for Go plugins), and
	// a plugin that never returns blocks its pipeline.
	Unbounded bool
	// Mounts are the only directories the plugin sees (WASI).
	Mounts []Mount
	// Network lists the host:port pairs http_request may reach.
	Network []string
	// Env names the environment variables the plugin sees (WASI).
	Env []string
	// StateDir is where state_set keeps the plugin's values ("": the
	// config has no settings.state_dir and state_set fails saying so).
	StateDir string
	// CacheDir holds compiled modules across runs ("": compile in memory).
	CacheDir string
	// Encoding, KeepsSchema, Streams and Splits come from the manifest
	// (abi.Manifest), as check read it.
	Encoding    string
	KeepsSchema bool
	Streams     []abi.StreamSpec
	Splits      bool
}

// Mount is one directory of the host the plugin sees at Guest.
type Mount struct {
	Host, Guest string
	ReadOnly    bool
}

func (p *Plugin) memoryMB() int {
	if p.MemoryMB <= 0 {
		return DefaultMemoryMB
	}
	return p.MemoryMB
}

func (p *Plugin) timeoutMs() int {
	if p.TimeoutMs <= 0 {
		return DefaultTimeoutMs
	}
	return p.TimeoutMs
}

// readModule reads p's module and checks its digest.
func (p *Plugin) readModule() ([]byte, string, error) {
	b, err := p.Module.Read()
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path as written, not as resolved
		}
		return nil, "", fmt.Errorf("plugin %q: cannot read its module %s: %w", p.Name, p.Module.Name, err)
	}
	s := sha256.Sum256(b)
	sum := hex.EncodeToString(s[:])
	if p.SHA256 != "" && !strings.EqualFold(sum, p.SHA256) {
		return nil, "", fmt.Errorf("plugin %q: %s changed since the pipeline was checked (SHA-256 %s, expected %s); check or compile the config again", p.Name, p.Module.Where(), short(sum), short(p.SHA256))
	}
	return b, sum, nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

// secrets returns the values of the plugin's secret config keys and of its
// environment variables, for redaction.
func (p *Plugin) secrets() []string {
	var out []string
	for _, k := range p.SecretKeys {
		v := p.Config
		for _, part := range strings.Split(k, ".") {
			o := v.AsObject()
			if o == nil {
				v = runtime.Null()
				break
			}
			v, _ = o.Get(part)
		}
		if v.Kind() == runtime.KindString {
			out = append(out, v.AsString())
		} else if !v.IsNull() {
			out = append(out, string(runtime.AppendJSON(nil, v)))
		}
	}
	for _, name := range p.Env {
		if v, ok := os.LookupEnv(name); ok {
			out = append(out, v)
		}
	}
	return out
}

// Masked returns p with the values of its secret config keys
// (SecretKeys) replaced by runtime.SecretMask, for plans and messages.
func (p Plugin) Masked() Plugin {
	for _, k := range p.SecretKeys {
		p.Config = maskAt(p.Config, strings.Split(k, "."))
	}
	return p
}

// maskAt returns v with the value at path replaced by the mask; v itself
// is not changed (values are immutable).
func maskAt(v runtime.Value, path []string) runtime.Value {
	if len(path) == 0 {
		return runtime.String(runtime.SecretMask)
	}
	switch v.Kind() {
	case runtime.KindObject:
		o := v.AsObject()
		if inner, ok := o.Get(path[0]); ok {
			return runtime.ObjectValue(o.With(path[0], maskAt(inner, path[1:])))
		}
	case runtime.KindArray:
		a := v.AsArray()
		if i, err := strconv.Atoi(path[0]); err == nil && i >= 0 && i < len(a) {
			out := append([]runtime.Value(nil), a...)
			out[i] = maskAt(a[i], path[1:])
			return runtime.ArrayValue(out)
		}
	}
	return v
}
