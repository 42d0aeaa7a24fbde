package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// Position locates a record in its source. It has two parts, and the
// runtime — the AckTracker, the driver, the state_dir file, dead letters,
// error texts, logs, the health report and `status` — carries both without
// knowing what they mean:
//
//   - Offset orders the records of one run of a source. It is all that
//     sources need whose position is one increasing number (datagen's
//     sequence), or that keep their durable position server-side and only
//     number their records (postgres-cdc, the broker source).
//   - Token is the source's own resume point, opaque to the runtime: a
//     MySQL GTID set, a binlog "file:offset", an S3 object key, an HTTP
//     cursor. It is empty for the sources above.
//
// What a source guarantees:
//
//  1. Offsets increase strictly in the order Read returns the records,
//     within one run (Open to Close). The AckTracker acknowledges the last
//     position of a contiguous prefix in that order, and the driver never
//     compares anything else; in particular it never compares the Offsets
//     of different runs, so a source may number each run from anywhere. A
//     Resumable source that numbers on after the resumed Offset keeps the
//     acknowledged position increasing across restarts as well, which
//     makes `status` easier to read.
//  2. A record's position, as Ack or (after a restart, read back from
//     state_dir) Resume hands it back, is enough for the source to go on
//     after that record and every record before it: the Token alone when
//     the source sets tokens, else the Offset. Resuming may produce again
//     records at or before that position (at-least-once), never skip one
//     after it. So a record in the middle of an indivisible unit (a
//     transaction, a page) may carry the token of the unit's start.
//  3. A source sets a Token on every record, or on none.
//  4. A Token is UTF-8 text and never holds a secret (a password, a signed
//     URL, an API key): it is written to the state file, logs, error texts,
//     dead letters, record metadata and the health report. The state file
//     refuses a Token that is not valid UTF-8 rather than alter it.
//
// Positions compare with ==; Less orders them.
type Position struct {
	// Offset orders the records of one run of a source (see above).
	Offset uint64
	// Token is the source's resume point as text; "" = none (the Offset
	// is the source's position).
	Token string
}

// Less reports whether p comes before q in the order a source emitted
// them: it compares Offsets only (Tokens are opaque). Positions of
// different runs do not compare meaningfully.
func (p Position) Less(q Position) bool { return p.Offset < q.Offset }

// String returns the position as error texts, dead letters (their
// position field) and record metadata (metadata.position) show it: the
// Token when there is one, else the decimal Offset.
func (p Position) String() string {
	if p.Token != "" {
		return p.Token
	}
	return strconv.FormatUint(p.Offset, 10)
}

// appendQuoted appends String's text as a JSON string without allocating.
func (p Position) appendQuoted(buf []byte) []byte {
	if p.Token != "" {
		return AppendJSONString(buf, p.Token)
	}
	buf = append(buf, '"')
	buf = strconv.AppendUint(buf, p.Offset, 10)
	return append(buf, '"')
}

// LogValue makes a position log as its Offset, a number, when it has no
// Token (as every earlier version logged positions), and as the group
// {offset, token} when it has one.
func (p Position) LogValue() slog.Value {
	if p.Token == "" {
		return slog.Uint64Value(p.Offset)
	}
	return slog.GroupValue(slog.Uint64("offset", p.Offset), slog.String("token", p.Token))
}

// MarshalJSON returns the position's JSON form, the one the state_dir file
// holds: {"offset":N} without a Token (byte for byte what earlier versions
// wrote), {"offset":N,"token":"…"} with one. A Token that is not valid
// UTF-8 is an error: JSON would silently replace its bytes.
func (p Position) MarshalJSON() ([]byte, error) {
	if !utf8.ValidString(p.Token) {
		return nil, fmt.Errorf("the token of position %d is not valid UTF-8 text", p.Offset)
	}
	buf := append(make([]byte, 0, 24+len(p.Token)), `{"offset":`...)
	buf = strconv.AppendUint(buf, p.Offset, 10)
	if p.Token != "" {
		buf = append(buf, `,"token":`...)
		buf = AppendJSONString(buf, p.Token)
	}
	return append(buf, '}'), nil
}

// errNoOffset is UnmarshalJSON's error for an object without "offset".
var errNoOffset = errors.New(`no "offset"`)

// UnmarshalJSON reads MarshalJSON's form; both {"offset":N} (every
// earlier version's state file) and {"offset":N,"token":"…"} are valid,
// unknown keys are ignored, and an object without "offset" is an error.
func (p *Position) UnmarshalJSON(b []byte) error {
	var v struct {
		Offset *uint64 `json:"offset"`
		Token  string  `json:"token"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Offset == nil {
		return errNoOffset
	}
	*p = Position{Offset: *v.Offset, Token: v.Token}
	return nil
}
