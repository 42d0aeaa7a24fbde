package bind_test

import (
	"reflect"
	"testing"

	"github.com/rivven/rivven-connect/compiler/bind"
	"github.com/rivven/rivven-connect/compiler/config"
	mysqlcdc "github.com/rivven/rivven-connect/stdlib/mysql/cdc"
)

func TestMySQLCDCDecodeTakesDefaultsFromCUE(t *testing.T) {
	got := decode(t, bind.Source, "mysql-cdc", `{user: cdc, server_id: 7, tables: ["shop.orders", "shop.`+"`Order Items`"+`"]}`).(mysqlcdc.Config)
	want := mysqlcdc.Defaults()
	want.User, want.ServerID, want.Tables = "cdc", 7, []string{"shop.orders", "shop.`Order Items`"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v\nwant (cdc.Defaults) %+v", got, want)
	}
	if ts := got.SelectedTables(); !reflect.DeepEqual(ts, [][2]string{{"shop", "orders"}, {"shop", "Order Items"}}) {
		t.Errorf("selected tables %q", ts)
	}
}

func TestMySQLCDCUnbuiltSnapshotModesAreRefusedAtTheirKey(t *testing.T) {
	c, _ := bind.Lookup(bind.Source, "mysql-cdc")
	for block, want := range map[string][]string{
		`{snapshot_mode: always}`:       {"snapshot_mode always is not built yet for mysql-cdc: use initial, never or initial_only"},
		`{snapshot_mode: when_needed}`:  {"snapshot_mode when_needed is not built yet for mysql-cdc: use initial, never or initial_only"},
		`{snapshot_mode: initial_only}`: nil,
		`{}`:                            nil,
	} {
		f, errs := config.Parse("block.yaml", []byte(block), nil)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		var got []string
		for _, m := range c.Misfits(f.Root) {
			if !reflect.DeepEqual(m.Key, []string{"snapshot_mode"}) {
				t.Errorf("misfit at %v", m.Key)
			}
			got = append(got, m.Why)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: misfits %q, want %q", block, got, want)
		}
	}
	if err := (mysqlcdc.Config{User: "u", ServerID: 1, Tables: []string{"a.b"}, SnapshotMode: "always"}).Validate(); err == nil {
		t.Error("Validate accepts snapshot_mode always")
	}
}
