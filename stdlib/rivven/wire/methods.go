package wire

// Kind, Encode and Decode of every variant. Encode appends the payload
// (discriminant, then fields) to dst and returns the extended slice. Decode
// replaces the receiver's fields from a payload that must hold exactly this
// variant and nothing after it; []byte fields alias payload.

// Kind returns KindAuthenticate.
func (m *Authenticate) Kind() RequestKind { return KindAuthenticate }

// Encode appends m's payload to dst.
func (m *Authenticate) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a Authenticate payload.
func (m *Authenticate) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindSaslAuthenticate.
func (m *SaslAuthenticate) Kind() RequestKind { return KindSaslAuthenticate }

// Encode appends m's payload to dst.
func (m *SaslAuthenticate) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a SaslAuthenticate payload.
func (m *SaslAuthenticate) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindScramClientFirst.
func (m *ScramClientFirst) Kind() RequestKind { return KindScramClientFirst }

// Encode appends m's payload to dst.
func (m *ScramClientFirst) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a ScramClientFirst payload.
func (m *ScramClientFirst) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindScramClientFinal.
func (m *ScramClientFinal) Kind() RequestKind { return KindScramClientFinal }

// Encode appends m's payload to dst.
func (m *ScramClientFinal) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a ScramClientFinal payload.
func (m *ScramClientFinal) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindPublish.
func (m *Publish) Kind() RequestKind { return KindPublish }

// Encode appends m's payload to dst.
func (m *Publish) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a Publish payload.
func (m *Publish) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindConsume.
func (m *Consume) Kind() RequestKind { return KindConsume }

// Encode appends m's payload to dst.
func (m *Consume) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a Consume payload.
func (m *Consume) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindCreateTopic.
func (m *CreateTopic) Kind() RequestKind { return KindCreateTopic }

// Encode appends m's payload to dst.
func (m *CreateTopic) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a CreateTopic payload.
func (m *CreateTopic) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindListTopics.
func (m *ListTopics) Kind() RequestKind { return KindListTopics }

// Encode appends m's payload to dst.
func (m *ListTopics) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a ListTopics payload.
func (m *ListTopics) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindDeleteTopic.
func (m *DeleteTopic) Kind() RequestKind { return KindDeleteTopic }

// Encode appends m's payload to dst.
func (m *DeleteTopic) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a DeleteTopic payload.
func (m *DeleteTopic) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindCommitOffset.
func (m *CommitOffset) Kind() RequestKind { return KindCommitOffset }

// Encode appends m's payload to dst.
func (m *CommitOffset) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a CommitOffset payload.
func (m *CommitOffset) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindGetOffset.
func (m *GetOffset) Kind() RequestKind { return KindGetOffset }

// Encode appends m's payload to dst.
func (m *GetOffset) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a GetOffset payload.
func (m *GetOffset) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindGetMetadata.
func (m *GetMetadata) Kind() RequestKind { return KindGetMetadata }

// Encode appends m's payload to dst.
func (m *GetMetadata) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a GetMetadata payload.
func (m *GetMetadata) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindGetClusterMetadata.
func (m *GetClusterMetadata) Kind() RequestKind { return KindGetClusterMetadata }

// Encode appends m's payload to dst.
func (m *GetClusterMetadata) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a GetClusterMetadata payload.
func (m *GetClusterMetadata) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindPing.
func (m *Ping) Kind() RequestKind { return KindPing }

// Encode appends m's payload to dst.
func (m *Ping) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a Ping payload.
func (m *Ping) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindGetOffsetBounds.
func (m *GetOffsetBounds) Kind() RequestKind { return KindGetOffsetBounds }

// Encode appends m's payload to dst.
func (m *GetOffsetBounds) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a GetOffsetBounds payload.
func (m *GetOffsetBounds) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindListGroups.
func (m *ListGroups) Kind() RequestKind { return KindListGroups }

// Encode appends m's payload to dst.
func (m *ListGroups) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a ListGroups payload.
func (m *ListGroups) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindDescribeGroup.
func (m *DescribeGroup) Kind() RequestKind { return KindDescribeGroup }

