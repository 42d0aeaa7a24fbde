package check

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/literal"

	"github.com/rivven/rivven-connect/compiler/config"
	"github.com/rivven/rivven-connect/compiler/source"
)

// validate unifies the config subtree n (at path base in the document) with
// the definition def and translates every violation into a positioned,
// coded error. It returns the unified value, which carries CUE's defaults.
func (c *checker) validate(def cue.Value, n *config.Node, base []string) (cue.Value, bool) {
	var data any = map[string]any{}
	if n != nil && n.Kind != config.Null {
		coerce(def, n)
		data = n.Interface()
	}
	v := def.Unify(c.schema.ctx.Encode(data))
	before := len(c.errs)
	verr := v.Validate(cue.All(), cue.Concrete(true))
	missing := c.translate(verr, def, n, base)
	walked := len(c.errs)
	c.required(v, def, n, base)
	// One missing key, one error: the walk in required reports most of
	// them (CUE only when nothing else is wrong); CUE's reports add those
	// it did not see.
	reported := map[string]bool{}
	for _, e := range c.errs[walked:] {
		if e.Code == source.CodeMissingKey {
			reported[e.Path] = true
		}
	}
	for _, e := range missing {
		if !reported[e.Path] {
			c.errs = append(c.errs, e)
		}
	}
	return v, verr == nil && len(c.errs) == before
}

// group is the CUE errors reported at one path.
type group struct {
	path []string
	errs []cueerrors.Error
}

// translate reports the CUE errors in err, one per path, except missing
// required keys, which it returns for validate to report unless the walk in
// required already has.
func (c *checker) translate(err error, def cue.Value, root *config.Node, base []string) (missing source.Errors) {
	if err == nil {
		return nil
	}
	groups := map[string]*group{}
	var order []string
	prefix := len(def.Path().Selectors())
	for _, e := range cueerrors.Errors(err) {
		p := documentPath(e.Path())
		if len(p) >= prefix {
			p = p[prefix:]
		}
		key := strings.Join(p, "\x00")
		g := groups[key]
		if g == nil {
			g = &group{path: p}
			groups[key] = g
			order = append(order, key)
		}
		g.errs = append(g.errs, e)
	}
	for _, key := range order {
		if e := c.translateGroup(groups[key], root, base); e != nil {
			missing = append(missing, e)
		}
	}
	return missing
}

// documentPath turns the labels of a CUE error path into the document's
// keys: CUE quotes a label that is not an identifier
// ("\"orders-to-console\""), the document and config.JoinPath do not.
// Definitions (#Config) and indexes stay as they are.
func documentPath(p []string) []string {
	out := make([]string, len(p))
	for i, l := range p {
		out[i] = l
		if strings.HasPrefix(l, `"`) || strings.HasPrefix(l, `#"`) {
			if u, err := literal.Unquote(l); err == nil {
				out[i] = u
			}
		}
	}
	return out
}

