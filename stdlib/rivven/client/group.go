package client

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rivven/rivven-connect/stdlib/rivven/wire"
)

// Consumer-group calls (JoinGroup, SyncGroup, Heartbeat, LeaveGroup).
//
// rivvend answers a failed group request with an Error whose message is a
// handler prefix, then the reason: "HEARTBEAT_FAILED: ILLEGAL_GENERATION:
// expected 4, got 3". Code is the prefix; GroupReason extracts the reason.

// Reasons rivvend gives for failed group requests.
const (
	ReasonUnknownMemberID     = "UNKNOWN_MEMBER_ID"
	ReasonUnknownGroup        = "UNKNOWN_GROUP"
	ReasonIllegalGeneration   = "ILLEGAL_GENERATION"
	ReasonRebalanceInProgress = "REBALANCE_IN_PROGRESS"
	ReasonRebalanceTimeout    = "REBALANCE_TIMEOUT"
)

// GroupReason returns the reason word of a failed group request ("" when
// err is not a broker error of that shape).
func GroupReason(err error) string {
	var e *Error
	if !errors.As(err, &e) || e.Message == "" {
		return ""
	}
	_, rest, ok := strings.Cut(e.Message, ": ")
	if !ok {
		return ""
	}
	word, _, _ := strings.Cut(rest, ":")
	if !isCodeWord(word) {
		return ""
	}
	return word
}

// JoinGroup joins (or rejoins) a consumer group. The broker may hold the
// reply until the group's join phase ends, so without a ctx deadline the
// call may take RequestTimeout plus req.RebalanceTimeoutMs. A first join
// (empty MemberID) is not resent after a lost reply: the broker may have
// created a member that will only expire with its session.
func (c *Client) JoinGroup(ctx context.Context, req *wire.JoinGroup) (*wire.JoinGroupResult, error) {
	resp, err := c.do(ctx, req, req.MemberID != "", time.Duration(req.RebalanceTimeoutMs)*time.Millisecond)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*wire.JoinGroupResult)
	if !ok {
		return nil, unexpected("JoinGroup", resp)
	}
	return r, nil
}

// SyncGroup sends the leader's assignment (others send none) and returns
// this member's partitions. A follower's call waits for the leader's, up to
// wait longer than RequestTimeout when ctx has no deadline.
func (c *Client) SyncGroup(ctx context.Context, req *wire.SyncGroup, wait time.Duration) ([]wire.TopicPartitions, error) {
	resp, err := c.do(ctx, req, true, wait)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*wire.SyncGroupResult)
	if !ok {
		return nil, unexpected("SyncGroup", resp)
	}
	return r.Assignments, nil
}

// Heartbeat keeps a membership alive; it returns the result's error code
// (wire.HeartbeatOK, or wire.HeartbeatRebalanceInProgress: rejoin).
func (c *Client) Heartbeat(ctx context.Context, group string, generation uint32, member string) (int32, error) {
	resp, err := c.do(ctx, &wire.Heartbeat{GroupID: group, GenerationID: generation, MemberID: member}, true, 0)
	if err != nil {
		return 0, err
	}
	r, ok := resp.(*wire.HeartbeatResult)
	if !ok {
		return 0, unexpected("Heartbeat", resp)
	}
	return r.ErrorCode, nil
}

// LeaveGroup leaves a consumer group.
func (c *Client) LeaveGroup(ctx context.Context, group, member string) error {
	resp, err := c.do(ctx, &wire.LeaveGroup{GroupID: group, MemberID: member}, true, 0)
	if err != nil {
		return err
	}
	if _, ok := resp.(*wire.LeaveGroupResult); !ok {
		return unexpected("LeaveGroup", resp)
	}
	return nil
}