// Encode appends m's payload to dst.
func (m *DescribeGroup) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a DescribeGroup payload.
func (m *DescribeGroup) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindDeleteGroup.
func (m *DeleteGroup) Kind() RequestKind { return KindDeleteGroup }

// Encode appends m's payload to dst.
func (m *DeleteGroup) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a DeleteGroup payload.
func (m *DeleteGroup) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindGetOffsetForTimestamp.
func (m *GetOffsetForTimestamp) Kind() RequestKind { return KindGetOffsetForTimestamp }

// Encode appends m's payload to dst.
func (m *GetOffsetForTimestamp) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a GetOffsetForTimestamp payload.
func (m *GetOffsetForTimestamp) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindInitProducerID.
func (m *InitProducerID) Kind() RequestKind { return KindInitProducerID }

// Encode appends m's payload to dst.
func (m *InitProducerID) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a InitProducerID payload.
func (m *InitProducerID) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindIdempotentPublish.
func (m *IdempotentPublish) Kind() RequestKind { return KindIdempotentPublish }

// Encode appends m's payload to dst.
func (m *IdempotentPublish) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a IdempotentPublish payload.
func (m *IdempotentPublish) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindBeginTransaction.
func (m *BeginTransaction) Kind() RequestKind { return KindBeginTransaction }

// Encode appends m's payload to dst.
func (m *BeginTransaction) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a BeginTransaction payload.
func (m *BeginTransaction) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindAddPartitionsToTxn.
func (m *AddPartitionsToTxn) Kind() RequestKind { return KindAddPartitionsToTxn }

// Encode appends m's payload to dst.
func (m *AddPartitionsToTxn) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a AddPartitionsToTxn payload.
func (m *AddPartitionsToTxn) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindTransactionalPublish.
func (m *TransactionalPublish) Kind() RequestKind { return KindTransactionalPublish }

// Encode appends m's payload to dst.
func (m *TransactionalPublish) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a TransactionalPublish payload.
func (m *TransactionalPublish) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindAddOffsetsToTxn.
func (m *AddOffsetsToTxn) Kind() RequestKind { return KindAddOffsetsToTxn }

// Encode appends m's payload to dst.
func (m *AddOffsetsToTxn) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a AddOffsetsToTxn payload.
func (m *AddOffsetsToTxn) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindCommitTransaction.
func (m *CommitTransaction) Kind() RequestKind { return KindCommitTransaction }

// Encode appends m's payload to dst.
func (m *CommitTransaction) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a CommitTransaction payload.
func (m *CommitTransaction) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindAbortTransaction.
func (m *AbortTransaction) Kind() RequestKind { return KindAbortTransaction }

// Encode appends m's payload to dst.
func (m *AbortTransaction) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a AbortTransaction payload.
func (m *AbortTransaction) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindDescribeQuotas.
func (m *DescribeQuotas) Kind() RequestKind { return KindDescribeQuotas }

// Encode appends m's payload to dst.
func (m *DescribeQuotas) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a DescribeQuotas payload.
func (m *DescribeQuotas) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindAlterQuotas.
func (m *AlterQuotas) Kind() RequestKind { return KindAlterQuotas }

// Encode appends m's payload to dst.
func (m *AlterQuotas) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a AlterQuotas payload.
func (m *AlterQuotas) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindAlterTopicConfig.
func (m *AlterTopicConfig) Kind() RequestKind { return KindAlterTopicConfig }

// Encode appends m's payload to dst.
func (m *AlterTopicConfig) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a AlterTopicConfig payload.
func (m *AlterTopicConfig) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindCreatePartitions.
func (m *CreatePartitions) Kind() RequestKind { return KindCreatePartitions }

// Encode appends m's payload to dst.
func (m *CreatePartitions) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a CreatePartitions payload.
func (m *CreatePartitions) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindDeleteRecords.
func (m *DeleteRecords) Kind() RequestKind { return KindDeleteRecords }

// Encode appends m's payload to dst.
func (m *DeleteRecords) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a DeleteRecords payload.
func (m *DeleteRecords) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindDescribeTopicConfigs.
func (m *DescribeTopicConfigs) Kind() RequestKind { return KindDescribeTopicConfigs }

