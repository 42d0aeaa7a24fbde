package cdc

import (
	"reflect"
	"sync"
	"unicode/utf8"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/rivven/rivven-connect/runtime"
)

// imageDecoder decodes the row images of rows events straight into
// runtime values, in go-mysql's parser goroutine (newSyncer's
// RowsEventDecodeFunc), so the stream goroutine only builds records:
// go-mysql's own decoding boxes every value in an interface and formats
// decimals and times through fmt, and binlogRow converts that again.
//
// It decodes the events of the plain row event types (not MariaDB's
// compressed ones, not MySQL's partial JSON updates) of tables whose
// columns all have an imageCol (planOf), with full row images. For any
// other event, and for an event with a value it does not take (text
// that is not UTF-8, an ENUM index without a name, bytes that end too
// soon), it leaves the event to go-mysql's DecodeData and the stream to
// binlogRow, which gives the values, and the errors, it gave before:
// its values are binlogRow's (rowimage_test.go compares the two on a
// real server's events, and fuzzes them).
//
// The decoder belongs to one syncer: decode runs in its parser goroutine
// and take in the stream goroutine.
type imageDecoder struct {
	selected map[table]bool
	charsets *serverCharsets
	// catalog reads a table's columns of fixed-size binary types
	// (fixedBinAliases), in the parser goroutine.
	catalog func(table) (map[string]kind, error)
	// plans holds each table id's plan of its last table map (parser
	// goroutine only).
	plans map[uint64]*imagePlan
	text  textArena

	mu   sync.Mutex
	done map[*replication.RowsEvent]*imageRows
}

// newImageDecoder returns a decoder of the rows events of the selected
// tables; charsets maps collation ids to character sets, and catalog
// reads a table's columns of fixed-size binary types (Source.fixedBinColumns).
func newImageDecoder(selected map[table]bool, charsets *serverCharsets, catalog func(table) (map[string]kind, error)) *imageDecoder {
	return &imageDecoder{selected: selected, charsets: charsets, catalog: catalog, plans: map[uint64]*imagePlan{},
		done: map[*replication.RowsEvent]*imageRows{}}
}

// imageRows are the row images of one rows event, each a row of the
// table map's columns, two per update (before, after), when the decoder
// decoded them; and, decoded or not, the kinds of the table map's
// columns of fixed-size binary types, which the stream's relation must
// have. An image has len == cap: appending to it copies.
type imageRows struct {
	images  [][]runtime.Value
	decoded bool // images holds the rows (else go-mysql's e.Rows do)
	// alias and aliasErr are the plan's (fixedBinAliases).
	alias    []kind
	aliasErr error
}

// decode is newSyncer's RowsEventDecodeFunc: it decodes the header, and
// the rows of a captured table either itself or with go-mysql (e.Rows);
// take returns which, with the kinds of the table's fixed-size binary
// columns, decided here, in the events' order, so that the kinds of the
// rows' values and of the stream's relation are the same. Tables not
// captured, and tables with MySQL's binary JSON columns (relationOf
// refuses them; go-mysql prints failures of partial JSON to stdout), are
// not decoded.
func (d *imageDecoder) decode(e *replication.RowsEvent, data []byte) error {
	pos, err := e.DecodeHeader(data)
	if err != nil {
		return err
	}
	if !d.selected[table{string(e.Table.Schema), string(e.Table.Table)}] || e.Table.JsonColumnCount() > 0 {
		return nil
	}
	p := d.plan(e.TableID, e.Table)
	var im *imageRows
	// DecodeHeader does not check that the event holds its bitmaps (pos
	// may be past data's end): DecodeData then finds no rows.
	if pos <= len(data) && plainRowsEvent(e) && p.cols != nil {
		im, _ = p.decode(e, data[pos:], &d.text)
	}
	if im == nil {
		im = &imageRows{}
	} else {
		im.decoded = true
	}
	im.alias, im.aliasErr = p.alias, p.aliasErr
	d.mu.Lock()
	d.done[e] = im
	d.mu.Unlock()
	if im.decoded {
		return nil
	}
	return e.DecodeData(pos, data)
}

// take returns what decode made of e, and forgets it; nil when decode
// did not see it (a table not captured; d is nil).
func (d *imageDecoder) take(e *replication.RowsEvent) *imageRows {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	im := d.done[e]
	if im != nil {
		delete(d.done, e)
	}
	return im
}

// planOf returns the plan of a table map, nil when its columns are not
// all decoded here.
func (d *imageDecoder) planOf(id uint64, m *replication.TableMapEvent) *imagePlan {
	return d.plan(id, m).ok()
}

