package check

import (
	"encoding/json"
	"fmt"
	"slices"
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
// coded error. It returns the unified value, which carries CUE's defaults
// (needed when the caller decodes it: the value of a valid n with big lists
// or maps is unified once more as a whole), and whether n is valid.
//
// CUE's work on one list or struct grows with the square of its size (each
// item it adds is looked up among those before, and so is each error it
// collects), so CUE never sees much at once: keys the schema does not allow
// are left out (the walk in required reports them), a list or map where
// the schema takes neither is passed empty (the type error is the same),
// a value the schema does not constrain is passed empty, and a list
// ([...T]) or map ([string]: T) of more than chunkSize items is validated
// chunkSize items at a time (see collection).
func (c *checker) validate(def cue.Value, n *config.Node, base []string, needValue bool) (v cue.Value, valid bool) {
	// A component config like one met before (templated configs repeat
	// them) has the same value, and is valid when that one was.
	var key string
	if needValue {
		if b, err := json.Marshal(n.Interface()); err == nil {
			key = string(b)
		}
	}
	if c.fields == nil {
		c.fields = schemaFields{}
	}
	if n != nil && n.Kind != config.Null {
		c.fields.coerce(def, n)
	}
	if cached, ok := c.valid[def][key]; ok && key != "" {
		return cached, true
	}
	defer func() {
		if key != "" && valid {
			if c.valid == nil {
				c.valid = map[cue.Value]map[string]cue.Value{}
			}
			if c.valid[def] == nil {
				c.valid[def] = map[string]cue.Value{}
			}
			c.valid[def][key] = v
		}
	}()
	before := len(c.errs)
	var data any = map[string]any{}
	b := &dataBuilder{ctx: c.schema.ctx, deferred: map[*config.Node]bool{}, fields: c.fields}
	if n != nil && n.Kind != config.Null {
		data = b.data(def, n, nil, false)
	}
	c.deferred = b.deferred
	defer func() { c.deferred = nil }()
	v, ok := c.validateData(def, data, n, base, nil)
	for i := 0; i < len(b.big); i++ { // chunks may find more big collections
		c.validateCollection(def, n, base, b, b.big[i])
	}
	valid = ok && len(c.errs) == before
	if valid && needValue && (len(b.big) > 0 || b.standIns) {
		// Valid, so CUE has no errors to collect: the whole value, for the
		// caller's decoding.
		v = def.Unify(c.schema.ctx.Encode(n.Interface()))
	}
	return v, valid
}

// chunkSize is the most items of one list or map CUE sees at once.
const chunkSize = 128

// collection is a list or map of more than chunkSize items that validate
// checks a chunk at a time: its schema is [...T] (or [T, ...T]) or
// [string]: T, so the document is validated with it holding only its first
// item (a list) or nothing (a map), and then each chunk in the same place
// of an otherwise empty document, keeping only the errors inside the chunk.
type collection struct {
	schema cue.Value    // the collection's schema
	node   *config.Node // the collection
	rel    []string     // its path from the validated node: map keys only
}

// dataBuilder turns a config subtree into the plain data handed to CUE.
type dataBuilder struct {
	ctx      *cue.Context
	fields   schemaFields
	big      []collection
	deferred map[*config.Node]bool // the nodes of big
	standIns bool                  // some value was passed empty
}

// data is n as plain data for CUE under schema sv (see validate); rel is
// n's path from the validated node, inList whether a list is on it (a
// collection below a list item is not deferred: the chunks are placed by
// map keys).
func (b *dataBuilder) data(sv cue.Value, n *config.Node, rel []string, inList bool) any {
	k := sv.IncompleteKind()
	switch n.Kind {
	case config.Map:
		switch {
		case !sv.Exists():
		case k == cue.TopKind:
			b.standIns = true
			return map[string]any{} // _: anything goes
		case k&cue.StructKind == 0:
			b.standIns = true
			return map[string]any{} // a type error whatever the keys
		}
		fs := b.fields.of(sv)
		if fs.anything() {
			b.standIns = true
			return map[string]any{} // {...}: any keys, any values
		}
		if len(n.Keys) > chunkSize && !inList && fs.patternOnly() && b.emptyOK(sv, map[string]any{}) {
			b.big = append(b.big, collection{schema: sv, node: n, rel: rel})
			b.deferred[n] = true
			return map[string]any{}
		}
		m := make(map[string]any, len(n.Keys))
		for i, key := range n.Keys {
			if sv.Exists() && k == cue.StructKind && !fs.allows(key) {
				continue // unknown: reported by required
			}
			m[key] = b.data(fs.child(key), n.Items[i], append(rel[:len(rel):len(rel)], key), inList)
		}
		return m
	case config.Seq:
		switch {
		case !sv.Exists():
		case k == cue.TopKind:
			b.standIns = true
			return []any{}
		case k&cue.ListKind == 0:
			b.standIns = true
			return []any{}
		}
		elem := sv.LookupPath(cue.MakePath(cue.AnyIndex))
		if len(n.Items) > chunkSize && !inList && elem.Exists() && !sv.LookupPath(cue.MakePath(cue.Index(1))).Exists() {
			// At most one item before the ellipsis ([T, ...T]): the
			// first item stands for the list, and leads each chunk.
			b.big = append(b.big, collection{schema: sv, node: n, rel: rel})
			b.deferred[n] = true
			return []any{b.data(elem, n.Items[0], nil, true)}
		}
		s := make([]any, len(n.Items))
		prefix := true // items before the ellipsis have their own schema
		for i, it := range n.Items {
			item := elem
			if prefix {
				if at := sv.LookupPath(cue.MakePath(cue.Index(i))); at.Exists() {
					item = at
				} else {
					prefix = false
				}
			}
			s[i] = b.data(item, it, nil, true)
		}
		return s
	}
	return n.Interface()
}

// emptyOK reports whether schema sv takes empty, an empty list or map.
func (b *dataBuilder) emptyOK(sv cue.Value, empty any) bool {
	return sv.Unify(b.ctx.Encode(empty)).Validate(cue.Concrete(true)) == nil
}

// validateCollection validates the big collection col (see collection)
// of n, the node validated against def at base, a chunk at a time.
func (c *checker) validateCollection(def cue.Value, n *config.Node, base []string, b *dataBuilder, col collection) {
	items := col.node.Items
	first := 0
	var lead any
	if col.node.Kind == config.Seq {
		first = 1 // the first item was validated with the document
		lead = b.data(col.schema.LookupPath(cue.MakePath(cue.AnyIndex)), items[0], nil, true)
	}
	for lo := first; lo < len(items); lo += chunkSize {
		hi := min(lo+chunkSize, len(items))
		chunk := &config.Node{Kind: col.node.Kind, Pos: col.node.Pos, KeyPos: col.node.KeyPos}
		var data any
		shift := 0
		if col.node.Kind == config.Map {
			chunk.Keys, chunk.Items = col.node.Keys[lo:hi], items[lo:hi]
			data = b.data(col.schema, chunk, col.rel, false)
		} else {
			// [first item, chunk...]: chunk index j is item lo+j-1.
			chunk.Items = append([]*config.Node{items[0]}, items[lo:hi]...)
			elem := col.schema.LookupPath(cue.MakePath(cue.AnyIndex))
			s := []any{lead}
			for _, it := range items[lo:hi] {
				s = append(s, b.data(elem, it, nil, true))
			}
			data, shift = s, lo-1
		}
		for i := len(col.rel) - 1; i >= 0; i-- {
			data = map[string]any{col.rel[i]: data}
		}
		c.validateData(def, data, n, base, &scope{col: col, chunk: chunk, shift: shift})
	}
}

// scope restricts validateData to one chunk of a collection.
type scope struct {
	col   collection
	chunk *config.Node // the chunk (a list chunk led by the first item)
	shift int          // a list chunk's index j is item j+shift (j > 0)
}

// validateData unifies def with data, the plain data of n (or of one chunk
// of a collection of n, when sc is set), reports the errors, and returns
// the unified value and whether CUE found no error.
func (c *checker) validateData(def cue.Value, data any, n *config.Node, base []string, sc *scope) (cue.Value, bool) {
	v := def.Unify(c.schema.ctx.Encode(data))
	verr := v.Validate(cue.All(), cue.Concrete(true))
	missing := c.translate(verr, def, n, base, sc)
	walked := len(c.errs)
	if sc == nil {
		c.required(v, def, n, base)
	} else {
		path := append(append([]string(nil), base...), sc.col.rel...)
		cv := v.LookupPath(cuePath(sc.col.rel))
		if sc.chunk.Kind == config.Map {
			c.required(cv, sc.col.schema, sc.chunk, path)
		} else {
			elem := sc.col.schema.LookupPath(cue.MakePath(cue.AnyIndex))
			for j, item := range sc.chunk.Items[1:] {
				if item.Kind == config.Map {
					c.required(cv.LookupPath(cue.MakePath(cue.Index(j+1))), elem, item, append(path[:len(path):len(path)], strconv.Itoa(j+1+sc.shift)))
				}
			}
		}
	}
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
	return v, verr == nil
}

// cuePath is the CUE path of the document keys rel.
func cuePath(rel []string) cue.Path {
	sels := make([]cue.Selector, len(rel))
	for i, k := range rel {
		sels[i] = cue.Str(k)
	}
	return cue.MakePath(sels...)
}

// fields answers schemaChild for the keys of one map: each declared field
// of struct schema sv is looked up once, not once per key.
type fields struct {
	sv          cue.Value
	declared    map[string]cue.Value
	required    []string // the declared fields that are required, in order
	pattern     cue.Value
	patternDone bool
}

// schemaFields remembers the fields of the struct schemas met, which are
// the same few for every map of a kind.
type schemaFields map[cue.Value]*fields

// of returns the fields of struct schema sv.
func (m schemaFields) of(sv cue.Value) *fields {
	f := m[sv]
	if f == nil {
		f = fieldsOf(sv)
		m[sv] = f
	}
	return f
}

func fieldsOf(sv cue.Value) *fields {
	f := &fields{sv: sv, declared: map[string]cue.Value{}}
	if it, err := sv.Fields(cue.Optional(true)); err == nil {
		for it.Next() {
			name := it.Selector().Unquoted()
			f.declared[name] = it.Value()
			if it.Selector().ConstraintType() == cue.RequiredConstraint {
				f.required = append(f.required, name)
			}
		}
	}
	return f
}

// child is the schema of key name (see schemaChild).
func (f *fields) child(name string) cue.Value {
	if v, ok := f.declared[name]; ok {
		return v
	}
	if !f.patternDone {
		f.pattern, f.patternDone = f.sv.LookupPath(cue.MakePath(cue.AnyString)), true
	}
	return f.pattern
}

// allows reports whether the struct schema allows key name.
func (f *fields) allows(name string) bool {
	if _, ok := f.declared[name]; ok {
		return true
	}
	if f.child(name).Exists() {
		return true
	}
	return f.sv.Allows(cue.Str(name))
}

// anything reports whether the schema takes any map ({...}).
func (f *fields) anything() bool {
	if len(f.declared) > 0 {
		return false
	}
	p := f.child("")
	return p.Exists() && p.IncompleteKind() == cue.TopKind
}

// patternOnly reports whether the schema is a map of one type ([string]:
// T, T constrained) without declared fields.
func (f *fields) patternOnly() bool {
	if len(f.declared) > 0 {
		return false
	}
	p := f.child("")
	return p.Exists() && p.IncompleteKind() != cue.TopKind
}

// group is the CUE errors reported at one path.
type group struct {
	path []string
	errs []cueerrors.Error
}

// translate reports the CUE errors in err, one per path, except missing
// required keys, which it returns for validate to report unless the walk in
// required already has.
func (c *checker) translate(err error, def cue.Value, root *config.Node, base []string, sc *scope) (missing source.Errors) {
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
		if sc != nil {
			// Only the chunk's errors, at the items' own paths.
			at := len(sc.col.rel)
			if len(p) <= at || !slices.Equal(p[:at], sc.col.rel) {
				continue
			}
			if sc.chunk.Kind == config.Seq {
				j, err := strconv.Atoi(p[at])
				if err != nil || j == 0 {
					continue // the first item's, reported with the document
				}
				p = append(append([]string(nil), p[:at]...), append([]string{strconv.Itoa(j + sc.shift)}, p[at+1:]...)...)
			}
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
			// One side is the document's value (either may be), the
			// other an allowed one.
			for _, a := range args {
				if s := fmt.Sprint(a); !isDocValue(s, node) {
					enum = append(enum, s)
				}
			}
		case strings.Contains(format, "errors in empty disjunction"):
		case strings.Contains(format, "does not match") && len(args) > 0:
			other = "must match " + fmt.Sprint(args[len(args)-1])
		case strings.Contains(format, "incompatible list lengths"):
			other = "must not be empty"
		default:
			if other == "" {
				other = hideValue(fmt.Sprintf(format, args...), node)
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
	case len(bounds) > 0 && patternMessage(describe(node), bounds) != "":
		c.errs.Add(pos, source.CodeInvalidValue, path, "%s", patternMessage(describe(node), bounds))
	case len(bounds) > 0:
		c.errs.Add(pos, source.CodeOutOfRange, path, "%s is out of range: must be %s", describe(node), strings.Join(dedupe(bounds), " and "))
	case len(types) > 0 && len(enum) == 0:
		c.errs.Add(pos, source.CodeTypeMismatch, path, "expected %s, got %s", strings.Join(dedupe(types), " or "), describe(node))
	case len(enum) == 0 && len(types) == 0 && other == "" && len(g.errs) > 0:
		// Only the document's own value was named: say what it is.
		c.errs.Add(pos, source.CodeInvalidValue, path, "%s is not allowed here", describe(node))
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

// isDocValue reports whether s, a value as CUE prints it, is the value of
// the document's node n.
func isDocValue(s string, n *config.Node) bool {
	if n == nil {
		return false
	}
	switch n.Kind {
	case config.Map, config.Seq:
		return false
	case config.String:
		u, err := literal.Unquote(s)
		return err == nil && u == n.Text || len(n.Vars) > 0 && n.Text != "" && strings.Contains(s, n.Text)
	}
	return s == fmt.Sprint(n.Interface()) || s == n.Text
}

// hideValue replaces the text of n in msg, a message of CUE about n, when
// it came from the environment: its value is a secret (SPEC §2.1).
func hideValue(msg string, n *config.Node) string {
	if n == nil || len(n.Vars) == 0 || n.Text == "" {
		return msg
	}
	shown := "(from ${" + n.Vars[0].Name + "})"
	msg = strings.ReplaceAll(msg, strconv.Quote(n.Text), shown)
	return strings.ReplaceAll(msg, n.Text, shown)
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
func (m schemaFields) coerce(sv cue.Value, n *config.Node) {
	switch n.Kind {
	case config.Map:
		fs := m.of(sv)
		for i, k := range n.Keys {
			if child := fs.child(k); child.Exists() {
				m.coerce(child, n.Items[i])
			}
		}
	case config.Seq:
		elem := sv.LookupPath(cue.MakePath(cue.AnyIndex))
		for _, it := range n.Items {
			if elem.Exists() {
				m.coerce(elem, it)
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

// required reports required keys (name!: in CUE) that are absent, and
// keys the schema does not allow, for every struct in the document under n
// (v is n unified with its schema sv). CUE reports missing keys only when
// nothing else is wrong; we want every error in one run. The members of a
// collection validated in chunks are walked with their chunk.
func (c *checker) required(v, sv cue.Value, n *config.Node, base []string) {
	if n == nil || n.Kind != config.Map {
		if n == nil || n.Kind == config.Null {
			n = &config.Node{Kind: config.Map, Pos: c.posOf(base)}
		} else {
			return
		}
	}
	at := func(keys ...string) []string { return append(append([]string(nil), base...), keys...) }
	fs := c.fields.of(sv)
	plain := sv.Exists() && sv.IncompleteKind() == cue.StructKind
	var allowed []string // the keys sv allows, for messages
	for i, k := range n.Keys {
		if plain && !fs.allows(k) {
			if allowed == nil {
				allowed = keysAt(sv, nil)
			}
			c.unknownKey(allowed, k, n.Items[i].KeyPos, at(k))
		}
	}
	missing := func(name string) {
		if !misspelt(n, name) {
			c.errs.Add(n.Pos, source.CodeMissingKey, config.JoinPath(at(name)), "missing required key %q", name)
		}
	}
	walk := func(name string, child *config.Node, cv cue.Value) {
		if c.deferred[child] && child.Kind == config.Map {
			return // walked a chunk at a time
		}
		schild := fs.child(name)
		switch child.Kind {
		case config.Map:
			c.required(cv, schild, child, at(name))
		case config.Seq:
			selem := schild.LookupPath(cue.MakePath(cue.AnyIndex))
			for i, item := range child.Items {
				if i > 0 && c.deferred[child] {
					break // the rest is walked a chunk at a time
				}
				if item.Kind == config.Map {
					c.required(cv.LookupPath(cue.MakePath(cue.Index(i))), selem, item, at(name, strconv.Itoa(i)))
				}
			}
		}
	}
	if !plain {
		// A disjunction (e.g. a string or a struct): the fields of the
		// branch the document chose.
		it, err := v.Fields(cue.Optional(true))
		if err != nil {
			return
		}
		for it.Next() {
			sel := it.Selector()
			name := sel.Unquoted()
			if child := n.Get(name); child != nil {
				walk(name, child, it.Value())
			} else if sel.ConstraintType() == cue.RequiredConstraint {
				missing(name)
			}
		}
		return
	}
	for _, name := range fs.required {
		if n.Get(name) == nil {
			missing(name)
		}
	}
	for i, name := range n.Keys {
		if child := n.Items[i]; (child.Kind == config.Map || child.Kind == config.Seq) && fs.allows(name) {
			walk(name, child, v.LookupPath(cue.MakePath(cue.Str(name))))
		}
	}
}

// unknownKey reports key, which a struct allowing only the keys allowed
// does not allow.
func (c *checker) unknownKey(allowed []string, key string, pos source.Pos, path []string) {
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
