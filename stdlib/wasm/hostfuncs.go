package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/rivven/rivven-connect/runtime"
	"github.com/rivven/rivven-connect/stdlib/wasm/abi"
)

// maxHostData bounds what one host call reads from or returns to a plugin.
const maxHostData = 8 << 20

// instantiateHost defines the "rivven" host module in rt. Its functions
// find their instance in the call's context.
func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.HostModule)
	b.NewFunctionBuilder().WithFunc(hostLog).Export(abi.HostLog)
	b.NewFunctionBuilder().WithFunc(func() int64 { return time.Now().UnixMilli() }).Export(abi.HostNowMs)
	b.NewFunctionBuilder().WithFunc(hostConfigGet).Export(abi.HostConfigGet)
	b.NewFunctionBuilder().WithFunc(hostStateGet).Export(abi.HostStateGet)
	b.NewFunctionBuilder().WithFunc(hostStateSet).Export(abi.HostStateSet)
	b.NewFunctionBuilder().WithFunc(hostHTTPRequest).Export(abi.HostHTTPRequest)
	b.NewFunctionBuilder().WithFunc(hostResultRead).Export(abi.HostResultRead)
	_, err := b.Instantiate(ctx)
	return err
}

func instanceOf(ctx context.Context) *instance {
	in, _ := ctx.Value(instanceKey{}).(*instance)
	return in
}

// read returns a copy of the plugin's memory at ptr+n ("" and false when
// out of bounds or too large).
func read(m api.Module, ptr, n uint32) ([]byte, bool) {
	if n > maxHostData {
		return nil, false
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return nil, false
	}
	return bytes.Clone(b), true
}

// setResult stores data in the result buffer and returns its length.
func (in *instance) setResult(data []byte) int32 {
	in.result = append(in.result[:0], data...)
	return int32(len(in.result))
}

func hostLog(ctx context.Context, m api.Module, level, ptr, n uint32) {
	in := instanceOf(ctx)
	if in == nil {
		return
	}
	b, ok := read(m, ptr, min(n, 64<<10))
	if !ok {
		return
	}
	lv := map[uint32]slog.Level{abi.LogDebug: slog.LevelDebug, abi.LogInfo: slog.LevelInfo, abi.LogWarn: slog.LevelWarn, abi.LogError: slog.LevelError}[level]
	in.log.Log(ctx, lv, in.redact(string(b)), "plugin", in.p.Name)
}

func hostConfigGet(ctx context.Context, m api.Module, kptr, klen uint32) int32 {
	in := instanceOf(ctx)
	k, ok := read(m, kptr, klen)
	if in == nil || !ok {
		return -1
	}
	v := in.p.Config
	if len(k) > 0 {
		o := v.AsObject()
		if o == nil {
			return -1
		}
		if v, ok = o.Get(string(k)); !ok {
			return -1
		}
	}
	return in.setResult(runtime.AppendJSON(nil, v))
}

func hostStateGet(ctx context.Context, m api.Module, kptr, klen uint32) int32 {
	in := instanceOf(ctx)
	k, ok := read(m, kptr, klen)
	if in == nil || !ok {
		return -1
	}
	st, err := stateOf(in.p)
	if err != nil {
		return -1
	}
	v, ok := st.get(string(k))
	if !ok {
		return -1
	}
	return in.setResult(v)
}

func hostStateSet(ctx context.Context, m api.Module, kptr, klen, vptr, vlen uint32) int32 {
	in := instanceOf(ctx)
	if in == nil {
		return -1
	}
	k, ok1 := read(m, kptr, klen)
	v, ok2 := read(m, vptr, vlen)
	if !ok1 || !ok2 {
		in.setResult([]byte("state_set: key or value outside the plugin's memory"))
		return -1
	}
	st, err := stateOf(in.p)
	if err == nil {
		err = st.set(string(k), v)
	}
	if err != nil {
		in.setResult([]byte(err.Error()))
		return -1
	}
	return 0
}

func hostResultRead(ctx context.Context, m api.Module, ptr, n uint32) int32 {
	in := instanceOf(ctx)
	if in == nil {
		return 0
	}
	c := min(int(n), len(in.result))
	if !m.Memory().Write(ptr, in.result[:c]) {
		return 0
	}
	return int32(c)
}

func hostHTTPRequest(ctx context.Context, m api.Module, ptr, n uint32) int32 {
	in := instanceOf(ctx)
	if in == nil {
		return -1
	}
	resp := in.httpRequest(ctx, m, ptr, n)
	if resp.Error != "" {
		resp.Error = in.redact(resp.Error)
	}
	b, _ := json.Marshal(resp)
	return in.setResult(b)
}

// httpRequest performs a plugin's request if its host is allowed.
func (in *instance) httpRequest(ctx context.Context, m api.Module, ptr, n uint32) abi.HTTPResponse {
	raw, ok := read(m, ptr, n)
	if !ok {
		return abi.HTTPResponse{Error: "http_request: request outside the plugin's memory or larger than 8 MiB"}
	}
	var req abi.HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return abi.HTTPResponse{Error: "http_request: the request is not valid JSON: " + err.Error()}
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return abi.HTTPResponse{Error: fmt.Sprintf("http_request: %q is not an http or https URL", req.URL)}
	}
	if err := in.allowed(u); err != nil {
		return abi.HTTPResponse{Error: err.Error()}
	}
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	if req.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return abi.HTTPResponse{Error: "http_request: " + err.Error()}
	}
	for k, vs := range req.Headers {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	if in.client == nil {
		in.client = &http.Client{CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return fmt.Errorf("stopped after 10 redirects")
			}
			return in.allowed(r.URL)
		}}
	}
	res, err := in.client.Do(hr)
	if err != nil {
		return abi.HTTPResponse{Error: "http_request: " + err.Error()}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxHostData+1))
	if err != nil {
		return abi.HTTPResponse{Error: "http_request: reading the response: " + err.Error()}
	}
	if len(body) > maxHostData {
		return abi.HTTPResponse{Error: "http_request: the response body is larger than 8 MiB"}
	}
	return abi.HTTPResponse{Status: res.StatusCode, Headers: res.Header, Body: body}
}

// allowed refuses a URL whose host:port is not in the plugin's
// allow_network list.
func (in *instance) allowed(u *url.URL) error {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	hp := net.JoinHostPort(u.Hostname(), port)
	if slices.Contains(in.p.Network, hp) {
		return nil
	}
	if len(in.p.Network) == 0 {
		return fmt.Errorf("http_request to %s denied: plugin %q has no allow_network list, so it may reach no host", hp, in.p.Name)
	}
	return fmt.Errorf("http_request to %s denied: it is not in plugin %q's allow_network list", hp, in.p.Name)
}