// plan returns the plan of a table map. A table id's map is the same in
// every transaction while the table does not change: its plan is kept,
// and the catalog is read (for fixed-size binary columns) once per new
// map.
func (d *imageDecoder) plan(id uint64, m *replication.TableMapEvent) *imagePlan {
	if p, ok := d.plans[id]; ok && (p.m == m || sameTableMap(p.m, m)) {
		p.m = m
		return p
	}
	p := planOf(m, d.charsets, d.catalog)
	if p.aliasErr == nil {
		d.plans[id] = p // else read the catalog again at the next event
	} else {
		delete(d.plans, id)
	}
	return p
}

// rowsEventType is the index of go-mysql's unexported RowsEvent field
// eventType, nil when go-mysql has no such field (an upgrade changed
// it: then nothing is decoded here; rowimage_test.go fails).
var rowsEventType = func() []int {
	f, ok := reflect.TypeFor[replication.RowsEvent]().FieldByName("eventType")
	if !ok || f.Type != reflect.TypeFor[replication.EventType]() {
		return nil
	}
	return f.Index
}()

// plainRowsEvent reports whether e is a write, update or delete rows
// event of version 1 or 2: not MariaDB's compressed events, MySQL's
// partial updates or version 0. go-mysql exports no way to tell: the
// type is read from its unexported field.
func plainRowsEvent(e *replication.RowsEvent) bool {
	if rowsEventType == nil {
		return false
	}
	switch replication.EventType(reflect.ValueOf(e).Elem().FieldByIndex(rowsEventType).Uint()) {
	case replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2,
		replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
		replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2:
		return true
	}
	return false
}

// imagePlan is how the row images of one table map decode.
type imagePlan struct {
	m    *replication.TableMapEvent
	cols []imageCol // nil: not decoded here
	// minSize is the size of an image without NULLs and with empty
	// strings: no image is smaller, but for its NULLs.
	minSize int
	// alias holds the kinds of the map's fixed-size binary columns
	// (fixedBinAliases), nil when it has none; aliasErr is the error of
	// reading them from the catalog (then cols is nil).
	alias    []kind
	aliasErr error
}

func (p *imagePlan) ok() *imagePlan {
	if p.cols == nil {
		return nil
	}
	return p
}

// imageCol is a column of a plan: its type as the binlog stores it and
// the kind of its values (kindOfBinlog, as the stream's relation has
// it).
type imageCol struct {
	typ      byte // the real type (tableOf: ENUM and SET are theirs)
	unsigned bool
	kind     kind
	cs       *charset // text in another character set than UTF-8, converted to UTF-8
	// lenBytes is the size of a string's length (STRING, VARCHAR,
	// VAR_STRING, BLOB); width the bytes of a fixed-size value, or the
	// fractional digits of a temporal one.
	lenBytes int
	width    int
	// pad is the length BINARY values are padded to (binaryPad).
	pad int
	// prec and scale are a DECIMAL's.
	prec, scale int
	names       []string // ENUM and SET members
}

// planOf returns the plan of m, with nil columns when one of them is not
// decoded here: its type is left to binlogRow, or its metadata is
// outside what a server writes; catalog reads the table's fixed-size
// binary columns (fixedBinAliases).
func planOf(m *replication.TableMapEvent, charsets *serverCharsets, catalog func(table) (map[string]kind, error)) *imagePlan {
	p := &imagePlan{m: m}
	bt, err := tableOf(m, charsets)
	if err != nil || !bt.hasNames {
		return p // relationOf refuses it
	}
	if p.alias, p.aliasErr = fixedBinAliases(bt, catalog); p.aliasErr != nil {
		return p
	}
	cols := make([]imageCol, len(bt.cols))
	for i := range bt.cols {
		bc := &bt.cols[i]
		k, cs, err := kindOfBinlog(bc, charsets)
		if err != nil {
			return p
		}
		c := imageCol{typ: bc.typ, unsigned: bc.unsigned, kind: k, cs: cs}
		if !c.plan(bc) {
			return p
		}
		cols[i] = c
	}
	p.cols = cols
	p.minSize = (len(cols) + 7) / 8
	for _, c := range cols {
		p.minSize += c.size()
	}
	return p
}

