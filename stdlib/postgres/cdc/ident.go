package cdc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Identifiers. config.tables, config.schemas and config.publication write
// names the way SQL does: unquoted (users) or double-quoted ("Order Items",
// with "" for a " inside); a table is name or schema.name, split at the dot
// outside quotes. The source keeps the exact names (what the catalogs and
// the relation messages hold) and quotes every one of them (quote) in the
// statements and replication commands it sends, so no name is ever read as
// SQL.

// maxName is the longest name PostgreSQL keeps, in bytes (NAMEDATALEN-1):
// it would silently truncate a longer one.
const maxName = 63

// CheckName reports whether name, an exact (literal, unquoted) name such as
// a `streams` entry's name or namespace, can name a PostgreSQL table or
// schema: not empty, valid UTF-8, no NUL, at most 63 bytes. The error says
// what is wrong without repeating the name.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty")
	case !utf8.ValidString(name):
		return errors.New("the name is not valid UTF-8")
	case strings.IndexByte(name, 0) >= 0:
		return errors.New("the name contains NUL, which PostgreSQL names cannot hold")
	case len(name) > maxName:
		return fmt.Errorf("the name is %d bytes long, and PostgreSQL names have at most %d bytes (it would truncate a longer one)", len(name), maxName)
	}
	return nil
}

// QuoteName returns the spelling of the exact name name in config.tables,
// config.schemas or config.publication (what parseName reads back as name):
// name itself when it is a plain lower-case identifier (a lower-case ASCII
// letter or _, then such letters, digits, _ or $), else name in double
// quotes with each " doubled — "Order Items", "Users", "Ümlaut".
func QuoteName(name string) string {
	if plainName(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// plainName reports whether name needs no quotes to be read as itself (by
// parseName, and by PostgreSQL unless it is a reserved word).
func plainName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '$')) {
			return false
		}
	}
	return true
}

// parseName reads s, one name written as SQL writes it, and returns the
// exact name. Unquoted, a name is a letter or _ followed by letters,
// digits, _ or $ (non-ASCII letters, digits and marks included); it must
// not have upper-case ASCII letters, which PostgreSQL would fold to lower
// case (Users is the table users, yet usually means the table created as
// "Users"), so the error offers both spellings. Double-quoted, a name holds
// any characters but NUL, with "" for a ". Either way it has at most 63
// bytes. what ("schema", "publication") names the kind of object in the
// suggestions.
func parseName(what, s string) (string, error) {
	p, rest, err := scanName(s)
	if err != nil {
		return "", err
	}
	if rest != "" {
		return "", trailing(s, rest)
	}
	if err := caseError(what, p); err != nil {
		return "", err
	}
	return p.name, nil
}

// parseTable reads s, a table written as name or schema.name (SQL
// spelling, see parseName); schema is "" when s names none.
func parseTable(s string) (schema, name string, err error) {
	first, rest, err := scanName(s)
	if err != nil {
		return "", "", err
	}
	if rest == "" {
		return "", first.name, caseError("table", first)
	}
	if rest[0] != '.' {
		return "", "", trailing(s, rest)
	}
	if rest == "." {
		return "", "", errors.New("the table name after the . is empty")
	}
	second, rest2, err := scanName(rest[1:])
	if err != nil {
		return "", "", err
	}
	if rest2 != "" {
		if rest2[0] == '.' {
			return "", "", errors.New("write name or schema.name: it has more than one . outside double quotes (a database name cannot be given here)")
		}
		return "", "", trailing(s, rest2)
	}
	return first.name, second.name, caseError("table", first, second)
}

// trailing is the error for text after a complete name.
func trailing(s, rest string) error {
	done := echo(s[:len(s)-len(rest)])
	r, _ := utf8.DecodeRuneInString(rest)
	if r == '.' {
		return fmt.Errorf("%s is followed by a . outside double quotes: a name with a dot in it is written in double quotes", done)
	}
	return fmt.Errorf("%s is followed by %s: a quoted name ends at its closing \" (write \"\" for a \" inside it)", done, strconv.QuoteRune(r))
}

// scanned is a name as read: exact, and whether it was written unquoted.
type scanned struct {
	name     string
	unquoted bool
}

