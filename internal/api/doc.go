// Package api is Rampart's HTTP JSON API: one file per resource, each
// registering its own routes, with their request types, on the edge
// (internal/edge), which owns the chain, authentication, rate limits,
// problem+json and the OpenAPI document. Handlers reach the database only
// through the store's tenant and service transactions.
//
// New is the composition of the HTTP side: it builds the edge router and
// registers the API's resources and the console's pages (internal/console)
// on it. server.go is the only file of this package that imports the
// console, and the console never imports this package.
package api
