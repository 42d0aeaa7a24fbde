package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// Level is a log message's severity.
type Level int32

// The levels, as the host's log import numbers them.
const (
	LevelDebug Level = abi.LogDebug
	LevelInfo  Level = abi.LogInfo
	LevelWarn  Level = abi.LogWarn
	LevelError Level = abi.LogError
)

// ErrNotInPlugin is what StateSet and HTTP return outside a plugin (a
// native build, as in a plugin's unit tests).
var ErrNotInPlugin = errors.New("sdk: host functions are only available inside a plugin (GOOS=wasip1)")

// hostFuncs is the host's "rivven" module, one method per import; the
// wasip1 build sets host to the imports, native tests to a fake.
type hostFuncs interface {
	log(level int32, msg string)
	nowMs() int64
	configGet(key string) int32
	stateGet(key string) int32
	stateSet(key string, value []byte) int32
	httpRequest(req []byte) int32
	resultRead(dst []byte) int32
}

// host is nil outside a plugin.
var host hostFuncs

// Log sends msg to the host's log at level, under the plugin's name (the
// host masks the plugin's secrets in it). Outside a plugin it writes to
// standard error.
func Log(level Level, msg string) {
	if host == nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", levelName(level), msg)
		return
	}
	host.log(int32(level), msg)
}

// Logf is Log with fmt.Sprintf's formatting.
func Logf(level Level, format string, args ...any) { Log(level, fmt.Sprintf(format, args...)) }

func levelName(l Level) string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	}
	return "error"
}

// NowMs is the host's wall clock in Unix milliseconds.
func NowMs() int64 {
	if host == nil {
		return time.Now().UnixMilli()
	}
	return host.nowMs()
}

// Config returns the JSON of the plugin config's key, and false when the
// config has no such key (or outside a plugin). InitRequest.DecodeConfig
// reads the whole config at once.
func Config(key string) (json.RawMessage, bool) {
	if host == nil {
		return nil, false
	}
	n := host.configGet(key)
	if n < 0 {
		return nil, false
	}
	return readResult(n), true
}

// StateGet returns the value the plugin last stored under key with
// StateSet (in this run or an earlier one), and false when there is none
// (or outside a plugin).
func StateGet(key string) ([]byte, bool) {
	if host == nil {
		return nil, false
	}
	n := host.stateGet(key)
	if n < 0 {
		return nil, false
	}
	return readResult(n), true
}

// StateSet stores value under key in the plugin's state, which outlives
// the instance and the run (under the config's settings.state_dir). The
// error is the host's reason (no state_dir, a value too large, ...).
func StateSet(key string, value []byte) error {
	if host == nil {
		return ErrNotInPlugin
	}
	if host.stateSet(key, value) < 0 {
		return fmt.Errorf("state_set %q: %s", key, resultText())
	}
	return nil
}

// HTTP sends req through the host, which allows only the host:port pairs
// of the plugin's allow_network list. An HTTP status of 4xx or 5xx is a
// response, not an error; the error is the host's reason when there is no
// response (denied, unreachable, timed out), also in the response's
// Error.
func HTTP(req abi.HTTPRequest) (abi.HTTPResponse, error) {
	if host == nil {
		return abi.HTTPResponse{}, ErrNotInPlugin
	}
	if req.Method == "" {
		req.Method = "GET"
	}
	in, err := json.Marshal(&req)
	if err != nil {
		return abi.HTTPResponse{}, fmt.Errorf("%s %s: %w", req.Method, safeURL(req.URL), err)
	}
	n := host.httpRequest(in)
	if n < 0 {
		return abi.HTTPResponse{}, fmt.Errorf("%s %s: %s", req.Method, safeURL(req.URL), resultText())
	}
	var resp abi.HTTPResponse
	if err := json.Unmarshal(readResult(n), &resp); err != nil {
		return abi.HTTPResponse{}, fmt.Errorf("%s %s: the host's response is not valid JSON: %w", req.Method, safeURL(req.URL), err)
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("%s %s: %s", req.Method, safeURL(req.URL), resp.Error)
	}
	return resp, nil
}

// safeURL is u for an error message: without user information and query,
// where credentials hide.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(an unparsable URL)"
	}
	p.User, p.RawQuery, p.ForceQuery = nil, "", false
	return p.String()
}

// readResult reads the host's result buffer of n bytes.
func readResult(n int32) []byte {
	buf := make([]byte, n)
	got := host.resultRead(buf)
	return buf[:max(0, min(int(got), len(buf)))]
}

// resultText is the result buffer as a reason, when the host left one
// after a failed call.
func resultText() string {
	const maxReason = 4 << 10
	buf := make([]byte, maxReason)
	got := host.resultRead(buf)
	if got <= 0 {
		return "the host gave no reason"
	}
	return toValidUTF8(string(buf[:min(int(got), len(buf))]))
}
