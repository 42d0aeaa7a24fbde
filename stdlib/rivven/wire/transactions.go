package wire

// TxnProducer is the (txn_id, producer_id, producer_epoch) prefix shared by the
// transaction requests.
type TxnProducer struct {
	TxnID         string
	ProducerID    uint64
	ProducerEpoch uint16
}

func (p *TxnProducer) append(b []byte) []byte {
	b = AppendString(b, p.TxnID)
	b = AppendUvarint(b, p.ProducerID)
	return AppendUvarint(b, uint64(p.ProducerEpoch))
}

func (p *TxnProducer) decode(d *Decoder) {
	p.TxnID = d.String()
	p.ProducerID = d.U64()
	p.ProducerEpoch = d.U16()
}

// BeginTransaction (request 21) opens a transaction (TimeoutMs None → 60 s).
type BeginTransaction struct {
	TxnProducer
	TimeoutMs Option[uint64]
}

func (m *BeginTransaction) appendFields(b []byte) []byte {
	return appendOptU64(m.TxnProducer.append(b), m.TimeoutMs)
}

func (m *BeginTransaction) decodeFields(d *Decoder) {
	m.TxnProducer.decode(d)
	m.TimeoutMs = d.optU64()
}

// TopicPartition is a (topic, partition) pair.
type TopicPartition struct {
	Topic     string
	Partition uint32
}

// AddPartitionsToTxn (request 22) adds partitions to an open transaction.
type AddPartitionsToTxn struct {
	TxnProducer
	Partitions []TopicPartition
}

func (m *AddPartitionsToTxn) appendFields(b []byte) []byte {
	return appendVec(m.TxnProducer.append(b), m.Partitions, func(b []byte, p TopicPartition) []byte {
		return AppendUvarint(AppendString(b, p.Topic), uint64(p.Partition))
	})
}

func (m *AddPartitionsToTxn) decodeFields(d *Decoder) {
	m.TxnProducer.decode(d)
	m.Partitions = decVec(d, func(d *Decoder) (p TopicPartition) {
		p.Topic = d.String()
		p.Partition = d.U32()
		return p
	})
}

// TransactionalPublish (request 23) publishes one record inside a transaction.
type TransactionalPublish struct {
	TxnID         string
	Topic         string
	Partition     Option[uint32]
	Key           []byte // nil = None
	Value         []byte
	ProducerID    uint64
	ProducerEpoch uint16
	Sequence      int32
	LeaderEpoch   Option[uint64]
}

func (m *TransactionalPublish) appendFields(b []byte) []byte {
	b = AppendString(b, m.TxnID)
	b = AppendString(b, m.Topic)
	b = appendOptU32(b, m.Partition)
	b = AppendOptionBytes(b, m.Key)
	b = AppendBytes(b, m.Value)
	b = AppendUvarint(b, m.ProducerID)
	b = AppendUvarint(b, uint64(m.ProducerEpoch))
	b = AppendVarint(b, int64(m.Sequence))
	return appendOptU64(b, m.LeaderEpoch)
}

func (m *TransactionalPublish) decodeFields(d *Decoder) {
	m.TxnID = d.String()
	m.Topic = d.String()
	m.Partition = d.optU32()
	m.Key = d.OptionBytes()
	m.Value = d.Bytes()
	m.ProducerID = d.U64()
	m.ProducerEpoch = d.U16()
	m.Sequence = d.I32()
	m.LeaderEpoch = d.optU64()
}

// TxnOffset is a (topic, partition, offset) triple of AddOffsetsToTxn.
type TxnOffset struct {
	Topic     string
	Partition uint32
	Offset    int64
}

// AddOffsetsToTxn (request 24) commits consumer offsets with the transaction.
type AddOffsetsToTxn struct {
	TxnProducer
	GroupID string
	Offsets []TxnOffset
}

func (m *AddOffsetsToTxn) appendFields(b []byte) []byte {
	b = AppendString(m.TxnProducer.append(b), m.GroupID)
	return appendVec(b, m.Offsets, func(b []byte, o TxnOffset) []byte {
		b = AppendString(b, o.Topic)
		b = AppendUvarint(b, uint64(o.Partition))
		return AppendVarint(b, o.Offset)
	})
}

func (m *AddOffsetsToTxn) decodeFields(d *Decoder) {
	m.TxnProducer.decode(d)
	m.GroupID = d.String()
	m.Offsets = decVec(d, func(d *Decoder) (o TxnOffset) {
		o.Topic = d.String()
		o.Partition = d.U32()
		o.Offset = d.I64()
		return o
	})
}

// CommitTransaction (request 25) commits a transaction.
type CommitTransaction struct{ TxnProducer }

func (m *CommitTransaction) appendFields(b []byte) []byte { return m.TxnProducer.append(b) }
func (m *CommitTransaction) decodeFields(d *Decoder)      { m.TxnProducer.decode(d) }

// AbortTransaction (request 26) aborts a transaction.
type AbortTransaction struct{ TxnProducer }

func (m *AbortTransaction) appendFields(b []byte) []byte { return m.TxnProducer.append(b) }
func (m *AbortTransaction) decodeFields(d *Decoder)      { m.TxnProducer.decode(d) }

// TransactionStarted (response 22) answers BeginTransaction.
type TransactionStarted struct{ TxnID string }

func (m *TransactionStarted) appendFields(b []byte) []byte { return AppendString(b, m.TxnID) }
func (m *TransactionStarted) decodeFields(d *Decoder)      { m.TxnID = d.String() }

// PartitionsAddedToTxn (response 23) answers AddPartitionsToTxn.
type PartitionsAddedToTxn struct {
	TxnID          string
	PartitionCount uint64
}

func (m *PartitionsAddedToTxn) appendFields(b []byte) []byte {
	return AppendUvarint(AppendString(b, m.TxnID), m.PartitionCount)
}

func (m *PartitionsAddedToTxn) decodeFields(d *Decoder) {
	m.TxnID = d.String()
	m.PartitionCount = d.U64()
}

// TransactionalPublished (response 24) answers TransactionalPublish.
type TransactionalPublished struct {
	Offset    uint64
	Partition uint32
	Sequence  int32
}

func (m *TransactionalPublished) appendFields(b []byte) []byte {
	b = AppendUvarint(b, m.Offset)
	b = AppendUvarint(b, uint64(m.Partition))
	return AppendVarint(b, int64(m.Sequence))
}

func (m *TransactionalPublished) decodeFields(d *Decoder) {
	m.Offset = d.U64()
	m.Partition = d.U32()
	m.Sequence = d.I32()
}

// OffsetsAddedToTxn (response 25) answers AddOffsetsToTxn.
type OffsetsAddedToTxn struct{ TxnID string }

func (m *OffsetsAddedToTxn) appendFields(b []byte) []byte { return AppendString(b, m.TxnID) }
func (m *OffsetsAddedToTxn) decodeFields(d *Decoder)      { m.TxnID = d.String() }

// TransactionCommitted (response 26) answers CommitTransaction.
type TransactionCommitted struct{ TxnID string }

func (m *TransactionCommitted) appendFields(b []byte) []byte { return AppendString(b, m.TxnID) }
func (m *TransactionCommitted) decodeFields(d *Decoder)      { m.TxnID = d.String() }

// TransactionAborted (response 27) answers AbortTransaction.
type TransactionAborted struct{ TxnID string }

func (m *TransactionAborted) appendFields(b []byte) []byte { return AppendString(b, m.TxnID) }
func (m *TransactionAborted) decodeFields(d *Decoder)      { m.TxnID = d.String() }
