package tasks

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// A member's subscriptions are the pipeline's name, then "tasks:" and the
// tasks it ran in the previous generation ("tasks:0,3"; "tasks:" when
// none), which the leader uses to keep tasks where they were.
const ownedPrefix = "tasks:"

// subscriptions returns what a member that ran owned subscribes with.
func subscriptions(pipeline string, owned []int) []string {
	parts := make([]string, len(owned))
	for i, t := range owned {
		parts[i] = strconv.Itoa(t)
	}
	return []string{pipeline, ownedPrefix + strings.Join(parts, ",")}
}

// ownedOf reads the tasks a member ran from its subscriptions.
func ownedOf(subs []string) []int {
	var out []int
	for _, s := range subs {
		rest, ok := strings.CutPrefix(s, ownedPrefix)
		if !ok {
			continue
		}
		for f := range strings.SplitSeq(rest, ",") {
			if n, err := strconv.Atoi(f); err == nil && n >= 0 {
				out = append(out, n)
			}
		}
	}
	return out
}

// plan deals tasks 0…n-1 to the members that subscribe to pipeline,
// sticky: with the members sorted by id, each may hold n/M tasks (the
// first n%M one more); each first keeps, in order, the tasks it ran in
// the previous generation while it has room and no member before it kept
// them; the tasks left go, ascending, to the members with room, in order.
// The result is a function of the members' ids and subscriptions alone,
// so that every member can check the leader's.
func plan(members []wire.GroupMember, pipeline string, n int) []wire.MemberAssignment {
	var ms []wire.GroupMember
	for _, m := range members {
		if slices.Contains(m.Subscriptions, pipeline) {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b wire.GroupMember) int { return cmp.Compare(a.MemberID, b.MemberID) })
	out := make([]wire.MemberAssignment, len(ms))
	if len(ms) == 0 {
		return out
	}
	capOf := func(k int) int {
		c := n / len(ms)
		if k < n%len(ms) {
			c++
		}
		return c
	}
	shares := make([][]uint32, len(ms))
	taken := make([]bool, n)
	for k, m := range ms {
		for _, t := range ownedOf(m.Subscriptions) {
			if t < n && !taken[t] && len(shares[k]) < capOf(k) {
				taken[t] = true
				shares[k] = append(shares[k], uint32(t))
			}
		}
	}
	k := 0
	for t := range n {
		if taken[t] {
			continue
		}
		for len(shares[k]) >= capOf(k) {
			k++
		}
		shares[k] = append(shares[k], uint32(t))
	}
	for k, m := range ms {
		slices.Sort(shares[k])
		out[k].MemberID = m.MemberID
		if len(shares[k]) > 0 {
			out[k].Topics = []wire.TopicPartitions{{Topic: pipeline, Partitions: shares[k]}}
		}
	}
	return out
}

// shareOf returns the tasks plan gives member id, ascending.
func shareOf(p []wire.MemberAssignment, id, pipeline string) []int {
	for _, a := range p {
		if a.MemberID == id {
			return tasksOf(a.Topics, pipeline)
		}
	}
	return nil
}

// tasksOf returns the tasks of pipeline in an assignment, ascending.
func tasksOf(tps []wire.TopicPartitions, pipeline string) []int {
	var out []int
	for _, tp := range tps {
		if tp.Topic != pipeline {
			continue
		}
		for _, p := range tp.Partitions {
			out = append(out, int(p))
		}
	}
	slices.Sort(out)
	return out
}
