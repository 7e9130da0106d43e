// Package crew ranks crew: it must ask the learning package.
package crew

import "example.com/internal/store"

func rank(tx *store.TenantTx) {
	_ = tx.Crew()
	_ = tx.LearnedState() // want `learning-scope: example.com/internal/crew reaches the learned-state tables`
}
