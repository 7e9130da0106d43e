// Package attachment is the use cases of proposal attachments (riders,
// floor plans, quotes): upload, list, download and delete, each an access
// check and one tenant transaction, and the checks a file must pass
// before it is stored.
//
// Guarantees:
//   - A file's type is sniffed from its bytes (Sniff), never taken from
//     the client, and must be one of PDF, PNG, JPEG, CSV or plain text,
//     each with structural checks that refuse disguised files and
//     polyglots; nothing is written when a check fails.
//   - A stored name is sanitised (SanitizeName) and ends in an extension
//     of the sniffed type.
//   - Only the roles that may edit the proposal upload and delete
//     (access.ActionEdit on it; venue managers only on their venues);
//     whoever may read the proposal lists and downloads. Another
//     organization's or another venue's proposal or attachment is not
//     found, never forbidden.
//   - Every upload, deletion and download is an audit event in the same
//     transaction.
//
// The package speaks no HTTP: the edge reads the body (size cap,
// multipart) and the API sets the download headers.
package attachment
