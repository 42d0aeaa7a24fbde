// Package cdc is the mysql-cdc source: change data capture from a
// MariaDB or MySQL binary log in ROW format, read as a replica through
// go-mysql's binlog syncer (github.com/go-mysql-org/go-mysql/replication),
// after a lock-free consistent snapshot (MariaDB: START TRANSACTION WITH
// CONSISTENT SNAPSHOT and the binlog position that matches it). The
// record envelope, the value encoding and the configuration are
// specified in SPEC.md (§2.2, mysql-cdc).
//
// Delivery: every record gets the next Position.Offset of the run and a
// Position.Token that names its place in the binlog or the snapshot, the
// same in every run that reads it (token.go):
//
//   - the last record of a transaction: "FILE:POS[ gtid=SET]", the
//     position after its commit;
//   - every other record of a transaction: "FILE:POS[ gtid=SET] #E.R",
//     where the transaction starts (its GTID event, and the GTID position
//     before it) and the change: row change R of the transaction's rows
//     event E, counting every table's rows events;
//   - a snapshot record: "snapshot `db`.`table` #N", its ordinal in the
//     table's snapshot (primary-key order), except the last, which carries
//     the snapshot's binlog position.
//
// The source keeps no position on the server: it is runtime.Resumable,
// and the driver keeps the acknowledged position in settings.state_dir
// (in a cluster, in the lease row). Resume goes on after the record whose
// token it gets: after its transaction, or inside it with the next change
// (the transaction is read again from its start and its changes up to the
// token's are skipped), so a restart after a crash delivers again only
// what was not acknowledged, with the tokens it had, and a restart after a
// graceful stop delivers nothing again. A snapshot token takes the
// snapshot again. Tokens of earlier versions (no "#E.R") resume as they
// did: a partly acknowledged transaction is delivered again from its
// start. A lost binlog connection is reopened at the end of the last
// transaction read in full, and the changes of the interrupted
// transaction that Read already has are skipped the same way
// (reconnect.go).
package cdc
