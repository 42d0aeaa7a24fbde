package wire

// CreateTopic (request 6) creates a topic; Partitions must be 1..1000, None
// means the broker default (3).
type CreateTopic struct {
	Name       string
	Partitions Option[uint32]
}

func (m *CreateTopic) appendFields(b []byte) []byte {
	return appendOptU32(AppendString(b, m.Name), m.Partitions)
}

func (m *CreateTopic) decodeFields(d *Decoder) {
	m.Name = d.String()
	m.Partitions = d.optU32()
}

// TopicCreated (response 5) answers CreateTopic.
type TopicCreated struct {
	Name       string
	Partitions uint32
}

func (m *TopicCreated) appendFields(b []byte) []byte {
	return AppendUvarint(AppendString(b, m.Name), uint64(m.Partitions))
}

func (m *TopicCreated) decodeFields(d *Decoder) {
	m.Name = d.String()
	m.Partitions = d.U32()
}

// ListTopics (request 7) asks for all topic names.
type ListTopics struct{}

func (m *ListTopics) appendFields(b []byte) []byte { return b }
func (m *ListTopics) decodeFields(*Decoder)        {}

// Topics (response 6) answers ListTopics.
type Topics struct{ Topics []string }

func (m *Topics) appendFields(b []byte) []byte { return appendStrings(b, m.Topics) }
func (m *Topics) decodeFields(d *Decoder)      { m.Topics = d.strings() }

// DeleteTopic (request 8) deletes a topic.
type DeleteTopic struct{ Name string }

func (m *DeleteTopic) appendFields(b []byte) []byte { return AppendString(b, m.Name) }
func (m *DeleteTopic) decodeFields(d *Decoder)      { m.Name = d.String() }

// TopicDeleted (response 7) answers DeleteTopic.
type TopicDeleted struct{}

func (m *TopicDeleted) appendFields(b []byte) []byte { return b }
func (m *TopicDeleted) decodeFields(*Decoder)        {}

// GetMetadata (request 11) asks for one topic's partition count.
type GetMetadata struct{ Topic string }

func (m *GetMetadata) appendFields(b []byte) []byte { return AppendString(b, m.Topic) }
func (m *GetMetadata) decodeFields(d *Decoder)      { m.Topic = d.String() }

// Metadata (response 10) answers GetMetadata.
type Metadata struct {
	Name       string
	Partitions uint32
}

func (m *Metadata) appendFields(b []byte) []byte {
	return AppendUvarint(AppendString(b, m.Name), uint64(m.Partitions))
}

func (m *Metadata) decodeFields(d *Decoder) {
	m.Name = d.String()
	m.Partitions = d.U32()
}

// GetClusterMetadata (request 12) asks for brokers and topic layouts; an empty
// Topics means all topics.
type GetClusterMetadata struct{ Topics []string }

func (m *GetClusterMetadata) appendFields(b []byte) []byte { return appendStrings(b, m.Topics) }
func (m *GetClusterMetadata) decodeFields(d *Decoder)      { m.Topics = d.strings() }

// BrokerInfo is one broker in ClusterMetadata.
type BrokerInfo struct {
	NodeID string
	Host   string
	Port   uint16
	Rack   Option[string]
}

// PartitionMetadata is one partition in TopicMetadata.
type PartitionMetadata struct {
	Partition uint32
	Leader    Option[string]
	Replicas  []string
	ISR       []string
	Offline   bool
}

// TopicMetadata is one topic in ClusterMetadata.
type TopicMetadata struct {
	Name       string
	IsInternal bool
	Partitions []PartitionMetadata
}

func appendBrokerInfo(b []byte, v BrokerInfo) []byte {
	b = AppendString(b, v.NodeID)
	b = AppendString(b, v.Host)
	b = AppendUvarint(b, uint64(v.Port))
	return appendOptString(b, v.Rack)
}

