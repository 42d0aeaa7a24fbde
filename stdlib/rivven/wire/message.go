package wire

import "strconv"

// RequestKind is a Request variant's postcard discriminant.
type RequestKind uint32

// Request discriminants, in rivven-protocol declaration order.
const (
	KindAuthenticate RequestKind = iota
	KindSaslAuthenticate
	KindScramClientFirst
	KindScramClientFinal
	KindPublish
	KindConsume
	KindCreateTopic
	KindListTopics
	KindDeleteTopic
	KindCommitOffset
	KindGetOffset
	KindGetMetadata
	KindGetClusterMetadata
	KindPing
	KindGetOffsetBounds
	KindListGroups
	KindDescribeGroup
	KindDeleteGroup
	KindGetOffsetForTimestamp
	KindInitProducerID
	KindIdempotentPublish
	KindBeginTransaction
	KindAddPartitionsToTxn
	KindTransactionalPublish
	KindAddOffsetsToTxn
	KindCommitTransaction
	KindAbortTransaction
	KindDescribeQuotas
	KindAlterQuotas
	KindAlterTopicConfig
	KindCreatePartitions
	KindDeleteRecords
	KindDescribeTopicConfigs
	KindHandshake
	KindJoinGroup
	KindSyncGroup
	KindHeartbeat
	KindLeaveGroup
	KindPublishBatch
	KindIdempotentPublishBatch
	numRequestKinds
)

var requestNames = [numRequestKinds]string{
	"Authenticate", "SaslAuthenticate", "ScramClientFirst", "ScramClientFinal", "Publish",
	"Consume", "CreateTopic", "ListTopics", "DeleteTopic", "CommitOffset", "GetOffset",
	"GetMetadata", "GetClusterMetadata", "Ping", "GetOffsetBounds", "ListGroups",
	"DescribeGroup", "DeleteGroup", "GetOffsetForTimestamp", "InitProducerId",
	"IdempotentPublish", "BeginTransaction", "AddPartitionsToTxn", "TransactionalPublish",
	"AddOffsetsToTxn", "CommitTransaction", "AbortTransaction", "DescribeQuotas",
	"AlterQuotas", "AlterTopicConfig", "CreatePartitions", "DeleteRecords",
	"DescribeTopicConfigs", "Handshake", "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup",
	"PublishBatch", "IdempotentPublishBatch",
}

// String returns the Rust variant name, e.g. "InitProducerId".
func (k RequestKind) String() string {
	if k < numRequestKinds {
		return requestNames[k]
	}
	return "Request(" + strconv.FormatUint(uint64(k), 10) + ")"
}

// ResponseKind is a Response variant's postcard discriminant.
type ResponseKind uint32

// Response discriminants, in rivven-protocol declaration order.
const (
	KindAuthenticated ResponseKind = iota
	KindScramServerFirst
	KindScramServerFinal
	KindPublished
	KindMessages
	KindTopicCreated
	KindTopics
	KindTopicDeleted
	KindOffsetCommitted
	KindOffset
	KindMetadata
	KindClusterMetadata
	KindPong
	KindOffsetBounds
	KindGroups
	KindGroupDescription
	KindGroupDeleted
	KindOffsetForTimestamp
	KindError
	KindOK
	KindProducerIDInitialized
	KindIdempotentPublished
	KindTransactionStarted
	KindPartitionsAddedToTxn
	KindTransactionalPublished
	KindOffsetsAddedToTxn
	KindTransactionCommitted
	KindTransactionAborted
	KindQuotasDescribed
	KindQuotasAltered
	KindThrottled
	KindTopicConfigAltered
	KindPartitionsCreated
	KindRecordsDeleted
	KindTopicConfigsDescribed
	KindHandshakeResult
	KindJoinGroupResult
	KindSyncGroupResult
	KindHeartbeatResult
	KindLeaveGroupResult
	KindPublishedBatch
	KindIdempotentPublishedBatch
	numResponseKinds
)

