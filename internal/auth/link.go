package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// linkTokenLen is the length of a base64url-encoded 32-byte token.
const linkTokenLen = 43

// ErrBadLink is the one error for a malformed magic-link token.
var ErrBadLink = errors.New("invalid link token")

// NewLinkToken returns a fresh magic-link token (256 random bits,
// base64url) and the SHA-256 to store in its place.
func NewLinkToken() (token string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(token))
	return token, h[:]
}

// HashLinkToken checks the token's form and returns its SHA-256.
func HashLinkToken(token string) ([]byte, error) {
	if len(token) != linkTokenLen {
		return nil, ErrBadLink
	}
	if !cookieChars(token) || strings.Contains(token, ".") {
		return nil, ErrBadLink
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(token); err != nil || len(b) != 32 {
		return nil, ErrBadLink
	}
	h := sha256.Sum256([]byte(token))
	return h[:], nil
}

// RandomSecret returns 32 random bytes as unpadded base64url (43
// characters), for secrets that are compared, never stored hashed (the
// demo mailbox key).
func RandomSecret() string {
	token, _ := NewLinkToken()
	return token
}