// translateGroup reports one error for the violations at one path,
// choosing the most specific explanation; a missing required key it
// returns instead (see translate). root, the document at base, may be nil
// when the document has no value there.
func (c *checker) translateGroup(g *group, root *config.Node, base []string) *source.Error {
	full := append(append([]string(nil), base...), g.path...)
	path := config.JoinPath(full)
	node := root.Lookup(g.path...)
	if node != nil && node.Bad {
		return nil // its substitution error says what is wrong
	}
	var pos source.Pos
	switch {
	case node != nil:
		pos = node.Pos
	case root == nil:
		pos = c.posOf(base)
	default:
		near, _ := root.Nearest(g.path...)
		pos = near.Pos
	}
	var (
		notAllowed, required bool
		bounds, types, enum  []string
		other                string
	)
	for _, e := range g.errs {
		format, args := e.Msg()
		switch {
		case strings.Contains(format, "not allowed"):
			notAllowed = true
		case strings.Contains(format, "required but not present"):
			required = true
		case strings.Contains(format, "out of bound"):
			if len(args) == 2 {
				bounds = append(bounds, fmt.Sprint(args[1]))
			}
		case strings.Contains(format, "mismatched types"):
			if len(args) == 4 {
				// The expected type is whichever side is not the document's.
				want := fmt.Sprint(args[3])
				if want == cueKind(node) {
					want = fmt.Sprint(args[2])
				}
				types = append(types, want)
			}
		case format == "conflicting values %s and %s" && len(args) == 2:
			enum = append(enum, fmt.Sprint(args[0]))
		case strings.Contains(format, "errors in empty disjunction"):
		case strings.Contains(format, "does not match"):
			other = "must match " + fmt.Sprint(args[len(args)-1])
		case strings.Contains(format, "incompatible list lengths"):
			other = "must not be empty"
		default:
			if other == "" {
				other = fmt.Sprintf(format, args...)
			}
		}
	}
	switch {
	case notAllowed:
		// Reported by the walk in required, which sees every struct.
	case required && len(g.path) > 0:
		name := g.path[len(g.path)-1]
		if parent := root.Lookup(g.path[:len(g.path)-1]...); parent != nil && misspelt(parent, name) {
			return nil // the unknown key's error says "did you mean"
		}
		return &source.Error{Pos: pos, Code: source.CodeMissingKey, Path: path, Message: fmt.Sprintf("missing required key %q", name)}
	case len(bounds) > 0:
		c.errs.Add(pos, source.CodeOutOfRange, path, "%s is out of range: must be %s", describe(node), strings.Join(dedupe(bounds), " and "))
	case len(types) > 0 && len(enum) == 0:
		c.errs.Add(pos, source.CodeTypeMismatch, path, "expected %s, got %s", strings.Join(dedupe(types), " or "), describe(node))
	case len(enum) > 0:
		vals := dedupe(append(enum, types...))
		msg := fmt.Sprintf("%s is not one of %s", describe(node), strings.Join(vals, ", "))
		if node != nil && node.Kind == config.String {
			var plain []string
			for _, e := range vals {
				plain = append(plain, strings.Trim(e, `"`))
			}
			if s := source.Suggest(node.Text, plain); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
		}
		c.errs.Add(pos, source.CodeInvalidValue, path, "%s", msg)
	default:
		c.errs.Add(pos, source.CodeInvalidValue, path, "%s %s", describe(node), other)
	}
	return nil
}

// cueKind names the CUE kind of a document node's value.
func cueKind(n *config.Node) string {
	if n == nil {
		return ""
	}
	switch n.Kind {
	case config.Map:
		return "struct"
	case config.Seq:
		return "list"
	}
	return n.Kind.String()
}

