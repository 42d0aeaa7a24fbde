package runtime

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestPositionForms(t *testing.T) {
	for _, tc := range []struct {
		pos       Position
		text      string
		json      string
		meta      string
		logJSON   string
		roundTrip bool
	}{
		{Position{Offset: 42}, "42", `{"offset":42}`, `{"position":"42","sequence":42}`, `"position":42`, true},
		{Position{}, "0", `{"offset":0}`, `{"position":"0","sequence":0}`, `"position":0`, true},
		{Position{Offset: 7, Token: "page-7#2"}, "page-7#2", `{"offset":7,"token":"page-7#2"}`,
			`{"position":"page-7#2","sequence":7}`, `"position":{"offset":7,"token":"page-7#2"}`, true},
		{Position{Offset: 1, Token: "3E11FA47-71CA-11E1:1-5,\"q\"\n"}, "3E11FA47-71CA-11E1:1-5,\"q\"\n",
			`{"offset":1,"token":"3E11FA47-71CA-11E1:1-5,\"q\"\n"}`,
			`{"position":"3E11FA47-71CA-11E1:1-5,\"q\"\n","sequence":1}`, `"token":"3E11FA47-71CA-11E1:1-5,\"q\"\n"`, true},
	} {
		if got := tc.pos.String(); got != tc.text {
			t.Errorf("%#v.String() = %q, want %q", tc.pos, got, tc.text)
		}
		b, err := json.Marshal(tc.pos)
		if err != nil || string(b) != tc.json {
			t.Errorf("json.Marshal(%#v) = %s, %v; want %s", tc.pos, b, err, tc.json)
		}
		var back Position
		if err := json.Unmarshal(b, &back); err != nil || back != tc.pos {
			t.Errorf("round trip of %s = %#v, %v", b, back, err)
		}
		r := Record{Position: tc.pos}
		if got := string(AppendMetadata(nil, &r)); got != tc.meta {
			t.Errorf("metadata of %#v = %s, want %s", tc.pos, got, tc.meta)
		}
		if !json.Valid([]byte(tc.meta)) {
			t.Errorf("metadata %s is not JSON", tc.meta)
		}
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "position", tc.pos)
		if !strings.Contains(logs.String(), tc.logJSON) {
			t.Errorf("log of %#v = %s, want %s in it", tc.pos, logs.String(), tc.logJSON)
		}
	}
}

func TestPositionDecoding(t *testing.T) {
	// Every earlier version wrote {"offset":N}; unknown keys are ignored.
	for in, want := range map[string]Position{
		`{"offset":41}`:                       {Offset: 41},
		`{"offset":18446744073709551615}`:     {Offset: 1<<64 - 1},
		`{"offset":3,"token":"s3://b/k"}`:     {Offset: 3, Token: "s3://b/k"},
		`{"token":"c","offset":9,"v":2}`:      {Offset: 9, Token: "c"},
		`{"offset":5,"token":""}`:             {Offset: 5},
		" \n{\"offset\":6} ":                  {Offset: 6},
		`{"offset":2,"token":"caf\u00e9"}`:    {Offset: 2, Token: "café"},
		`{"offset":2,"token":"\ud83d\ude00"}`: {Offset: 2, Token: "😀"},
	} {
		got, err := decodePosition([]byte(in))
		if err != nil || got != want {
			t.Errorf("decodePosition(%s) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		`{}`:                        `state holds no position: "{}"`,
		`{"token":"page-1"}`:        `state holds no position: "{\"token\":\"page-1\"}"`,
		`{"offset":-1}`:             "state holds no position (json: cannot unmarshal",
		`{"offset":"7"}`:            "state holds no position (json: cannot unmarshal",
		`{"offset":1,"token":7}`:    "state holds no position (json: cannot unmarshal",
		`41`:                        "state holds no position (json: cannot unmarshal",
		`{"offset":1`:               "state holds no position (unexpected end of JSON input)",
		``:                          "state holds no position (unexpected end of JSON input)",
		`{"offset":1,"token":"a"}x`: "state holds no position (invalid character 'x' after top-level value)",
	} {
		_, err := decodePosition([]byte(in))
		if err == nil || !strings.HasPrefix(err.Error(), why) {
			t.Errorf("decodePosition(%q) = %v, want %q…", in, err, why)
		}
	}
}

func TestPositionRefusesATokenJSONWouldAlter(t *testing.T) {
	_, err := encodePosition(Position{Offset: 12, Token: "a\xffb"})
	if err == nil || err.Error() != "the token of position 12 is not valid UTF-8 text" {
		t.Fatalf("got %v", err)
	}
}

func TestPositionLess(t *testing.T) {
	a, b := Position{Offset: 1, Token: "z"}, Position{Offset: 2, Token: "a"}
	if !a.Less(b) || b.Less(a) || a.Less(a) {
		t.Error("Less must order by Offset alone")
	}
}

func TestAckTrackerReturnsTheSourcesToken(t *testing.T) {
	tr := NewAckTracker(nil)
	ids := make([]SegmentID, 3)
	for i := range ids {
		for j := range 3 {
			o := uint64(i*3 + j)
			tr.Extend(Position{Offset: o, Token: "page-" + string(rune('a'+i)) + "#" + string(rune('1'+j))})
		}
		ids[i] = tr.Current()
		tr.Hold(ids[i])
		tr.Close()
	}
	tr.Release(ids[2]) // completes out of order
	if _, ok := tr.Acked(); ok {
		t.Fatal("acknowledged past two incomplete segments")
	}
	tr.Release(ids[0])
	if p, ok := tr.Acked(); !ok || p != (Position{Offset: 2, Token: "page-a#3"}) {
		t.Fatalf("acked %#v, want the last position of the first segment", p)
	}
	tr.Release(ids[1])
	if p, _ := tr.Acked(); p != (Position{Offset: 8, Token: "page-c#3"}) {
		t.Fatalf("acked %#v once the gap closed", p)
	}
}
