// Package store embeds its migrations and named queries.
package store

import "embed"

//go:embed migrations/*.sql queries/*.sql
var sqlFS embed.FS