// plan fills in how c's values are stored (bc: its table map column),
// and reports whether they are decoded here.
func (c *imageCol) plan(bc *binlogColumn) bool {
	meta := bc.meta
	switch c.typ {
	case gomysql.MYSQL_TYPE_TINY, gomysql.MYSQL_TYPE_YEAR:
		c.width = 1
	case gomysql.MYSQL_TYPE_SHORT:
		c.width = 2
	case gomysql.MYSQL_TYPE_INT24:
		c.width = 3
	case gomysql.MYSQL_TYPE_LONG, gomysql.MYSQL_TYPE_FLOAT:
		c.width = 4
	case gomysql.MYSQL_TYPE_LONGLONG, gomysql.MYSQL_TYPE_DOUBLE:
		c.width = 8
	case gomysql.MYSQL_TYPE_NEWDECIMAL:
		c.prec, c.scale = int(meta>>8), int(meta&0xff)
		if c.prec < 1 || c.prec > 65 || c.scale > 38 || c.scale > c.prec {
			return false
		}
		c.width = decimalSize(c.prec, c.scale)
	case gomysql.MYSQL_TYPE_DATE:
		c.width = 3
	case gomysql.MYSQL_TYPE_DATETIME2, gomysql.MYSQL_TYPE_TIMESTAMP2, gomysql.MYSQL_TYPE_TIME2:
		if meta > 6 {
			return false
		}
		c.width = int(meta) // fractional digits
	case gomysql.MYSQL_TYPE_STRING:
		n, typ := stringLen(meta)
		if typ != gomysql.MYSQL_TYPE_STRING {
			return false
		}
		c.lenBytes = 1
		if n >= 256 {
			c.lenBytes = 2
		}
		c.pad = bc.binaryPad()
	case gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING:
		c.lenBytes = 1
		if meta >= 256 {
			c.lenBytes = 2
		}
	case gomysql.MYSQL_TYPE_BLOB, gomysql.MYSQL_TYPE_GEOMETRY:
		if meta < 1 || meta > 4 {
			return false
		}
		c.lenBytes = int(meta)
	case gomysql.MYSQL_TYPE_ENUM:
		c.width, c.names = int(meta&0xff), bc.enum
		if c.width != 1 && c.width != 2 {
			return false
		}
	case gomysql.MYSQL_TYPE_SET:
		c.width, c.names = int(meta&0xff), bc.set
		if c.width < 1 || c.width > 8 {
			return false
		}
	case gomysql.MYSQL_TYPE_BIT:
		bits := bc.bits()
		if bits < 1 || bits > 64 {
			return false
		}
		c.width = (bits + 7) / 8
	default:
		return false // old DATETIME, TIMESTAMP and TIME, MySQL's JSON …
	}
	for _, n := range c.names {
		if !utf8.ValidString(n) {
			return false
		}
	}
	return true
}

// size is the least bytes a value of c takes.
func (c *imageCol) size() int {
	switch c.typ {
	case gomysql.MYSQL_TYPE_DATETIME2:
		return 5 + (c.width+1)/2
	case gomysql.MYSQL_TYPE_TIMESTAMP2:
		return 4 + (c.width+1)/2
	case gomysql.MYSQL_TYPE_TIME2:
		return 3 + (c.width+1)/2
	}
	return c.width + c.lenBytes
}

// decode decodes the rows of e (data: the event after its header) and
// reports whether it did; false leaves the event to go-mysql. The values
// of several images are allocated at once: as many as the bytes left
// hold at most (minSize), up to rowChunk.
func (p *imagePlan) decode(e *replication.RowsEvent, data []byte, a *textArena) (*imageRows, bool) {
	n := len(p.cols)
	update := e.Type() == replication.EnumRowsEventTypeUpdate
	if int(e.ColumnCount) != n || !allSet(e.ColumnBitmap1, n) || update && !allSet(e.ColumnBitmap2, n) {
		return nil, false
	}
	im := &imageRows{images: make([][]runtime.Value, 0, min(len(data)/p.minSize+1, 1024))}
	nulls := (n + 7) / 8
	var chunk []runtime.Value
	for pos := 0; pos < len(data); {
		if len(chunk) < n {
			k := min(max((len(data)-pos)/p.minSize, 1), rowChunk)
			chunk = make([]runtime.Value, k*n)
		}
		if len(data)-pos < nulls {
			return nil, false
		}
		null := data[pos : pos+nulls]
		pos += nulls
		row := chunk[:n:n]
		chunk = chunk[n:]
		for i := range p.cols {
			if null[i>>3]&(1<<(i&7)) != 0 {
				row[i] = runtime.Null()
				continue
			}
			v, size, ok := p.cols[i].value(data[pos:], a)
			if !ok {
				return nil, false
			}
			row[i] = v
			pos += size
		}
		im.images = append(im.images, row)
	}
	if update && len(im.images)%2 == 1 {
		return nil, false
	}
	return im, true
}

// allSet reports whether the bitmap has the first n bits set.
func allSet(bitmap []byte, n int) bool {
	if len(bitmap) < (n+7)/8 {
		return false
	}
	for i := 0; i < n; i++ {
		if bitmap[i>>3]&(1<<(i&7)) == 0 {
			return false
		}
	}
	return true
}
