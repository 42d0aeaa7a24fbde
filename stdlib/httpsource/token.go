package httpsource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/rivven/rivven-connect/runtime"
)

// pageReq names one page: its request (the cursor, the Link URL or the
// page number that fetches it; nothing for the first page of the cursor
// and link styles and without pagination) and Skip, the number of its
// first records that were delivered already and are not delivered again.
type pageReq struct {
	Cursor string
	Link   string // path and query on the url's host (see linkToken)
	Page   int64
	Skip   int
}

// token is the resume point of r as a record's Position.Token: a compact
// JSON object holding the style's key and, when not 0, skip:
//
//	cursor style  {"cursor":"c2"}  {"cursor":"","skip":3}  ("" = the first page)
//	link style    {"link":"/items?after=40"}  ({"link":""} = the first page)
//	page style    {"page":7}  {"page":7,"skip":3}
//	none          {"skip":0}  {"skip":3}
func (st style) token(r pageReq) string {
	buf := make([]byte, 0, 32+len(r.Cursor)+len(r.Link))
	buf = append(buf, '{')
	switch st {
	case styleCursor:
		buf = append(buf, `"cursor":`...)
		buf = runtime.AppendJSONString(buf, r.Cursor)
	case styleLink:
		buf = append(buf, `"link":`...)
		buf = runtime.AppendJSONString(buf, r.Link)
	case stylePage:
		buf = append(buf, `"page":`...)
		buf = strconv.AppendInt(buf, r.Page, 10)
	default:
		buf = append(buf, `"skip":`...)
		buf = strconv.AppendInt(buf, int64(r.Skip), 10)
		return string(append(buf, '}'))
	}
	if r.Skip > 0 {
		buf = append(buf, `,"skip":`...)
		buf = strconv.AppendInt(buf, int64(r.Skip), 10)
	}
	return string(append(buf, '}'))
}

// parse reads a token of style st back. A token of another style (the
// pagination changed since it was written) or of another source is an
// error saying how to start over.
func (st style) parse(tok string) (pageReq, error) {
	var v struct {
		Cursor *string `json:"cursor"`
		Link   *string `json:"link"`
		Page   *int64  `json:"page"`
		Skip   *int    `json:"skip"`
	}
	d := json.NewDecoder(bytes.NewReader([]byte(tok)))
	d.DisallowUnknownFields()
	want := map[style]string{styleCursor: "a cursor", styleLink: "a Link URL", stylePage: "a page number", styleNone: "a record count"}[st]
	bad := func() (pageReq, error) {
		if tok == "" {
			return pageReq{}, fmt.Errorf("the saved position holds no page (a state file written by an earlier version or another source): delete the pipeline's state file in state_dir to read from the first page")
		}
		return pageReq{}, fmt.Errorf("the saved position %s does not hold %s, which the configured pagination resumes from (did the pagination change?): delete the pipeline's state file in state_dir to read from the first page", tok, want)
	}
	if err := d.Decode(&v); err != nil || d.More() {
		return bad()
	}
	set := map[style]bool{styleCursor: v.Cursor != nil, styleLink: v.Link != nil, stylePage: v.Page != nil}
	for s, ok := range set {
		if ok != (s == st) {
			return bad()
		}
	}
	var r pageReq
	if v.Skip != nil {
		if *v.Skip < 0 {
			return bad()
		}
		r.Skip = *v.Skip
	} else if st == styleNone {
		return bad()
	}
	switch st {
	case styleCursor:
		r.Cursor = *v.Cursor
	case styleLink:
		r.Link = *v.Link
	case stylePage:
		r.Page = *v.Page
	}
	return r, nil
}
