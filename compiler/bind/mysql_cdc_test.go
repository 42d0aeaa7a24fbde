package bind_test

import (
	"reflect"
	"testing"

	"github.com/rivven/rivven-connect/compiler/bind"
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

func TestMySQLCDCEverySnapshotModeIsAccepted(t *testing.T) {
	for _, mode := range []string{"initial", "never", "initial_only", "always", "when_needed"} {
		got := decode(t, bind.Source, "mysql-cdc", `{user: cdc, server_id: 7, tables: [shop.orders], snapshot_mode: `+mode+`}`).(mysqlcdc.Config)
		if got.SnapshotMode != mode {
			t.Errorf("snapshot_mode %s decoded as %q", mode, got.SnapshotMode)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("snapshot_mode %s: %v", mode, err)
		}
	}
}
