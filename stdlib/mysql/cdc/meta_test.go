package cdc

import (
	"testing"

	"github.com/rivven/rivven-connect/runtime"
)

// TestMetaOfAnEventIsTheMetaOfEachRecord pins the metadata's shape and
// that the records of one event, which share its parts, get what
// Source.meta gives each of them.
func TestMetaOfAnEventIsTheMetaOfEachRecord(t *testing.T) {
	one := newRelation(table{"db", "t"}, []column{{name: "id", kind: kInt}, {name: "v", kind: kText}}, []int{0})
	two := newRelation(table{"db", "t2"}, []column{{name: "a", kind: kInt}, {name: "b", kind: kInt}, {name: "c", kind: kInt}}, []int{2, 0})
	three := newRelation(table{"db", "t3"}, []column{{name: "a", kind: kInt}, {name: "b", kind: kInt}, {name: "c", kind: kInt}}, []int{0, 1, 2})
	none := newRelation(table{"db", "t4"}, []column{{name: "v", kind: kText}}, nil)
	at := token{file: "bin.000001", pos: 4}
	s := &Source{}
	for _, tc := range []struct {
		rel         *relation
		gtid        string
		snap        bool
		row, before []runtime.Value
		want        string
	}{
		{one, "0-1-5", false, []runtime.Value{runtime.Int(1), runtime.String("x")}, nil,
			`{"transaction_id":"0-1-5","key":{"id":1},"source":{"connector":"mysql-cdc","database":"db","table":"t","file":"bin.000001","pos":4,"gtid":"0-1-5","snapshot":false}}`},
		{one, "", true, nil, []runtime.Value{runtime.Int(2), runtime.Null()},
			`{"transaction_id":null,"key":{"id":2},"source":{"connector":"mysql-cdc","database":"db","table":"t","file":"bin.000001","pos":4,"gtid":null,"snapshot":true}}`},
		{two, "", false, []runtime.Value{runtime.Int(1), runtime.Int(2), runtime.Int(3)}, nil,
			`{"transaction_id":null,"key":{"c":3,"a":1},"source":{"connector":"mysql-cdc","database":"db","table":"t2","file":"bin.000001","pos":4,"gtid":null,"snapshot":false}}`},
		{three, "", false, []runtime.Value{runtime.Int(1), runtime.Int(2), runtime.Int(3)}, nil,
			`{"transaction_id":null,"key":{"a":1,"b":2,"c":3},"source":{"connector":"mysql-cdc","database":"db","table":"t3","file":"bin.000001","pos":4,"gtid":null,"snapshot":false}}`},
		{none, "", false, []runtime.Value{runtime.String("x")}, nil,
			`{"transaction_id":null,"key":null,"source":{"connector":"mysql-cdc","database":"db","table":"t4","file":"bin.000001","pos":4,"gtid":null,"snapshot":false}}`},
	} {
		if got := show(runtime.ObjectValue(s.meta(tc.rel, tc.row, tc.before, at, tc.gtid, tc.snap))); got != tc.want {
			t.Errorf("Source.meta %s", got)
		}
		em := newEventMeta(tc.rel, at, tc.gtid, tc.snap, 2)
		for i := range metaChunk + 2 {
			if got := show(runtime.ObjectValue(em.meta(tc.row, tc.before))); got != tc.want {
				t.Errorf("eventMeta.meta, record %d: %s", i, got)
			}
		}
	}
}

// TestSharedMetaIsNotChangedThroughARecord checks that setting a key of
// one record's metadata (or of its key object) leaves the other records'
// alone.
func TestSharedMetaIsNotChangedThroughARecord(t *testing.T) {
	rel := newRelation(table{"db", "t"}, []column{{name: "id", kind: kInt}}, []int{0})
	em := newEventMeta(rel, token{file: "bin.000001", pos: 4}, "0-1-5", false, 2)
	a := em.meta([]runtime.Value{runtime.Int(1)}, nil)
	b := em.meta([]runtime.Value{runtime.Int(2)}, nil)
	want := show(runtime.ObjectValue(b))
	a.Set("extra", runtime.Int(7))
	k, _ := a.Get("key")
	k.AsObject().Set("more", runtime.Int(8))
	if got := show(runtime.ObjectValue(b)); got != want {
		t.Errorf("after changes to another record's metadata: %s, want %s", got, want)
	}
	if got := show(runtime.ObjectValue(a)); got != `{"transaction_id":"0-1-5","key":{"id":1,"more":8},"source":{"connector":"mysql-cdc","database":"db","table":"t","file":"bin.000001","pos":4,"gtid":"0-1-5","snapshot":false},"extra":7}` {
		t.Errorf("changed metadata %s", got)
	}
}
