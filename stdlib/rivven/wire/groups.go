package wire

// ListGroups (request 15) asks for all consumer group names.
type ListGroups struct{}

func (m *ListGroups) appendFields(b []byte) []byte { return b }
func (m *ListGroups) decodeFields(*Decoder)        {}

// Groups (response 14) answers ListGroups.
type Groups struct{ Groups []string }

func (m *Groups) appendFields(b []byte) []byte { return appendStrings(b, m.Groups) }
func (m *Groups) decodeFields(d *Decoder)      { m.Groups = d.strings() }

// DescribeGroup (request 16) asks for a consumer group's committed offsets.
type DescribeGroup struct{ ConsumerGroup string }

func (m *DescribeGroup) appendFields(b []byte) []byte { return AppendString(b, m.ConsumerGroup) }
func (m *DescribeGroup) decodeFields(d *Decoder)      { m.ConsumerGroup = d.String() }

// GroupDescription (response 15): Offsets maps topic → partition → offset.
type GroupDescription struct {
	ConsumerGroup string
	Offsets       map[string]map[uint32]uint64
}

func appendU32U64Map(b []byte, m map[uint32]uint64) []byte {
	return appendMap(b, m,
		func(b []byte, k uint32) []byte { return AppendUvarint(b, uint64(k)) },
		AppendUvarint)
}

func decU32U64Map(d *Decoder) map[uint32]uint64 {
	return decMap(d, (*Decoder).U32, (*Decoder).U64)
}

func (m *GroupDescription) appendFields(b []byte) []byte {
	b = AppendString(b, m.ConsumerGroup)
	return appendMap(b, m.Offsets, AppendString, appendU32U64Map)
}

func (m *GroupDescription) decodeFields(d *Decoder) {
	m.ConsumerGroup = d.String()
	m.Offsets = decMap(d, (*Decoder).String, decU32U64Map)
}

// DeleteGroup (request 17) deletes a consumer group's offsets.
type DeleteGroup struct{ ConsumerGroup string }

func (m *DeleteGroup) appendFields(b []byte) []byte { return AppendString(b, m.ConsumerGroup) }
func (m *DeleteGroup) decodeFields(d *Decoder)      { m.ConsumerGroup = d.String() }

// GroupDeleted (response 16) answers DeleteGroup.
type GroupDeleted struct{}

func (m *GroupDeleted) appendFields(b []byte) []byte { return b }
func (m *GroupDeleted) decodeFields(*Decoder)        {}

// JoinGroup (request 34) joins a consumer group (an empty MemberID asks for one).
type JoinGroup struct {
	GroupID            string
	MemberID           string
	SessionTimeoutMs   uint32
	RebalanceTimeoutMs uint32
	ProtocolType       string
	Subscriptions      []string
}

func (m *JoinGroup) appendFields(b []byte) []byte {
	b = AppendString(b, m.GroupID)
	b = AppendString(b, m.MemberID)
	b = AppendUvarint(b, uint64(m.SessionTimeoutMs))
	b = AppendUvarint(b, uint64(m.RebalanceTimeoutMs))
	b = AppendString(b, m.ProtocolType)
	return appendStrings(b, m.Subscriptions)
}

func (m *JoinGroup) decodeFields(d *Decoder) {
	m.GroupID = d.String()
	m.MemberID = d.String()
	m.SessionTimeoutMs = d.U32()
	m.RebalanceTimeoutMs = d.U32()
	m.ProtocolType = d.String()
	m.Subscriptions = d.strings()
}

// GroupMember is one member and its subscriptions in JoinGroupResult.
type GroupMember struct {
	MemberID      string
	Subscriptions []string
}

// JoinGroupResult (response 36) answers JoinGroup; the leader gets Members.
type JoinGroupResult struct {
	GenerationID uint32
	ProtocolType string
	MemberID     string
	LeaderID     string
	Members      []GroupMember
}

func (m *JoinGroupResult) appendFields(b []byte) []byte {
	b = AppendUvarint(b, uint64(m.GenerationID))
	b = AppendString(b, m.ProtocolType)
	b = AppendString(b, m.MemberID)
	b = AppendString(b, m.LeaderID)
	return appendVec(b, m.Members, func(b []byte, g GroupMember) []byte {
		return appendStrings(AppendString(b, g.MemberID), g.Subscriptions)
	})
}

