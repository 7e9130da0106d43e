// Package audit defines the audit log's vocabulary: the event shape, the
// actor types and the closed list of actions (DESIGN.md §6). Events are
// written by the store inside the transaction of the change they record
// (store.Tx.RecordAudit), so an acknowledged change always has its event and
// a rolled-back change has none.
//
// It also holds the tamper evidence, all keyed with secrets the database
// never sees: event MACs (Keyring.Sign), the per-chain seals that link
// finished ranges of events (Keyring.SignSeal), verification
// (Keyring.StartChain), and anchors, the chain heads kept outside the
// database that expose deletion of the newest seals (ParseAnchors,
// ChainVerifier.CheckAnchor; docs/audit.md).
package audit
