// Package api is Rampart's HTTP JSON API: handlers, problem+json errors and
// the health endpoints. Handlers reach the database only through the store's
// tenant and service transactions.
package api
