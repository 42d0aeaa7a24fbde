package cdc

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// token is a position's resume point, written
//
//	[snapshot ]FILE:POS[ gtid=SET]
//
// FILE:POS is the binlog position right after the last transaction the
// position covers, SET the GTID position there (MariaDB:
// "domain-server-seq,…"). A "snapshot" token marks a record of a
// snapshot that started at that position and was not finished: a restart
// takes the snapshot again. The last record of a snapshot and every
// streamed record carry plain tokens.
type token struct {
	snapshot bool
	file     string
	pos      uint32
	gtid     string
}

func (t token) String() string {
	var b strings.Builder
	if t.snapshot {
		b.WriteString("snapshot ")
	}
	b.WriteString(t.file)
	b.WriteByte(':')
	b.WriteString(strconv.FormatUint(uint64(t.pos), 10))
	if t.gtid != "" {
		b.WriteString(" gtid=")
		b.WriteString(t.gtid)
	}
	return b.String()
}

func parseToken(s string) (token, error) {
	var t token
	rest, ok := strings.CutPrefix(s, "snapshot ")
	t.snapshot = ok
	rest, t.gtid, _ = strings.Cut(rest, " gtid=")
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return t, fmt.Errorf("position token %q is not FILE:POS[ gtid=SET]", s)
	}
	p, err := strconv.ParseUint(rest[i+1:], 10, 32)
	if err != nil || p < 4 {
		return t, fmt.Errorf("position token %q has no valid binlog position", s)
	}
	t.file, t.pos = rest[:i], uint32(p)
	return t, nil
}

// gtidSet is a MariaDB GTID position: the last GTID of each domain.
type gtidSet map[uint32]string

func parseGTIDSet(s string) gtidSet {
	g := gtidSet{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		d, _, ok := strings.Cut(part, "-")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(d, 10, 32)
		if err == nil {
			g[uint32(n)] = part
		}
	}
	return g
}

func (g gtidSet) String() string {
	ds := make([]uint32, 0, len(g))
	for d := range g {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = g[d]
	}
	return strings.Join(parts, ",")
}