var responseNames = [numResponseKinds]string{
	"Authenticated", "ScramServerFirst", "ScramServerFinal", "Published", "Messages",
	"TopicCreated", "Topics", "TopicDeleted", "OffsetCommitted", "Offset", "Metadata",
	"ClusterMetadata", "Pong", "OffsetBounds", "Groups", "GroupDescription", "GroupDeleted",
	"OffsetForTimestamp", "Error", "Ok", "ProducerIdInitialized", "IdempotentPublished",
	"TransactionStarted", "PartitionsAddedToTxn", "TransactionalPublished",
	"OffsetsAddedToTxn", "TransactionCommitted", "TransactionAborted", "QuotasDescribed",
	"QuotasAltered", "Throttled", "TopicConfigAltered", "PartitionsCreated", "RecordsDeleted",
	"TopicConfigsDescribed", "HandshakeResult", "JoinGroupResult", "SyncGroupResult",
	"HeartbeatResult", "LeaveGroupResult", "PublishedBatch", "IdempotentPublishedBatch",
}

// String returns the Rust variant name, e.g. "HandshakeResult".
func (k ResponseKind) String() string {
	if k < numResponseKinds {
		return responseNames[k]
	}
	return "Response(" + strconv.FormatUint(uint64(k), 10) + ")"
}

// Request is one variant of rivven-protocol's Request enum. It is implemented
// only by the pointer types of this package.
//
// Encode appends the full payload (discriminant and fields) to dst. Decode
// replaces the receiver's fields from a full payload, which must hold exactly
// this variant; []byte fields then alias payload.
type Request interface {
	Encoder
	Kind() RequestKind
	Decode(payload []byte) error
	appendFields(dst []byte) []byte
	decodeFields(d *Decoder)
}

// Response is one variant of rivven-protocol's Response enum, with the same
// contract as Request.
type Response interface {
	Encoder
	Kind() ResponseKind
	Decode(payload []byte) error
	appendFields(dst []byte) []byte
	decodeFields(d *Decoder)
}

func encodeRequest(dst []byte, m Request) []byte {
	return m.appendFields(AppendUvarint(dst, uint64(m.Kind())))
}

func encodeResponse(dst []byte, m Response) []byte {
	return m.appendFields(AppendUvarint(dst, uint64(m.Kind())))
}

func decodeRequestInto(p []byte, m Request) error {
	d := Decoder{buf: p}
	if k := d.U32(); d.err == nil && RequestKind(k) != m.Kind() {
		d.off = 0
		d.fail(ErrWrongVariant)
	}
	m.decodeFields(&d)
	return d.Finish()
}

func decodeResponseInto(p []byte, m Response) error {
	d := Decoder{buf: p}
	if k := d.U32(); d.err == nil && ResponseKind(k) != m.Kind() {
		d.off = 0
		d.fail(ErrWrongVariant)
	}
	m.decodeFields(&d)
	return d.Finish()
}

// NewRequest returns a zero value of the variant k, or nil if k is unknown.
func NewRequest(k RequestKind) Request {
	if k >= numRequestKinds {
		return nil
	}
	return requestFactories[k]()
}

// NewResponse returns a zero value of the variant k, or nil if k is unknown.
func NewResponse(k ResponseKind) Response {
	if k >= numResponseKinds {
		return nil
	}
	return responseFactories[k]()
}

