// Command gendocs writes docs/permissions.md from the permission matrix of
// package access. It runs through `go generate ./internal/access`.
package main
