// Package privacy is the data subject requests of issue #16: an admin's
// export or erasure of everything one organization holds about one of its
// members (docs/privacy.md).
//
// Guarantees:
//   - Only a signed-in admin of the organization makes, reads and
//     downloads requests; the subject must be a member of that
//     organization (anyone else, another organization's member included,
//     is not found). Everything is read and written under the admin's
//     claims, so row-level security holds it to the organization.
//   - An export is built by the worker (BuildPending, run as a periodic
//     task) into a zip archive — one JSON file per table, a manifest and a
//     README — that holds the subject's rows and none of another person's
//     or organization's. It is downloadable once, by the admin who asked,
//     through a short-lived link whose token is stored only as a SHA-256;
//     the download deletes the archive in the same statement.
//   - An erasure runs in one transaction with its record and audit event:
//     personal fields of the organization's audit events about the subject
//     are erased (scheme 2 keeps them verifiable), their sessions there are
//     deleted, invites to their email pseudonymised, their membership
//     removed; the global user row goes only when no membership remains.
package privacy
