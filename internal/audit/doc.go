// Package audit defines the audit log's vocabulary: the event shape, the
// actor types and the closed list of actions (DESIGN.md §6). Events are
// written by the store inside the transaction of the change they record
// (store.Tx.RecordAudit), so an acknowledged change always has its event and
// a rolled-back change has none.
package audit
