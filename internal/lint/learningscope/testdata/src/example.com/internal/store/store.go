// Package store embeds its SQL and has the learned-state door.
package store

import "embed"

//go:embed migrations/*.sql queries/*.sql
var sqlFS embed.FS

// TenantTx is a tenant transaction.
type TenantTx struct{}

// LearnedStateTx is the learned-state aggregate.
type LearnedStateTx struct{}

// LearnedState is the door.
func (tx *TenantTx) LearnedState() LearnedStateTx { return LearnedStateTx{} }

// Crew is another aggregate.
func (tx *TenantTx) Crew() int { return 0 }
