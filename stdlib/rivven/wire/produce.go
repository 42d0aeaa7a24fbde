package wire

// Record is one entry of a batch publish (rivven-protocol BatchRecord). A nil
// Key is None; Publish requests carry no headers.
type Record struct {
	Key   []byte
	Value []byte
}

func appendRecords(b []byte, rs []Record) []byte {
	b = AppendUvarint(b, uint64(len(rs)))
	for i := range rs {
		b = AppendOptionBytes(b, rs[i].Key)
		b = AppendBytes(b, rs[i].Value)
	}
	return b
}

func decRecord(d *Decoder) Record {
	k := d.OptionBytes()
	return Record{Key: k, Value: d.Bytes()}
}

// Publish (request 4) appends one record. With no Partition the broker picks
// one: keyed → hash, keyless → sticky.
type Publish struct {
	Topic       string
	Partition   Option[uint32]
	Key         []byte // nil = None
	Value       []byte
	LeaderEpoch Option[uint64]
}

func (m *Publish) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	b = appendOptU32(b, m.Partition)
	b = AppendOptionBytes(b, m.Key)
	b = AppendBytes(b, m.Value)
	return appendOptU64(b, m.LeaderEpoch)
}

func (m *Publish) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.Partition = d.optU32()
	m.Key = d.OptionBytes()
	m.Value = d.Bytes()
	m.LeaderEpoch = d.optU64()
}

// PublishBatch (request 38) appends Records to one partition (chosen from the
// first record's key when Partition is None).
type PublishBatch struct {
	Topic       string
	Partition   Option[uint32]
	Records     []Record
	LeaderEpoch Option[uint64]
}

func (m *PublishBatch) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	b = appendOptU32(b, m.Partition)
	b = appendRecords(b, m.Records)
	return appendOptU64(b, m.LeaderEpoch)
}

func (m *PublishBatch) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.Partition = d.optU32()
	m.Records = decVec(d, decRecord)
	m.LeaderEpoch = d.optU64()
}

// InitProducerID (request 19, Rust InitProducerId) asks for a producer id; with
// a previous ProducerID the broker bumps its epoch and forgets its sequences.
type InitProducerID struct {
	ProducerID Option[uint64]
}

func (m *InitProducerID) appendFields(b []byte) []byte { return appendOptU64(b, m.ProducerID) }
func (m *InitProducerID) decodeFields(d *Decoder)      { m.ProducerID = d.optU64() }

// IdempotentPublish (request 20) appends one record exactly once per
// (producer, partition, sequence).
type IdempotentPublish struct {
	Topic         string
	Partition     Option[uint32]
	Key           []byte // nil = None
	Value         []byte
	ProducerID    uint64
	ProducerEpoch uint16
	Sequence      int32
	LeaderEpoch   Option[uint64]
}

func (m *IdempotentPublish) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	b = appendOptU32(b, m.Partition)
	b = AppendOptionBytes(b, m.Key)
	b = AppendBytes(b, m.Value)
	b = AppendUvarint(b, m.ProducerID)
	b = AppendUvarint(b, uint64(m.ProducerEpoch))
	b = AppendVarint(b, int64(m.Sequence))
	return appendOptU64(b, m.LeaderEpoch)
}

func (m *IdempotentPublish) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.Partition = d.optU32()
	m.Key = d.OptionBytes()
	m.Value = d.Bytes()
	m.ProducerID = d.U64()
	m.ProducerEpoch = d.U16()
	m.Sequence = d.I32()
	m.LeaderEpoch = d.optU64()
}

// IdempotentPublishBatch (request 39) appends Records with sequences
// BaseSequence, BaseSequence+1, …; a resend with the same BaseSequence is
// answered duplicate=true without appending.
type IdempotentPublishBatch struct {
	Topic         string
	Partition     Option[uint32]
	Records       []Record
	ProducerID    uint64
	ProducerEpoch uint16
	BaseSequence  int32
	LeaderEpoch   Option[uint64]
}

