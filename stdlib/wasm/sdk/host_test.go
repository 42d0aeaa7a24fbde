package sdk

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// fakeHost is the "rivven" module as the host implements it, in memory.
type fakeHost struct {
	logs   []string
	config map[string]string
	state  map[string]string
	noDir  bool // state_set fails, as without settings.state_dir
	http   func(abi.HTTPRequest) abi.HTTPResponse
	result []byte
}

func (h *fakeHost) log(level int32, msg string) {
	h.logs = append(h.logs, levelName(Level(level))+" "+msg)
}
func (h *fakeHost) nowMs() int64 { return 1234 }
func (h *fakeHost) configGet(key string) int32 {
	v, ok := h.config[key]
	if !ok {
		return -1
	}
	h.result = []byte(v)
	return int32(len(v))
}
func (h *fakeHost) stateGet(key string) int32 {
	v, ok := h.state[key]
	if !ok {
		return -1
	}
	h.result = []byte(v)
	return int32(len(v))
}
func (h *fakeHost) stateSet(key string, value []byte) int32 {
	if h.noDir {
		h.result = []byte("the config has no settings.state_dir")
		return -1
	}
	h.state[key] = string(value)
	return 0
}
func (h *fakeHost) httpRequest(req []byte) int32 {
	var r abi.HTTPRequest
	if err := json.Unmarshal(req, &r); err != nil {
		panic(err)
	}
	h.result, _ = json.Marshal(h.http(r))
	return int32(len(h.result))
}
func (h *fakeHost) resultRead(dst []byte) int32 { return int32(copy(dst, h.result)) }

func withHost(t *testing.T, h hostFuncs) {
	old := host
	host = h
	t.Cleanup(func() { host = old })
}

func TestHostFunctionsOutsideAPlugin(t *testing.T) {
	withHost(t, nil)
	if err := StateSet("k", nil); !errors.Is(err, ErrNotInPlugin) {
		t.Fatalf("StateSet: %v", err)
	}
	if _, err := HTTP(abi.HTTPRequest{URL: "http://x"}); !errors.Is(err, ErrNotInPlugin) {
		t.Fatalf("HTTP: %v", err)
	}
	if _, ok := Config("k"); ok {
		t.Fatal("Config found a key outside a plugin")
	}
	if NowMs() <= 0 {
		t.Fatal("NowMs")
	}
}

func TestHostFunctions(t *testing.T) {
	h := &fakeHost{config: map[string]string{"fields": `["a","b"]`}, state: map[string]string{}}
	withHost(t, h)
	Logf(LevelWarn, "n=%d", 3)
	if strings.Join(h.logs, "|") != "warn n=3" {
		t.Fatalf("logs %q", h.logs)
	}
	if NowMs() != 1234 {
		t.Fatal("NowMs did not ask the host")
	}
	if v, ok := Config("fields"); !ok || string(v) != `["a","b"]` {
		t.Fatalf("Config %s %v", v, ok)
	}
	if _, ok := Config("nope"); ok {
		t.Fatal("Config found a missing key")
	}
	if _, ok := StateGet("n"); ok {
		t.Fatal("StateGet found a missing key")
	}
	if err := StateSet("n", []byte("7")); err != nil {
		t.Fatal(err)
	}
	if v, ok := StateGet("n"); !ok || string(v) != "7" {
		t.Fatalf("StateGet %q %v", v, ok)
	}
	h.noDir = true
	if err := StateSet("n", []byte("8")); err == nil || err.Error() != `state_set "n": the config has no settings.state_dir` {
		t.Fatalf("StateSet: %v", err)
	}
}

func TestHTTP(t *testing.T) {
	h := &fakeHost{}
	withHost(t, h)
	h.http = func(r abi.HTTPRequest) abi.HTTPResponse {
		if r.Method != "GET" || r.URL != "http://api:8080/v1?token=s3cret" {
			t.Errorf("request %+v", r)
		}
		return abi.HTTPResponse{Status: 404, Body: []byte("no such thing")}
	}
	resp, err := HTTP(abi.HTTPRequest{URL: "http://api:8080/v1?token=s3cret"})
	if err != nil || resp.Status != 404 || string(resp.Body) != "no such thing" {
		t.Fatalf("resp %+v err %v; a 404 is a response", resp, err)
	}
	h.http = func(abi.HTTPRequest) abi.HTTPResponse {
		return abi.HTTPResponse{Error: "api:8080 is not in allow_network"}
	}
	_, err = HTTP(abi.HTTPRequest{Method: "POST", URL: "http://user:pw@api:8080/v1?token=s3cret"})
	if err == nil || err.Error() != "POST http://api:8080/v1: api:8080 is not in allow_network" {
		t.Fatalf("err %v; want the host's reason, the URL without credentials", err)
	}
}

// A plugin's functions may call the host during a call: the frame is not
// disturbed by the result buffer.
func TestHostCallsInsideATransform(t *testing.T) {
	h := &fakeHost{state: map[string]string{}}
	withHost(t, h)
	p := &plugin{}
	p.registerTransform(Manifest{Name: "count", Version: "1"}, func(b *Batch) error {
		for _, r := range b.All() {
			v, _ := StateGet("n")
			n := string(v) + "x"
			if err := StateSet("n", []byte(n)); err != nil {
				return err
			}
			r.Set("n", String(n))
		}
		return nil
	})
	result(t, p.init(initReq("transform", "{}")))
	f := result(t, p.transformCall(abi.AppendBatch(nil, people())))
	wantStatus(t, f, abi.StatusOK, "")
	out, err := abi.ParseBatch(f.Payload)
	if err != nil || out.Records[1].After[3].Str != "xx" {
		t.Fatalf("out %+v %v", out, err)
	}
	h.noDir = true
	wantStatus(t, result(t, p.transformCall(abi.AppendBatch(nil, people()))), abi.StatusError, "no settings.state_dir")
}
