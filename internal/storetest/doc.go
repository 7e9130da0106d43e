// Package storetest gives the use-case packages' tests a store on a fresh
// PostgreSQL database (internal/pgtest, connected as the runtime and
// service logins, never a superuser) with two organizations seeded the
// same way: a member of every role (the venue manager scoped to HALL-A)
// and two venues, HALL-A and HALL-B. It is imported by tests only.
package storetest