func (m *IdempotentPublishBatch) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	b = appendOptU32(b, m.Partition)
	b = appendRecords(b, m.Records)
	b = AppendUvarint(b, m.ProducerID)
	b = AppendUvarint(b, uint64(m.ProducerEpoch))
	b = AppendVarint(b, int64(m.BaseSequence))
	return appendOptU64(b, m.LeaderEpoch)
}

func (m *IdempotentPublishBatch) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.Partition = d.optU32()
	m.Records = decVec(d, decRecord)
	m.ProducerID = d.U64()
	m.ProducerEpoch = d.U16()
	m.BaseSequence = d.I32()
	m.LeaderEpoch = d.optU64()
}

// Published (response 3) answers Publish.
type Published struct {
	Offset    uint64
	Partition uint32
}

func (m *Published) appendFields(b []byte) []byte {
	return AppendUvarint(AppendUvarint(b, m.Offset), uint64(m.Partition))
}

func (m *Published) decodeFields(d *Decoder) {
	m.Offset = d.U64()
	m.Partition = d.U32()
}

// PublishedBatch (response 40) answers PublishBatch: the records got offsets
// BaseOffset … BaseOffset+RecordCount-1.
type PublishedBatch struct {
	BaseOffset  uint64
	Partition   uint32
	RecordCount uint32
}

func (m *PublishedBatch) appendFields(b []byte) []byte {
	b = AppendUvarint(b, m.BaseOffset)
	b = AppendUvarint(b, uint64(m.Partition))
	return AppendUvarint(b, uint64(m.RecordCount))
}

func (m *PublishedBatch) decodeFields(d *Decoder) {
	m.BaseOffset = d.U64()
	m.Partition = d.U32()
	m.RecordCount = d.U32()
}

// ProducerIDInitialized (response 20, Rust ProducerIdInitialized) answers InitProducerID.
type ProducerIDInitialized struct {
	ProducerID    uint64
	ProducerEpoch uint16
}

func (m *ProducerIDInitialized) appendFields(b []byte) []byte {
	return AppendUvarint(AppendUvarint(b, m.ProducerID), uint64(m.ProducerEpoch))
}

func (m *ProducerIDInitialized) decodeFields(d *Decoder) {
	m.ProducerID = d.U64()
	m.ProducerEpoch = d.U16()
}

// IdempotentPublished (response 21) answers IdempotentPublish; Duplicate means
// the record was already written at Offset.
type IdempotentPublished struct {
	Offset    uint64
	Partition uint32
	Duplicate bool
}

func (m *IdempotentPublished) appendFields(b []byte) []byte {
	b = AppendUvarint(b, m.Offset)
	b = AppendUvarint(b, uint64(m.Partition))
	return AppendBool(b, m.Duplicate)
}

func (m *IdempotentPublished) decodeFields(d *Decoder) {
	m.Offset = d.U64()
	m.Partition = d.U32()
	m.Duplicate = d.Bool()
}

// IdempotentPublishedBatch (response 41) answers IdempotentPublishBatch;
// Duplicate means the batch had already been written and nothing was appended.
type IdempotentPublishedBatch struct {
	BaseOffset  uint64
	Partition   uint32
	RecordCount uint32
	Duplicate   bool
}

func (m *IdempotentPublishedBatch) appendFields(b []byte) []byte {
	b = AppendUvarint(b, m.BaseOffset)
	b = AppendUvarint(b, uint64(m.Partition))
	b = AppendUvarint(b, uint64(m.RecordCount))
	return AppendBool(b, m.Duplicate)
}

func (m *IdempotentPublishedBatch) decodeFields(d *Decoder) {
	m.BaseOffset = d.U64()
	m.Partition = d.U32()
	m.RecordCount = d.U32()
	m.Duplicate = d.Bool()
}
