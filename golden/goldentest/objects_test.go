package goldentest

import (
	"slices"
	"strings"
	"testing"
)

func TestRenderObjects(t *testing.T) {
	got := RenderObjects(map[string][]byte{
		"b/2.jsonl": []byte("{\"a\":1}\n-- out/records --\n"),
		"b/1.jsonl": []byte("{\"a\":2}"),
		"b/3.gz":    {0x1f, 0x8b, 0x08, 0x00}, // sha256sum: fd72d304…
		"b/4.jsonl": {},
	})
	want := `b/1.jsonl (7 bytes)
  {"a":2}
  (no newline at end)
b/2.jsonl (26 bytes)
  {"a":1}
  -- out/records --
b/3.gz (4 bytes)
  sha256 fd72d30440b0bae1b1c6db6c8ad807f238ef3ca613aa7e8d5329e1e8ddf7da72
b/4.jsonl (0 bytes)
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRenderObjectsUnreadableParquet(t *testing.T) {
	got := RenderObjects(map[string][]byte{"x.parquet": []byte("PAR1\x00\x01")})
	if !strings.Contains(got, "  unreadable: ") {
		t.Errorf("a truncated parquet file renders as\n%s\nwant an unreadable line", got)
	}
}

func TestLeaks(t *testing.T) {
	r := &Run{c: &Case{}, vars: map[string]string{VarS3SecretKey: "sekrit-value", VarS3Bucket: "b1-case", VarS3Endpoint: ""}}
	if got := r.Leaks("error: bad key sekrit-value in b1-case"); !slices.Equal(got, []string{VarS3Bucket, VarS3SecretKey}) {
		t.Errorf("Leaks = %v", got)
	}
	if got := r.Leaks("<secret>"); len(got) != 0 {
		t.Errorf("Leaks of a redacted text = %v", got)
	}
}
