// Package fieldcrypt encrypts single database fields with AES-256-GCM under
// a key ring, and binds each ciphertext to the place it belongs.
//
// A value is sealed for a Binding: its organization, table, column and
// row. The binding is the AEAD's associated data, so a ciphertext copied to
// another row, column, table or organization fails to open, even under the
// right key. The envelope names its key, so a ring can hold several: the
// first (newest) seals, every key opens, and rotation re-seals old values
// under the newest key (store.FieldKeys).
//
// Envelope, version 1 (docs/field-encryption.md):
//
//	version (1 byte, 0x01) | kid length (1 byte, 1–32) | kid | nonce (12 bytes) | ciphertext | tag (16 bytes)
//
// The associated data is "rampart/fieldcrypt" 0x00, the version byte, the
// kid, 0x00, the organization id (16 bytes), the table, 0x00, the column,
// 0x00, and the row id (16 bytes): the header is authenticated too, so a
// kid cannot be swapped.
package fieldcrypt
