package datagen

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestAppendRFC3339(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	min := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	max := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	secs := []int64{0, -1, 86399, 86400, -86400, -86401, min, max, 951782400 /* 2000-02-29 */, 4107542400 /* 2100-03-01 */}
	for range 100_000 {
		secs = append(secs, min+r.Int64N(max-min+1))
	}
	for _, sec := range append(secs, max+1, min-1) {
		tm := time.Unix(sec, 0).UTC()
		want := tm.Format(time.RFC3339)
		if got := string(appendRFC3339(nil, sec)); got != want {
			t.Fatalf("appendRFC3339(%d) = %q, want %q", sec, got, want)
		}
		days, _ := splitUnix(sec)
		if got, want := string(appendDate(nil, days)), tm.Format(time.DateOnly); got != want {
			t.Fatalf("appendDate(%d) = %q, want %q", days, got, want)
		}
	}
}

func TestAppendPad8AndHex(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	nums := []uint64{0, 1, 9, 99999999, 100000000, 1<<64 - 1}
	for range 10_000 {
		nums = append(nums, r.Uint64()>>r.UintN(64))
	}
	for _, n := range nums {
		if got, want := string(appendPad8([]byte("x"), n)), fmt.Sprintf("x%08d", n); got != want {
			t.Fatalf("appendPad8(%d) = %q, want %q", n, got, want)
		}
		if got, want := string(appendHex(nil, n, 16)), fmt.Sprintf("%016x", n); got != want {
			t.Fatalf("appendHex(%d, 16) = %q, want %q", n, got, want)
		}
		if got, want := string(appendHex(nil, n>>16, 12)), fmt.Sprintf("%012x", n>>16); got != want {
			t.Fatalf("appendHex(%d, 12) = %q, want %q", n>>16, got, want)
		}
	}
}

func TestNumberedTables(t *testing.T) {
	u := userIDs()
	if len(u) != maxCustomer+1 || u[0] != "user_00000000" || u[42] != "user_00000042" || u[9999] != "user_00009999" {
		t.Fatalf("userIDs: %d entries, %q %q %q", len(u), u[0], u[42], u[9999])
	}
	if p := pageURLs(); p[1] != "/page/1" || p[99] != "/page/99" {
		t.Fatalf("pageURLs %q %q", p[1], p[99])
	}
	if b := buttonIDs(); b[1] != "btn_1" || b[49] != "btn_49" {
		t.Fatalf("buttonIDs %q %q", b[1], b[49])
	}
}
