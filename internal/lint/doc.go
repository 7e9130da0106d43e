// Package lint holds Rampart's own static checks, one go/analysis analyzer
// per subpackage, run together by cmd/rampart-lint (make lint). Each rule,
// why it exists and how to justify an exception is in docs/guardrails.md.
//
// The SQL rules (orgscoping, rlsmigration, nosurveillance and the SQL half
// of learningscope) read the .sql files a package embeds with //go:embed
// (internal/lint/sqlsource) and parse them with the real PostgreSQL parser
// (pg_query_go, cgo): a file the parser refuses is a finding, never a skip.
package lint