// Encode appends m's payload to dst.
func (m *DescribeTopicConfigs) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a DescribeTopicConfigs payload.
func (m *DescribeTopicConfigs) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindHandshake.
func (m *Handshake) Kind() RequestKind { return KindHandshake }

// Encode appends m's payload to dst.
func (m *Handshake) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a Handshake payload.
func (m *Handshake) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindJoinGroup.
func (m *JoinGroup) Kind() RequestKind { return KindJoinGroup }

// Encode appends m's payload to dst.
func (m *JoinGroup) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a JoinGroup payload.
func (m *JoinGroup) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindSyncGroup.
func (m *SyncGroup) Kind() RequestKind { return KindSyncGroup }

// Encode appends m's payload to dst.
func (m *SyncGroup) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a SyncGroup payload.
func (m *SyncGroup) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindHeartbeat.
func (m *Heartbeat) Kind() RequestKind { return KindHeartbeat }

// Encode appends m's payload to dst.
func (m *Heartbeat) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a Heartbeat payload.
func (m *Heartbeat) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindLeaveGroup.
func (m *LeaveGroup) Kind() RequestKind { return KindLeaveGroup }

// Encode appends m's payload to dst.
func (m *LeaveGroup) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a LeaveGroup payload.
func (m *LeaveGroup) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindPublishBatch.
func (m *PublishBatch) Kind() RequestKind { return KindPublishBatch }

// Encode appends m's payload to dst.
func (m *PublishBatch) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a PublishBatch payload.
func (m *PublishBatch) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindIdempotentPublishBatch.
func (m *IdempotentPublishBatch) Kind() RequestKind { return KindIdempotentPublishBatch }

// Encode appends m's payload to dst.
func (m *IdempotentPublishBatch) Encode(dst []byte) []byte { return encodeRequest(dst, m) }

// Decode sets m from a IdempotentPublishBatch payload.
func (m *IdempotentPublishBatch) Decode(payload []byte) error { return decodeRequestInto(payload, m) }

// Kind returns KindAuthenticated.
func (m *Authenticated) Kind() ResponseKind { return KindAuthenticated }

// Encode appends m's payload to dst.
func (m *Authenticated) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Authenticated payload.
func (m *Authenticated) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindScramServerFirst.
func (m *ScramServerFirst) Kind() ResponseKind { return KindScramServerFirst }

// Encode appends m's payload to dst.
func (m *ScramServerFirst) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a ScramServerFirst payload.
func (m *ScramServerFirst) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindScramServerFinal.
func (m *ScramServerFinal) Kind() ResponseKind { return KindScramServerFinal }

// Encode appends m's payload to dst.
func (m *ScramServerFinal) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a ScramServerFinal payload.
func (m *ScramServerFinal) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindPublished.
func (m *Published) Kind() ResponseKind { return KindPublished }

// Encode appends m's payload to dst.
func (m *Published) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Published payload.
func (m *Published) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindMessages.
func (m *Messages) Kind() ResponseKind { return KindMessages }

// Encode appends m's payload to dst.
func (m *Messages) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Messages payload.
func (m *Messages) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindTopicCreated.
func (m *TopicCreated) Kind() ResponseKind { return KindTopicCreated }

// Encode appends m's payload to dst.
func (m *TopicCreated) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a TopicCreated payload.
func (m *TopicCreated) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindTopics.
func (m *Topics) Kind() ResponseKind { return KindTopics }

// Encode appends m's payload to dst.
func (m *Topics) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Topics payload.
func (m *Topics) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindTopicDeleted.
func (m *TopicDeleted) Kind() ResponseKind { return KindTopicDeleted }

// Encode appends m's payload to dst.
func (m *TopicDeleted) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a TopicDeleted payload.
func (m *TopicDeleted) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindOffsetCommitted.
func (m *OffsetCommitted) Kind() ResponseKind { return KindOffsetCommitted }

// Encode appends m's payload to dst.
func (m *OffsetCommitted) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a OffsetCommitted payload.
func (m *OffsetCommitted) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindOffset.
func (m *Offset) Kind() ResponseKind { return KindOffset }

// Encode appends m's payload to dst.
func (m *Offset) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Offset payload.
func (m *Offset) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindMetadata.
func (m *Metadata) Kind() ResponseKind { return KindMetadata }

