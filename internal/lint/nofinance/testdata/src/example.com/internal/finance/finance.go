// Package finance stands in for the finance use cases.
package finance

// Approve signs.
func Approve() {}
