package wire

// Isolation levels for Consume.IsolationLevel.
const (
	ReadUncommitted uint8 = 0
	ReadCommitted   uint8 = 1
)

// MaxWaitMsLimit is the longest long poll rivvend honours (larger values are capped).
const MaxWaitMsLimit = 30_000

// Consume (request 5) reads up to MaxMessages records of one partition from
// Offset. With MaxWaitMs > 0 and nothing to read, the broker waits up to that
// long (capped at 30 s) for new records before answering an empty Messages.
// (Rust declares max_messages as usize; the varint bytes are the same.)
type Consume struct {
	Topic          string
	Partition      uint32
	Offset         uint64
	MaxMessages    uint32
	IsolationLevel Option[uint8]
	MaxWaitMs      Option[uint64]
}

func (m *Consume) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	b = AppendUvarint(b, uint64(m.Partition))
	b = AppendUvarint(b, m.Offset)
	b = AppendUvarint(b, uint64(m.MaxMessages))
	b = appendOpt(b, m.IsolationLevel, func(b []byte, v uint8) []byte { return append(b, v) })
	return appendOptU64(b, m.MaxWaitMs)
}

func (m *Consume) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.Partition = d.U32()
	m.Offset = d.U64()
	m.MaxMessages = d.U32()
	m.IsolationLevel = d.optU8()
	m.MaxWaitMs = d.optU64()
}

// Header is one (name, value) record header.
type Header struct {
	Key   string
	Value []byte
}

// MessageData is one consumed record. Timestamp is milliseconds since the epoch.
type MessageData struct {
	Offset    uint64
	Partition uint32
	Key       []byte // nil = None
	Value     []byte
	Timestamp int64
	Headers   []Header
}

func appendMessageData(b []byte, m MessageData) []byte {
	b = AppendUvarint(b, m.Offset)
	b = AppendUvarint(b, uint64(m.Partition))
	b = AppendOptionBytes(b, m.Key)
	b = AppendBytes(b, m.Value)
	b = AppendVarint(b, m.Timestamp)
	b = AppendUvarint(b, uint64(len(m.Headers)))
	for _, h := range m.Headers {
		b = AppendBytes(AppendString(b, h.Key), h.Value)
	}
	return b
}

func decHeader(d *Decoder) Header {
	k := d.String()
	return Header{Key: k, Value: d.Bytes()}
}

func decMessageData(d *Decoder) MessageData {
	var m MessageData
	m.Offset = d.U64()
	m.Partition = d.U32()
	m.Key = d.OptionBytes()
	m.Value = d.Bytes()
	m.Timestamp = d.I64()
	m.Headers = decVec(d, decHeader)
	return m
}

// Messages (response 4) answers Consume, in offset order; it may be empty.
type Messages struct {
	Messages []MessageData
}

func (m *Messages) appendFields(b []byte) []byte {
	b = AppendUvarint(b, uint64(len(m.Messages)))
	for i := range m.Messages {
		b = appendMessageData(b, m.Messages[i])
	}
	return b
}

func (m *Messages) decodeFields(d *Decoder) { m.Messages = decVec(d, decMessageData) }

// CommitOffset (request 9) stores a consumer group's offset for a partition.
type CommitOffset struct {
	ConsumerGroup string
	Topic         string
	Partition     uint32
	Offset        uint64
}

func (m *CommitOffset) appendFields(b []byte) []byte {
	b = AppendString(b, m.ConsumerGroup)
	b = AppendString(b, m.Topic)
	b = AppendUvarint(b, uint64(m.Partition))
	return AppendUvarint(b, m.Offset)
}

func (m *CommitOffset) decodeFields(d *Decoder) {
	m.ConsumerGroup = d.String()
	m.Topic = d.String()
	m.Partition = d.U32()
	m.Offset = d.U64()
}

// OffsetCommitted (response 8) answers CommitOffset.
type OffsetCommitted struct{}

func (m *OffsetCommitted) appendFields(b []byte) []byte { return b }
func (m *OffsetCommitted) decodeFields(*Decoder)        {}

// GetOffset (request 10) reads a consumer group's committed offset.
type GetOffset struct {
	ConsumerGroup string
	Topic         string
	Partition     uint32
}

func (m *GetOffset) appendFields(b []byte) []byte {
	b = AppendString(b, m.ConsumerGroup)
	b = AppendString(b, m.Topic)
	return AppendUvarint(b, uint64(m.Partition))
}

func (m *GetOffset) decodeFields(d *Decoder) {
	m.ConsumerGroup = d.String()
	m.Topic = d.String()
	m.Partition = d.U32()
}

// Offset (response 9) answers GetOffset; None when nothing was committed.
type Offset struct{ Offset Option[uint64] }

func (m *Offset) appendFields(b []byte) []byte { return appendOptU64(b, m.Offset) }
func (m *Offset) decodeFields(d *Decoder)      { m.Offset = d.optU64() }

// GetOffsetBounds (request 14) asks for a partition's earliest and next offsets.
type GetOffsetBounds struct {
	Topic     string
	Partition uint32
}

func (m *GetOffsetBounds) appendFields(b []byte) []byte {
	return AppendUvarint(AppendString(b, m.Topic), uint64(m.Partition))
}

func (m *GetOffsetBounds) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.Partition = d.U32()
}

// OffsetBounds (response 13): Latest is the next offset to be written.
type OffsetBounds struct {
	Earliest uint64
	Latest   uint64
}

func (m *OffsetBounds) appendFields(b []byte) []byte {
	return AppendUvarint(AppendUvarint(b, m.Earliest), m.Latest)
}

func (m *OffsetBounds) decodeFields(d *Decoder) {
	m.Earliest = d.U64()
	m.Latest = d.U64()
}

// GetOffsetForTimestamp (request 18) asks for the first offset whose timestamp
// is at or after TimestampMs (milliseconds since the epoch).
type GetOffsetForTimestamp struct {
	Topic       string
	Partition   uint32
	TimestampMs int64
}

func (m *GetOffsetForTimestamp) appendFields(b []byte) []byte {
	b = AppendString(b, m.Topic)
	b = AppendUvarint(b, uint64(m.Partition))
	return AppendVarint(b, m.TimestampMs)
}

func (m *GetOffsetForTimestamp) decodeFields(d *Decoder) {
	m.Topic = d.String()
	m.Partition = d.U32()
	m.TimestampMs = d.I64()
}

// OffsetForTimestamp (response 17) answers GetOffsetForTimestamp; None when no
// record is that recent.
type OffsetForTimestamp struct{ Offset Option[uint64] }

func (m *OffsetForTimestamp) appendFields(b []byte) []byte { return appendOptU64(b, m.Offset) }
func (m *OffsetForTimestamp) decodeFields(d *Decoder)      { m.Offset = d.optU64() }