// Encode appends m's payload to dst.
func (m *Metadata) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Metadata payload.
func (m *Metadata) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindClusterMetadata.
func (m *ClusterMetadata) Kind() ResponseKind { return KindClusterMetadata }

// Encode appends m's payload to dst.
func (m *ClusterMetadata) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a ClusterMetadata payload.
func (m *ClusterMetadata) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindPong.
func (m *Pong) Kind() ResponseKind { return KindPong }

// Encode appends m's payload to dst.
func (m *Pong) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Pong payload.
func (m *Pong) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindOffsetBounds.
func (m *OffsetBounds) Kind() ResponseKind { return KindOffsetBounds }

// Encode appends m's payload to dst.
func (m *OffsetBounds) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a OffsetBounds payload.
func (m *OffsetBounds) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindGroups.
func (m *Groups) Kind() ResponseKind { return KindGroups }

// Encode appends m's payload to dst.
func (m *Groups) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Groups payload.
func (m *Groups) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindGroupDescription.
func (m *GroupDescription) Kind() ResponseKind { return KindGroupDescription }

// Encode appends m's payload to dst.
func (m *GroupDescription) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a GroupDescription payload.
func (m *GroupDescription) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindGroupDeleted.
func (m *GroupDeleted) Kind() ResponseKind { return KindGroupDeleted }

// Encode appends m's payload to dst.
func (m *GroupDeleted) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a GroupDeleted payload.
func (m *GroupDeleted) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindOffsetForTimestamp.
func (m *OffsetForTimestamp) Kind() ResponseKind { return KindOffsetForTimestamp }

// Encode appends m's payload to dst.
func (m *OffsetForTimestamp) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a OffsetForTimestamp payload.
func (m *OffsetForTimestamp) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindError.
func (m *ErrorResponse) Kind() ResponseKind { return KindError }

// Encode appends m's payload to dst.
func (m *ErrorResponse) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Error payload.
func (m *ErrorResponse) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindOK.
func (m *OK) Kind() ResponseKind { return KindOK }

// Encode appends m's payload to dst.
func (m *OK) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a OK payload.
func (m *OK) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindProducerIDInitialized.
func (m *ProducerIDInitialized) Kind() ResponseKind { return KindProducerIDInitialized }

// Encode appends m's payload to dst.
func (m *ProducerIDInitialized) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a ProducerIDInitialized payload.
func (m *ProducerIDInitialized) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindIdempotentPublished.
func (m *IdempotentPublished) Kind() ResponseKind { return KindIdempotentPublished }

// Encode appends m's payload to dst.
func (m *IdempotentPublished) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a IdempotentPublished payload.
func (m *IdempotentPublished) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindTransactionStarted.
func (m *TransactionStarted) Kind() ResponseKind { return KindTransactionStarted }

// Encode appends m's payload to dst.
func (m *TransactionStarted) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a TransactionStarted payload.
func (m *TransactionStarted) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindPartitionsAddedToTxn.
func (m *PartitionsAddedToTxn) Kind() ResponseKind { return KindPartitionsAddedToTxn }

// Encode appends m's payload to dst.
func (m *PartitionsAddedToTxn) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a PartitionsAddedToTxn payload.
func (m *PartitionsAddedToTxn) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindTransactionalPublished.
func (m *TransactionalPublished) Kind() ResponseKind { return KindTransactionalPublished }

// Encode appends m's payload to dst.
func (m *TransactionalPublished) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a TransactionalPublished payload.
func (m *TransactionalPublished) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindOffsetsAddedToTxn.
func (m *OffsetsAddedToTxn) Kind() ResponseKind { return KindOffsetsAddedToTxn }

// Encode appends m's payload to dst.
func (m *OffsetsAddedToTxn) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a OffsetsAddedToTxn payload.
func (m *OffsetsAddedToTxn) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindTransactionCommitted.
func (m *TransactionCommitted) Kind() ResponseKind { return KindTransactionCommitted }

// Encode appends m's payload to dst.
func (m *TransactionCommitted) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a TransactionCommitted payload.
func (m *TransactionCommitted) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindTransactionAborted.
func (m *TransactionAborted) Kind() ResponseKind { return KindTransactionAborted }

