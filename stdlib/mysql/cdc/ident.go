package cdc

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// table is a table by its exact names.
type table struct{ db, name string }

// String shows the table as SQL writes it.
func (t table) String() string { return quoteIdent(t.db) + "." + quoteIdent(t.name) }

// quoteIdent backquotes a name for SQL (“ for a backquote inside).
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// parseTable splits "db.table" at the dot outside backquotes and unquotes
// both parts. Unquoted parts are letters, digits, _ and $ (non-ASCII
// letters included); backquoted ones any text but NUL; each at most 64
// characters.
func parseTable(s string) (table, error) {
	db, rest, err := parseIdent(s)
	if err != nil {
		return table{}, err
	}
	if !strings.HasPrefix(rest, ".") {
		return table{}, errors.New("write it as db.table")
	}
	name, rest, err := parseIdent(rest[1:])
	if err != nil {
		return table{}, err
	}
	if rest != "" {
		return table{}, errors.New("write it as db.table (quote a name holding a dot with backquotes: db.`a.b`)")
	}
	return table{db: db, name: name}, nil
}

func parseIdent(s string) (name, rest string, err error) {
	if strings.HasPrefix(s, "`") {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '`' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '`' {
				b.WriteByte('`')
				i++
				continue
			}
			return checkName(b.String(), s[i+1:])
		}
		return "", "", errors.New("a backquote is not closed")
	}
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '.' {
			break
		}
		if !(r == '_' || r == '$' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80 && r != utf8.RuneError) {
			return "", "", errors.New("an unquoted name has letters, digits, _ and $ only: quote it with backquotes")
		}
		i += n
	}
	return checkName(s[:i], s[i:])
}

func checkName(name, rest string) (string, string, error) {
	switch {
	case name == "":
		return "", "", errors.New("a name is empty")
	case strings.ContainsRune(name, 0):
		return "", "", errors.New("a name holds NUL")
	case utf8.RuneCountInString(name) > 64:
		return "", "", errors.New("a name is longer than 64 characters")
	case !utf8.ValidString(name):
		return "", "", errors.New("a name is not valid UTF-8")
	}
	return name, rest, nil
}