func (m *JoinGroupResult) decodeFields(d *Decoder) {
	m.GenerationID = d.U32()
	m.ProtocolType = d.String()
	m.MemberID = d.String()
	m.LeaderID = d.String()
	m.Members = decVec(d, func(d *Decoder) (g GroupMember) {
		g.MemberID = d.String()
		g.Subscriptions = d.strings()
		return g
	})
}

// TopicPartitions is a (topic, partitions) pair.
type TopicPartitions struct {
	Topic      string
	Partitions []uint32
}

func appendTopicPartitions(b []byte, t TopicPartitions) []byte {
	return appendU32s(AppendString(b, t.Topic), t.Partitions)
}

func decTopicPartitions(d *Decoder) (t TopicPartitions) {
	t.Topic = d.String()
	t.Partitions = d.u32s()
	return t
}

// MemberAssignment is one member's partitions in SyncGroup.
type MemberAssignment struct {
	MemberID string
	Topics   []TopicPartitions
}

// SyncGroup (request 35): the leader sends every member's assignment, others
// send none.
type SyncGroup struct {
	GroupID      string
	GenerationID uint32
	MemberID     string
	Assignments  []MemberAssignment
}

func (m *SyncGroup) appendFields(b []byte) []byte {
	b = AppendString(b, m.GroupID)
	b = AppendUvarint(b, uint64(m.GenerationID))
	b = AppendString(b, m.MemberID)
	return appendVec(b, m.Assignments, func(b []byte, a MemberAssignment) []byte {
		return appendVec(AppendString(b, a.MemberID), a.Topics, appendTopicPartitions)
	})
}

func (m *SyncGroup) decodeFields(d *Decoder) {
	m.GroupID = d.String()
	m.GenerationID = d.U32()
	m.MemberID = d.String()
	m.Assignments = decVec(d, func(d *Decoder) (a MemberAssignment) {
		a.MemberID = d.String()
		a.Topics = decVec(d, decTopicPartitions)
		return a
	})
}

// SyncGroupResult (response 37) carries this member's assignment.
type SyncGroupResult struct{ Assignments []TopicPartitions }

func (m *SyncGroupResult) appendFields(b []byte) []byte {
	return appendVec(b, m.Assignments, appendTopicPartitions)
}

func (m *SyncGroupResult) decodeFields(d *Decoder) {
	m.Assignments = decVec(d, decTopicPartitions)
}

// Heartbeat (request 36) keeps a group membership alive.
type Heartbeat struct {
	GroupID      string
	GenerationID uint32
	MemberID     string
}

func (m *Heartbeat) appendFields(b []byte) []byte {
	b = AppendString(b, m.GroupID)
	b = AppendUvarint(b, uint64(m.GenerationID))
	return AppendString(b, m.MemberID)
}

func (m *Heartbeat) decodeFields(d *Decoder) {
	m.GroupID = d.String()
	m.GenerationID = d.U32()
	m.MemberID = d.String()
}

// Heartbeat error codes.
const (
	HeartbeatOK                  int32 = 0
	HeartbeatRebalanceInProgress int32 = 27
)

// HeartbeatResult (response 38): ErrorCode 0 is ok, 27 a rebalance in progress.
type HeartbeatResult struct{ ErrorCode int32 }

func (m *HeartbeatResult) appendFields(b []byte) []byte { return AppendVarint(b, int64(m.ErrorCode)) }
func (m *HeartbeatResult) decodeFields(d *Decoder)      { m.ErrorCode = d.I32() }

// LeaveGroup (request 37) leaves a consumer group.
type LeaveGroup struct {
	GroupID  string
	MemberID string
}

func (m *LeaveGroup) appendFields(b []byte) []byte {
	return AppendString(AppendString(b, m.GroupID), m.MemberID)
}

func (m *LeaveGroup) decodeFields(d *Decoder) {
	m.GroupID = d.String()
	m.MemberID = d.String()
}

// LeaveGroupResult (response 39) answers LeaveGroup.
type LeaveGroupResult struct{}

func (m *LeaveGroupResult) appendFields(b []byte) []byte { return b }
func (m *LeaveGroupResult) decodeFields(*Decoder)        {}