// scanName reads the name at the start of s, returning it and what
// follows it (empty, or starting with a character that cannot follow a
// name: . or, after a quoted name, anything).
func scanName(s string) (p scanned, rest string, err error) {
	if s == "" {
		return p, "", errors.New("the name is empty")
	}
	if s[0] == '"' {
		var b strings.Builder
		i := 1
		for {
			j := strings.IndexByte(s[i:], '"')
			if j < 0 {
				return p, "", fmt.Errorf("the double quote that opens %s is never closed", echo(s))
			}
			b.WriteString(s[i : i+j])
			i += j + 1
			if i < len(s) && s[i] == '"' { // "" is one " inside the name
				b.WriteByte('"')
				i++
				continue
			}
			break
		}
		p.name = b.String()
		if p.name == "" {
			return p, "", errors.New(`"" is an empty name`)
		}
		if err := CheckName(p.name); err != nil {
			return p, "", err
		}
		return p, s[i:], nil
	}
	i := 0
	for i < len(s) && s[i] != '.' {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return p, "", errors.New("the name is not valid UTF-8")
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= utf8.RuneSelf && unicode.IsLetter(r):
		case i > 0 && (r >= '0' && r <= '9' || r == '$' || r >= utf8.RuneSelf && (unicode.IsDigit(r) || unicode.IsMark(r))):
		case i == 0:
			return p, "", fmt.Errorf("an unquoted name starts with a letter or _, not %s: write the name in double quotes if it really starts so", strconv.QuoteRune(r))
		case r == '"':
			return p, "", fmt.Errorf("a \" at character %d: double quotes enclose a whole name (\"…\", with \"\" for a \" inside it)", utf8.RuneCountInString(s[:i])+1)
		default:
			return p, "", fmt.Errorf("%s cannot appear in an unquoted name (character %d): write the name in double quotes (\"…\", with \"\" for a \" inside it) if it has that character",
				strconv.QuoteRune(r), utf8.RuneCountInString(s[:i])+1)
		}
		i += size
	}
	p.name, p.unquoted = s[:i], true
	if p.name == "" {
		return p, "", errors.New("the name before the . is empty")
	}
	if len(p.name) > maxName {
		return p, "", fmt.Errorf("%s is %d bytes long, and PostgreSQL names have at most %d bytes (it would truncate a longer one)", p.name, len(p.name), maxName)
	}
	return p, s[i:], nil
}

// caseError refuses unquoted names with upper-case ASCII letters:
// PostgreSQL folds them to lower case, but whoever writes Users usually
// means the table created as "Users". The error offers both spellings of
// the whole (schema.)name.
func caseError(what string, parts ...scanned) error {
	var exact, folded []string
	differ := false
	for _, p := range parts {
		f := p.name
		if p.unquoted {
			f = strings.Map(asciiLower, p.name)
		}
		differ = differ || f != p.name
		exact = append(exact, QuoteName(p.name))
		folded = append(folded, QuoteName(f))
	}
	if !differ {
		return nil
	}
	ex, fo := strings.Join(exact, "."), strings.Join(folded, ".")
	as := ex
	if strings.HasPrefix(ex, `"`) {
		// A YAML scalar that starts with " is a YAML string: the quotes
		// would not reach the config.
		as += " (in YAML: " + shown(ex) + ")"
	}
	return fmt.Errorf("PostgreSQL folds unquoted names to lower case, so this means %s: for the %s created as %s write %s, else write %s",
		fo, what, ex, as, fo)
}

func asciiLower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + ('a' - 'A')
	}
	return r
}

// echo is a fragment of a configured name for a message: as it is when
// printable, else Go-quoted.
func echo(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// shown writes a configured name for a message: in YAML single quotes when
// it is printable (so a name written with double quotes shows them as the
// user wrote them: '"Order Items"'), else Go-quoted.
func shown(s string) string {
	if e := echo(s); e != s {
		return e
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// String is the table as messages and logs show it: schema.name, each
// part double-quoted unless it is a plain lower-case name
// (public."Order Items").
func (t table) String() string { return QuoteName(t.schema) + "." + QuoteName(t.name) }

// publicationNames is pgoutput's publication_names option naming the
// publication pub. The server reads the option's value as a
// comma-separated list of identifiers (SplitIdentifierString: unquoted ones
// folded to lower case, "" for a " in a quoted one), so the name is
// double-quoted there, and the whole value is a string literal of the
// replication command, whose ' are doubled.
func publicationNames(pub string) string {
	return "publication_names '" + strings.ReplaceAll(quote(pub), "'", "''") + "'"
}