func decBrokerInfo(d *Decoder) (v BrokerInfo) {
	v.NodeID = d.String()
	v.Host = d.String()
	v.Port = d.U16()
	v.Rack = d.optString()
	return v
}

func appendPartitionMetadata(b []byte, v PartitionMetadata) []byte {
	b = AppendUvarint(b, uint64(v.Partition))
	b = appendOptString(b, v.Leader)
	b = appendStrings(b, v.Replicas)
	b = appendStrings(b, v.ISR)
	return AppendBool(b, v.Offline)
}

func decPartitionMetadata(d *Decoder) (v PartitionMetadata) {
	v.Partition = d.U32()
	v.Leader = d.optString()
	v.Replicas = d.strings()
	v.ISR = d.strings()
	v.Offline = d.Bool()
	return v
}

func appendTopicMetadata(b []byte, v TopicMetadata) []byte {
	b = AppendString(b, v.Name)
	b = AppendBool(b, v.IsInternal)
	return appendVec(b, v.Partitions, appendPartitionMetadata)
}

func decTopicMetadata(d *Decoder) (v TopicMetadata) {
	v.Name = d.String()
	v.IsInternal = d.Bool()
	v.Partitions = decVec(d, decPartitionMetadata)
	return v
}

// ClusterMetadata (response 11) answers GetClusterMetadata.
type ClusterMetadata struct {
	ControllerID Option[string]
	Brokers      []BrokerInfo
	Topics       []TopicMetadata
}

func (m *ClusterMetadata) appendFields(b []byte) []byte {
	b = appendOptString(b, m.ControllerID)
	b = appendVec(b, m.Brokers, appendBrokerInfo)
	return appendVec(b, m.Topics, appendTopicMetadata)
}

func (m *ClusterMetadata) decodeFields(d *Decoder) {
	m.ControllerID = d.optString()
	m.Brokers = decVec(d, decBrokerInfo)
	m.Topics = decVec(d, decTopicMetadata)
}

// TopicConfigEntry is one change in AlterTopicConfig; a None Value resets the
// key to its default.
type TopicConfigEntry struct {
	Key   string
	Value Option[string]
}

// AlterTopicConfig (request 29) changes topic configuration keys.
type AlterTopicConfig struct {
	Topic   string
	Configs []TopicConfigEntry
}

func (m *AlterTopicConfig) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	return appendVec(b, m.Configs, func(b []byte, e TopicConfigEntry) []byte {
		return appendOptString(AppendString(b, e.Key), e.Value)
	})
}

func (m *AlterTopicConfig) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.Configs = decVec(d, func(d *Decoder) (e TopicConfigEntry) {
		e.Key = d.String()
		e.Value = d.optString()
		return e
	})
}

// TopicConfigAltered (response 31) answers AlterTopicConfig.
type TopicConfigAltered struct {
	Topic        string
	ChangedCount uint64
}

func (m *TopicConfigAltered) appendFields(b []byte) []byte {
	return AppendUvarint(AppendString(b, m.Topic), m.ChangedCount)
}

func (m *TopicConfigAltered) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.ChangedCount = d.U64()
}

// CreatePartitions (request 30) grows a topic to NewPartitionCount partitions;
// Assignments optionally lists broker ids per new partition.
type CreatePartitions struct {
	Topic             string
	NewPartitionCount uint32
	Assignments       [][]string
}

func (m *CreatePartitions) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	b = AppendUvarint(b, uint64(m.NewPartitionCount))
	return appendVec(b, m.Assignments, appendStrings)
}

func (m *CreatePartitions) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.NewPartitionCount = d.U32()
	m.Assignments = decVec(d, (*Decoder).strings)
}

// PartitionsCreated (response 32) answers CreatePartitions.
type PartitionsCreated struct {
	Topic             string
	NewPartitionCount uint32
}

