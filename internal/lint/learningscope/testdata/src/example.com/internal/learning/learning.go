// Package learning owns the learned state.
package learning

import "example.com/internal/store"

func weights(tx *store.TenantTx) store.LearnedStateTx { return tx.LearnedState() }