// DecodeRequest decodes a whole postcard payload into its Request variant.
func DecodeRequest(payload []byte) (Request, error) {
	d := Decoder{buf: payload}
	k := RequestKind(d.U32())
	if d.err != nil {
		return nil, d.err
	}
	m := NewRequest(k)
	if m == nil {
		d.off = 0
		d.fail(ErrUnknownVariant)
		return nil, d.err
	}
	m.decodeFields(&d)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeResponse decodes a whole postcard payload into its Response variant.
func DecodeResponse(payload []byte) (Response, error) {
	d := Decoder{buf: payload}
	k := ResponseKind(d.U32())
	if d.err != nil {
		return nil, d.err
	}
	m := NewResponse(k)
	if m == nil {
		d.off = 0
		d.fail(ErrUnknownVariant)
		return nil, d.err
	}
	m.decodeFields(&d)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	return m, nil
}

var requestFactories = [numRequestKinds]func() Request{
	func() Request { return new(Authenticate) },
	func() Request { return new(SaslAuthenticate) },
	func() Request { return new(ScramClientFirst) },
	func() Request { return new(ScramClientFinal) },
	func() Request { return new(Publish) },
	func() Request { return new(Consume) },
	func() Request { return new(CreateTopic) },
	func() Request { return new(ListTopics) },
	func() Request { return new(DeleteTopic) },
	func() Request { return new(CommitOffset) },
	func() Request { return new(GetOffset) },
	func() Request { return new(GetMetadata) },
	func() Request { return new(GetClusterMetadata) },
	func() Request { return new(Ping) },
	func() Request { return new(GetOffsetBounds) },
	func() Request { return new(ListGroups) },
	func() Request { return new(DescribeGroup) },
	func() Request { return new(DeleteGroup) },
	func() Request { return new(GetOffsetForTimestamp) },
	func() Request { return new(InitProducerID) },
	func() Request { return new(IdempotentPublish) },
	func() Request { return new(BeginTransaction) },
	func() Request { return new(AddPartitionsToTxn) },
	func() Request { return new(TransactionalPublish) },
	func() Request { return new(AddOffsetsToTxn) },
	func() Request { return new(CommitTransaction) },
	func() Request { return new(AbortTransaction) },
	func() Request { return new(DescribeQuotas) },
	func() Request { return new(AlterQuotas) },
	func() Request { return new(AlterTopicConfig) },
	func() Request { return new(CreatePartitions) },
	func() Request { return new(DeleteRecords) },
	func() Request { return new(DescribeTopicConfigs) },
	func() Request { return new(Handshake) },
	func() Request { return new(JoinGroup) },
	func() Request { return new(SyncGroup) },
	func() Request { return new(Heartbeat) },
	func() Request { return new(LeaveGroup) },
	func() Request { return new(PublishBatch) },
	func() Request { return new(IdempotentPublishBatch) },
}

var responseFactories = [numResponseKinds]func() Response{
	func() Response { return new(Authenticated) },
	func() Response { return new(ScramServerFirst) },
	func() Response { return new(ScramServerFinal) },
	func() Response { return new(Published) },
	func() Response { return new(Messages) },
	func() Response { return new(TopicCreated) },
	func() Response { return new(Topics) },
	func() Response { return new(TopicDeleted) },
	func() Response { return new(OffsetCommitted) },
	func() Response { return new(Offset) },
	func() Response { return new(Metadata) },
	func() Response { return new(ClusterMetadata) },
	func() Response { return new(Pong) },
	func() Response { return new(OffsetBounds) },
	func() Response { return new(Groups) },
	func() Response { return new(GroupDescription) },
	func() Response { return new(GroupDeleted) },
	func() Response { return new(OffsetForTimestamp) },
	func() Response { return new(ErrorResponse) },
	func() Response { return new(OK) },
	func() Response { return new(ProducerIDInitialized) },
	func() Response { return new(IdempotentPublished) },
	func() Response { return new(TransactionStarted) },
	func() Response { return new(PartitionsAddedToTxn) },
	func() Response { return new(TransactionalPublished) },
	func() Response { return new(OffsetsAddedToTxn) },
	func() Response { return new(TransactionCommitted) },
	func() Response { return new(TransactionAborted) },
	func() Response { return new(QuotasDescribed) },
	func() Response { return new(QuotasAltered) },
	func() Response { return new(Throttled) },
	func() Response { return new(TopicConfigAltered) },
	func() Response { return new(PartitionsCreated) },
	func() Response { return new(RecordsDeleted) },
	func() Response { return new(TopicConfigsDescribed) },
	func() Response { return new(HandshakeResult) },
	func() Response { return new(JoinGroupResult) },
	func() Response { return new(SyncGroupResult) },
	func() Response { return new(HeartbeatResult) },
	func() Response { return new(LeaveGroupResult) },
	func() Response { return new(PublishedBatch) },
	func() Response { return new(IdempotentPublishedBatch) },
}
