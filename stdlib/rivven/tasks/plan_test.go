package tasks

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

func members(subs map[string][]int) []wire.GroupMember {
	var out []wire.GroupMember
	for id, owned := range subs {
		out = append(out, wire.GroupMember{MemberID: id, Subscriptions: subscriptions("p", owned)})
	}
	return out
}

// deal returns each member's share of plan.
func deal(ms []wire.GroupMember, n int) map[string][]int {
	out := map[string][]int{}
	for _, a := range plan(ms, "p", n) {
		out[a.MemberID] = tasksOf(a.Topics, "p")
	}
	return out
}

func TestPlanDealsEveryTaskOnceEvenly(t *testing.T) {
	for _, n := range []int{1, 2, 5, 6, 7, 12} {
		for m := 1; m <= 4; m++ {
			subs := map[string][]int{}
			for k := range m {
				subs[fmt.Sprintf("m%d", k)] = nil
			}
			got := deal(members(subs), n)
			seen := map[int]int{}
			for id, ts := range got {
				if len(ts) < n/m || len(ts) > n/m+1 {
					t.Errorf("n=%d m=%d: %s got %d tasks %v", n, m, id, len(ts), ts)
				}
				for _, x := range ts {
					seen[x]++
				}
			}
			for x := range n {
				if seen[x] != 1 {
					t.Errorf("n=%d m=%d: task %d dealt %d times: %v", n, m, x, seen[x], got)
				}
			}
		}
	}
}

func TestPlanIsSticky(t *testing.T) {
	// Two members ran 0,2,4 and 1,3,5; a third joins: each keeps two of
	// its tasks, the newcomer gets the rest.
	got := deal(members(map[string][]int{"a": {0, 2, 4}, "b": {1, 3, 5}, "c": nil}), 6)
	want := map[string][]int{"a": {0, 2}, "b": {1, 3}, "c": {4, 5}}
	for id, ts := range want {
		if !slices.Equal(got[id], ts) {
			t.Errorf("%s got %v, want %v (all: %v)", id, got[id], ts, got)
		}
	}
	// b leaves: a keeps its tasks and takes b's.
	got = deal(members(map[string][]int{"a": {0, 2}, "c": {4, 5}}), 6)
	if !slices.Equal(got["a"], []int{0, 1, 2}) || !slices.Equal(got["c"], []int{3, 4, 5}) {
		t.Errorf("after b left: %v", got)
	}
	// Two members claiming the same task (a stale claim): one keeps it.
	got = deal(members(map[string][]int{"a": {0}, "b": {0}}), 2)
	if !slices.Equal(got["a"], []int{0}) || !slices.Equal(got["b"], []int{1}) {
		t.Errorf("double claim: %v", got)
	}
}

func TestPlanIgnoresMembersOfOtherPipelines(t *testing.T) {
	ms := []wire.GroupMember{{MemberID: "a", Subscriptions: subscriptions("p", nil)}, {MemberID: "b", Subscriptions: subscriptions("q", nil)}}
	got := deal(ms, 3)
	if !slices.Equal(got["a"], []int{0, 1, 2}) || len(got["b"]) != 0 {
		t.Errorf("got %v", got)
	}
}

func TestOwnedRoundTrips(t *testing.T) {
	for _, owned := range [][]int{nil, {3}, {0, 7, 12}} {
		if got := ownedOf(subscriptions("p", owned)); !slices.Equal(got, owned) {
			t.Errorf("ownedOf(subscriptions(%v)) = %v", owned, got)
		}
	}
}