func (m *PartitionsCreated) appendFields(b []byte) []byte {
	return AppendUvarint(AppendString(b, m.Topic), uint64(m.NewPartitionCount))
}

func (m *PartitionsCreated) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.NewPartitionCount = d.U32()
}

// PartitionOffset is a (partition, offset) pair.
type PartitionOffset struct {
	Partition uint32
	Offset    uint64
}

// DeleteRecords (request 31) deletes each partition's records before its offset.
type DeleteRecords struct {
	Topic            string
	PartitionOffsets []PartitionOffset
}

func (m *DeleteRecords) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	return appendVec(b, m.PartitionOffsets, func(b []byte, p PartitionOffset) []byte {
		return AppendUvarint(AppendUvarint(b, uint64(p.Partition)), p.Offset)
	})
}

func (m *DeleteRecords) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.PartitionOffsets = decVec(d, func(d *Decoder) (p PartitionOffset) {
		p.Partition = d.U32()
		p.Offset = d.U64()
		return p
	})
}

// DeleteRecordsResult is one partition's outcome in RecordsDeleted.
type DeleteRecordsResult struct {
	Partition    uint32
	LowWatermark uint64
	Error        Option[string]
}

// RecordsDeleted (response 33) answers DeleteRecords.
type RecordsDeleted struct {
	Topic   string
	Results []DeleteRecordsResult
}

func (m *RecordsDeleted) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	return appendVec(b, m.Results, func(b []byte, r DeleteRecordsResult) []byte {
		b = AppendUvarint(b, uint64(r.Partition))
		b = AppendUvarint(b, r.LowWatermark)
		return appendOptString(b, r.Error)
	})
}

func (m *RecordsDeleted) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.Results = decVec(d, func(d *Decoder) (r DeleteRecordsResult) {
		r.Partition = d.U32()
		r.LowWatermark = d.U64()
		r.Error = d.optString()
		return r
	})
}

// DescribeTopicConfigs (request 32) asks for topic configurations; empty Topics
// means all.
type DescribeTopicConfigs struct{ Topics []string }

func (m *DescribeTopicConfigs) appendFields(b []byte) []byte { return appendStrings(b, m.Topics) }
func (m *DescribeTopicConfigs) decodeFields(d *Decoder)      { m.Topics = d.strings() }

// TopicConfigValue is one configuration value with its flags.
type TopicConfigValue struct {
	Value       string
	IsDefault   bool
	IsReadOnly  bool
	IsSensitive bool
}

// TopicConfigDescription is one topic's configuration in TopicConfigsDescribed.
type TopicConfigDescription struct {
	Topic   string
	Configs map[string]TopicConfigValue
}

func appendTopicConfigValue(b []byte, v TopicConfigValue) []byte {
	b = AppendString(b, v.Value)
	b = AppendBool(b, v.IsDefault)
	b = AppendBool(b, v.IsReadOnly)
	return AppendBool(b, v.IsSensitive)
}

func decTopicConfigValue(d *Decoder) (v TopicConfigValue) {
	v.Value = d.String()
	v.IsDefault = d.Bool()
	v.IsReadOnly = d.Bool()
	v.IsSensitive = d.Bool()
	return v
}

// TopicConfigsDescribed (response 34) answers DescribeTopicConfigs.
type TopicConfigsDescribed struct {
	Configs []TopicConfigDescription
}

func (m *TopicConfigsDescribed) appendFields(b []byte) []byte {
	return appendVec(b, m.Configs, func(b []byte, c TopicConfigDescription) []byte {
		return appendMap(AppendString(b, c.Topic), c.Configs, AppendString, appendTopicConfigValue)
	})
}

func (m *TopicConfigsDescribed) decodeFields(d *Decoder) {
	m.Configs = decVec(d, func(d *Decoder) (c TopicConfigDescription) {
		c.Topic = d.String()
		c.Configs = decMap(d, (*Decoder).String, decTopicConfigValue)
		return c
	})
}