func describe(n *config.Node) string {
	if n == nil {
		return "value"
	}
	return n.Describe()
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// keysAt lists the keys that definition def allows at path, following
// pattern constraints ([string]: T) through map keys chosen by the user.
func keysAt(def cue.Value, path []string) []string {
	v := def
	for _, p := range path {
		if v = schemaChild(v, p); !v.Exists() {
			return nil
		}
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var out []string
	for it.Next() {
		out = append(out, it.Selector().Unquoted())
	}
	sort.Strings(out)
	return out
}

// coerce gives a quoted scalar that is exactly one ${VAR} reference the
// type the schema expects there, when its value parses as that type:
// `max_events: "${MAX}"` is an int when MAX=40. (Flow-style YAML needs the
// quotes; a plain scalar already takes its YAML type in config.Parse.)
func coerce(sv cue.Value, n *config.Node) {
	switch n.Kind {
	case config.Map:
		for i, k := range n.Keys {
			if child := schemaChild(sv, k); child.Exists() {
				coerce(child, n.Items[i])
			}
		}
	case config.Seq:
		elem := sv.LookupPath(cue.MakePath(cue.AnyIndex))
		for _, it := range n.Items {
			if elem.Exists() {
				coerce(elem, it)
			}
		}
	case config.String:
		if len(n.Vars) != 1 || n.Bad || !strings.HasPrefix(n.Raw, "${") || !strings.HasSuffix(n.Raw, "}") || strings.Count(n.Raw, "${") != 1 {
			return
		}
		k := sv.IncompleteKind()
		if k&cue.StringKind != 0 {
			return
		}
		text := strings.TrimSpace(n.Text)
		switch {
		case k&cue.IntKind != 0 && isInt(text):
			n.Kind = config.Int
		case k&cue.FloatKind != 0 && isFloat(text):
			n.Kind = config.Float
		case k&cue.BoolKind != 0 && (strings.EqualFold(text, "true") || strings.EqualFold(text, "false")):
			n.Kind, n.Text = config.Bool, strings.ToLower(text)
		}
	}
}

func isInt(s string) bool {
	_, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
	return err == nil
}

func isFloat(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// schemaChild returns the schema of field name in struct schema v: a
// declared field (required, optional or regular), else the pattern
// constraint that applies to any string key.
func schemaChild(v cue.Value, name string) cue.Value {
	for _, sel := range []cue.Selector{cue.Str(name), cue.Str(name).Optional(), cue.Str(name).Required()} {
		if next := v.LookupPath(cue.MakePath(sel)); next.Exists() {
			return next
		}
	}
	return v.LookupPath(cue.MakePath(cue.AnyString))
}

// required reports required keys (name!: in CUE) that are absent, for every
// struct in the document under n. CUE reports them only when nothing else
// is wrong; we want every error in one run.
func (c *checker) required(v, sv cue.Value, n *config.Node, base []string) {
	if n == nil || n.Kind != config.Map {
		if n == nil || n.Kind == config.Null {
			n = &config.Node{Kind: config.Map, Pos: c.posOf(base)}
		} else {
			return
		}
	}
	for i, k := range n.Keys {
		if sv.Exists() && sv.IncompleteKind() == cue.StructKind && !sv.Allows(cue.Str(k)) {
			c.unknownKey(sv, n, k, n.Items[i].KeyPos, append(append([]string(nil), base...), k))
		}
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return
	}
	for it.Next() {
		sel := it.Selector()
		name := sel.Unquoted()
		child := n.Get(name)
		if child == nil {
			if sel.ConstraintType() == cue.RequiredConstraint && !misspelt(n, name) {
				c.errs.Add(n.Pos, source.CodeMissingKey, config.JoinPath(append(append([]string(nil), base...), name)), "missing required key %q", name)
			}
			continue
		}
		schild := schemaChild(sv, name)
		if child.Kind == config.Map {
			c.required(it.Value(), schild, child, append(append([]string(nil), base...), name))
		}
		if child.Kind == config.Seq {
			for i, item := range child.Items {
				if item.Kind == config.Map {
					elem := it.Value().LookupPath(cue.MakePath(cue.Index(i)))
					selem := schild.LookupPath(cue.MakePath(cue.AnyIndex))
					c.required(elem, selem, item, append(append([]string(nil), base...), name, fmt.Sprint(i)))
				}
			}
		}
	}
}

// unknownKey reports key, which struct v does not allow.
func (c *checker) unknownKey(v cue.Value, n *config.Node, key string, pos source.Pos, path []string) {
	allowed := keysAt(v, nil)
	msg := fmt.Sprintf("unknown key %q", key)
	if s := source.Suggest(key, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	if len(allowed) > 0 {
		msg += "; valid keys here: " + strings.Join(allowed, ", ")
	}
	c.errs.Add(pos, source.CodeUnknownKey, config.JoinPath(path), "%s", msg)
}

// misspelt reports whether n has a key that looks like a misspelling of
// name; the unknown-key error for it already says "did you mean name".
func misspelt(n *config.Node, name string) bool {
	for _, k := range n.Keys {
		if k != name && source.Suggest(k, []string{name}) == name {
			return true
		}
	}
	return false
}