// Encode appends m's payload to dst.
func (m *TransactionAborted) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a TransactionAborted payload.
func (m *TransactionAborted) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindQuotasDescribed.
func (m *QuotasDescribed) Kind() ResponseKind { return KindQuotasDescribed }

// Encode appends m's payload to dst.
func (m *QuotasDescribed) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a QuotasDescribed payload.
func (m *QuotasDescribed) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindQuotasAltered.
func (m *QuotasAltered) Kind() ResponseKind { return KindQuotasAltered }

// Encode appends m's payload to dst.
func (m *QuotasAltered) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a QuotasAltered payload.
func (m *QuotasAltered) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindThrottled.
func (m *Throttled) Kind() ResponseKind { return KindThrottled }

// Encode appends m's payload to dst.
func (m *Throttled) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a Throttled payload.
func (m *Throttled) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindTopicConfigAltered.
func (m *TopicConfigAltered) Kind() ResponseKind { return KindTopicConfigAltered }

// Encode appends m's payload to dst.
func (m *TopicConfigAltered) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a TopicConfigAltered payload.
func (m *TopicConfigAltered) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindPartitionsCreated.
func (m *PartitionsCreated) Kind() ResponseKind { return KindPartitionsCreated }

// Encode appends m's payload to dst.
func (m *PartitionsCreated) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a PartitionsCreated payload.
func (m *PartitionsCreated) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindRecordsDeleted.
func (m *RecordsDeleted) Kind() ResponseKind { return KindRecordsDeleted }

// Encode appends m's payload to dst.
func (m *RecordsDeleted) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a RecordsDeleted payload.
func (m *RecordsDeleted) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindTopicConfigsDescribed.
func (m *TopicConfigsDescribed) Kind() ResponseKind { return KindTopicConfigsDescribed }

// Encode appends m's payload to dst.
func (m *TopicConfigsDescribed) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a TopicConfigsDescribed payload.
func (m *TopicConfigsDescribed) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindHandshakeResult.
func (m *HandshakeResult) Kind() ResponseKind { return KindHandshakeResult }

// Encode appends m's payload to dst.
func (m *HandshakeResult) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a HandshakeResult payload.
func (m *HandshakeResult) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindJoinGroupResult.
func (m *JoinGroupResult) Kind() ResponseKind { return KindJoinGroupResult }

// Encode appends m's payload to dst.
func (m *JoinGroupResult) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a JoinGroupResult payload.
func (m *JoinGroupResult) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindSyncGroupResult.
func (m *SyncGroupResult) Kind() ResponseKind { return KindSyncGroupResult }

// Encode appends m's payload to dst.
func (m *SyncGroupResult) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a SyncGroupResult payload.
func (m *SyncGroupResult) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindHeartbeatResult.
func (m *HeartbeatResult) Kind() ResponseKind { return KindHeartbeatResult }

// Encode appends m's payload to dst.
func (m *HeartbeatResult) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a HeartbeatResult payload.
func (m *HeartbeatResult) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindLeaveGroupResult.
func (m *LeaveGroupResult) Kind() ResponseKind { return KindLeaveGroupResult }

// Encode appends m's payload to dst.
func (m *LeaveGroupResult) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a LeaveGroupResult payload.
func (m *LeaveGroupResult) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindPublishedBatch.
func (m *PublishedBatch) Kind() ResponseKind { return KindPublishedBatch }

// Encode appends m's payload to dst.
func (m *PublishedBatch) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a PublishedBatch payload.
func (m *PublishedBatch) Decode(payload []byte) error { return decodeResponseInto(payload, m) }

// Kind returns KindIdempotentPublishedBatch.
func (m *IdempotentPublishedBatch) Kind() ResponseKind { return KindIdempotentPublishedBatch }

// Encode appends m's payload to dst.
func (m *IdempotentPublishedBatch) Encode(dst []byte) []byte { return encodeResponse(dst, m) }

// Decode sets m from a IdempotentPublishedBatch payload.
func (m *IdempotentPublishedBatch) Decode(payload []byte) error {
	return decodeResponseInto(payload, m)
}
