// Package brokertest is a TEST DOUBLE of the Rivven broker (rivvend) for client
// tests. It is not a broker: it implements only the subset of the native
// protocol that the rivven client uses, in memory, in process, on a loopback
// listener (127.0.0.1:0), and keeps nothing after Close.
//
// What it implements, following rivvend 0.0.22 as described in
// broker-protocol.md: framing (10 MiB limit), Handshake (protocol version 2),
// SCRAM-SHA-256 and plain (Authenticate, SASL PLAIN) authentication with
// configurable users and the TLS requirement for plain credentials, session
// expiry on demand, CreateTopic/ListTopics/DeleteTopic (names starting with
// '_' are refused as rivvend does), GetMetadata/GetClusterMetadata, Publish,
// PublishBatch, InitProducerId and IdempotentPublish(Batch) with duplicate
// detection by (producer, partition, sequence) over the last 5 batches,
// Consume with long polling, CommitOffset/GetOffset, GetOffsetBounds and
// GetOffsetForTimestamp, and a consumer-group coordinator (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup: members, generations, a join barrier with
// a short rebalance delay, session expiry; see [Server.Group]). Every other
// request is answered Error{"UNSUPPORTED: …"}. Error messages copy rivvend's
// wording where the client depends on their code prefix.
//
// Differences from rivvend worth knowing: keyed partitioning uses FNV-1a
// (rivvend's hash differs, so key → partition mappings do not match), keyless
// records rotate partitions per request, there is no rate limiting, no lockout
// after failed logins, no idle timeout, and no persistence. Group rebalances
// follow Kafka's timing (JoinGroup waits for every member to rejoin; the
// generation is bumped when the join phase completes) where rivvend 0.0.22
// answers JoinGroup at once and bumps the generation when a stable group is
// disturbed, so rivvend's members see ILLEGAL_GENERATION where this double's
// see heartbeat code 27; Config.RivvendGroupTiming switches to rivvend's
// timing. The reply shapes and error wording are rivvend's either way.
//
// Fault injection: a [FaultFunc] sees every decoded request before it is
// handled and can drop the connection before or after handling it (the
// latter loses the reply of an applied request), answer with a wrong
// correlation id, or delay the reply. See [DropAfter].
//
// All Server methods are safe for concurrent use.
package brokertest
