package goldentest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hamba/avro/v2/ocf"
	"github.com/parquet-go/parquet-go"
)

// RenderObjects renders a bucket's objects (key → bytes) as the section
// out/objects: the objects in key order, each a header line
//
//	KEY (SIZE bytes)
//
// followed by its content, every line indented by two spaces. A text
// object (valid UTF-8 without control characters but tab and newline:
// uncompressed JSON lines) shows its content verbatim, and "  (no newline
// at end)" when its last line has none. A binary object shows
// "  sha256 HEX", then, for a Parquet file, its schema and one line per
// row, and for an Avro container file its schema and one JSON line per
// record: the hash pins the bytes, the decoded view makes a change
// reviewable. Equal renderings mean equal object sets: same keys, same
// bytes.
func RenderObjects(objs map[string][]byte) string {
	keys := make([]string, 0, len(objs))
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		data := objs[k]
		fmt.Fprintf(&b, "%s (%d bytes)\n", k, len(data))
		if isText(data) {
			writeIndented(&b, string(data))
			if len(data) > 0 && data[len(data)-1] != '\n' {
				b.WriteString("  (no newline at end)\n")
			}
			continue
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "  sha256 %s\n", hex.EncodeToString(sum[:]))
		var view string
		var err error
		switch {
		case bytes.HasPrefix(data, []byte("PAR1")):
			view, err = parquetView(data)
		case bytes.HasPrefix(data, []byte("Obj\x01")):
			view, err = avroView(data)
		}
		if err != nil {
			view = "unreadable: " + err.Error() + "\n"
		}
		writeIndented(&b, view)
	}
	return b.String()
}

// isText reports whether data shows as text in a golden file.
func isText(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for _, c := range data {
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// writeIndented writes text's lines, each indented by two spaces.
func writeIndented(b *strings.Builder, text string) {
	for line := range strings.Lines(text) {
		b.WriteString("  ")
		b.WriteString(strings.TrimSuffix(line, "\n"))
		b.WriteByte('\n')
	}
}

// parquetView renders a Parquet file's schema and rows (column=value,
// null for a null value).
func parquetView(data []byte) (string, error) {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "parquet %d rows\n", f.NumRows())
	b.WriteString(strings.TrimRight(f.Schema().String(), "\n") + "\n")
	var names []string
	for _, path := range f.Schema().Columns() {
		names = append(names, strings.Join(path, "."))
	}
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				parts := make([]string, 0, len(row))
				for _, v := range row {
					name := "?"
					if c := v.Column(); c >= 0 && c < len(names) {
						name = names[c]
					}
					s := "null"
					if !v.IsNull() {
						s = v.String()
					}
					parts = append(parts, name+"="+s)
				}
				b.WriteString(strings.Join(parts, " ") + "\n")
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return "", err
			}
		}
		if err := rows.Close(); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// avroView renders an Avro container file's schema and records (JSON,
// keys sorted).
func avroView(data []byte) (string, error) {
	dec, err := ocf.NewDecoder(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	var recs []string
	for dec.HasNext() {
		var v any
		if err := dec.Decode(&v); err != nil {
			return "", err
		}
		j, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		recs = append(recs, string(j))
	}
	if err := dec.Error(); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "avro %d records\n", len(recs))
	b.WriteString(dec.Schema().String() + "\n")
	for _, r := range recs {
		b.WriteString(r + "\n")
	}
	return b.String(), nil
}
