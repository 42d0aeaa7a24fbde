package config

import (
	"reflect"
	"testing"
)

func TestLookupAndNearest(t *testing.T) {
	root := parseOK(t, "a:\n  b:\n    - x\n    - {c: 1}\n", noEnv)
	if n := root.Lookup("a", "b", "1", "c"); n == nil || n.Text != "1" {
		t.Errorf("Lookup a.b[1].c = %+v", n)
	}
	for _, path := range [][]string{{"nope"}, {"a", "b", "2"}, {"a", "b", "-1"}, {"a", "b", "x"}, {"a", "b", "0", "deeper"}} {
		if n := root.Lookup(path...); n != nil {
			t.Errorf("Lookup %v = %+v, want nil", path, n)
		}
	}
	if root.Lookup() != root {
		t.Error("Lookup() is not the node itself")
	}
	var nilNode *Node
	if nilNode.Get("a") != nil || nilNode.Lookup("a") != nil {
		t.Error("a nil node answered")
	}
	if root.Get("a").Lookup("b").Get("0") != nil {
		t.Error("Get on a list answered")
	}
	n, used := root.Nearest("a", "b", "1", "zzz", "more")
	if used != 3 || n != root.Lookup("a", "b", "1") {
		t.Errorf("Nearest = %+v, %d", n, used)
	}
	if n, used := root.Nearest("a"); used != 1 || n != root.Get("a") {
		t.Errorf("Nearest(a) = %+v, %d", n, used)
	}
}

func TestInterface(t *testing.T) {
	root := parseOK(t, "m: {i: 7, f: 1.5, b: false, s: x, n: null, l: [1, two]}\n", noEnv)
	want := map[string]any{"m": map[string]any{"i": int64(7), "f": 1.5, "b": false, "s": "x", "n": nil, "l": []any{int64(1), "two"}}}
	if got := root.Interface(); !reflect.DeepEqual(got, want) {
		t.Errorf("Interface = %#v", got)
	}
	var nilNode *Node
	if nilNode.Interface() != nil {
		t.Error("nil node")
	}
}

func TestDescribe(t *testing.T) {
	root := parseOK(t, "s: abc\ni: 7\nm: {}\nl: []\nn: null\ne: ${E:-secret}\n", noEnv)
	for key, want := range map[string]string{"s": `string "abc"`, "i": "int 7", "m": "map", "l": "list", "n": "null", "e": "string from ${E}"} {
		if got := root.Get(key).Describe(); got != want {
			t.Errorf("%s: Describe = %q, want %q", key, got, want)
		}
	}
}

func TestJoinPath(t *testing.T) {
	for _, tt := range []struct {
		path []string
		want string
	}{
		{nil, ""},
		{[]string{"sources", "demo", "config"}, "sources.demo.config"},
		{[]string{"pipelines", "p", "transforms", "0"}, "pipelines.p.transforms[0]"},
		{[]string{"a b", "x.y"}, `"a b"."x.y"`},
		{[]string{"0", "k"}, "[0].k"},
		{[]string{"with-dash_ok"}, "with-dash_ok"},
	} {
		if got := JoinPath(tt.path); got != tt.want {
			t.Errorf("JoinPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if Seq.String() != "list" || Map.String() != "map" || Null.String() != "null" {
		t.Error("kind names changed")
	}
}
