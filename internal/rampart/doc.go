// Package rampart holds the domain vocabulary every other package shares:
// the error type with its kinds, the roles, the tenant claims and the
// context helpers that carry them. It imports nothing of Rampart's own and
// no adapter (database, HTTP, model SDK), so every layer can depend on it.
package rampart
