package client

import (
	"fmt"
	"testing"
)

func TestGroupReason(t *testing.T) {
	for msg, want := range map[string]string{
		"HEARTBEAT_FAILED: ILLEGAL_GENERATION: expected 4, got 3":   ReasonIllegalGeneration,
		"SYNC_GROUP_FAILED: UNKNOWN_MEMBER_ID: 'm' in group 'g'":    ReasonUnknownMemberID,
		"SYNC_GROUP_FAILED: REBALANCE_TIMEOUT: leader did not sync": ReasonRebalanceTimeout,
		"HEARTBEAT_FAILED: UNKNOWN_GROUP: 'g'":                      ReasonUnknownGroup,
		"JOIN_GROUP_FAILED: something went wrong":                   "",
		"Topic not found: t":                                        "",
		"LEAVE_GROUP_FAILED: UNKNOWN_MEMBER_ID: 'm' in group 'g'":   ReasonUnknownMemberID,
	} {
		err := fmt.Errorf("wrapped: %w", &Error{Code: ParseCode(msg), Op: "Heartbeat", Message: msg})
		if got := GroupReason(err); got != want {
			t.Errorf("%q: got %q, want %q", msg, got, want)
		}
	}
	if GroupReason(nil) != "" || GroupReason(fmt.Errorf("plain")) != "" {
		t.Error("non-broker errors have no reason")
	}
}
