package cdc

import (
	"reflect"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"
)

// TestSameTableMapComparesEveryField changes each exported field of a
// table map in turn (a field go-mysql adds, too) and checks that the
// maps are then not the same.
func TestSameTableMapComparesEveryField(t *testing.T) {
	a := &replication.TableMapEvent{TableID: 7, Schema: []byte("db"), Table: []byte("t"), ColumnCount: 2,
		ColumnType: []byte{3, 15}, ColumnMeta: []uint16{0, 32}, ColumnName: [][]byte{[]byte("id"), []byte("v")},
		EnumStrValue: [][][]byte{{[]byte("red")}}, PrimaryKey: []uint64{0}}
	b := *a
	if !sameTableMap(a, &b) {
		t.Fatal("a copy is not the same")
	}
	typ := reflect.TypeFor[replication.TableMapEvent]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		c := *a
		v := reflect.ValueOf(&c).Elem().Field(i)
		switch v.Kind() {
		case reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
			v.SetUint(v.Uint() + 1)
		case reflect.Slice:
			v.Set(reflect.Append(v, reflect.New(v.Type().Elem()).Elem()))
			if v.Type().Elem().Kind() == reflect.Slice {
				// A name list: a new name, not a nil one.
				v.Index(v.Len() - 1).Set(reflect.MakeSlice(v.Type().Elem(), 1, 1))
			}
		default:
			t.Errorf("field %s of kind %s: the test does not know how to change it", f.Name, v.Kind())
			continue
		}
		if sameTableMap(a, &c) {
			t.Errorf("a table map with another %s is the same", f.Name)
		}
	}
}
