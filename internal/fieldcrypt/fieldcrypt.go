package fieldcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// Version is the envelope format this package writes.
const Version byte = 1

// KeySize is the size of every key: AES-256.
const KeySize = 32

const (
	nonceSize = 12
	tagSize   = 16
	maxKID    = 32
	// Overhead is the envelope's size beyond the plaintext for a kid of
	// length n: Overhead + n.
	Overhead = 2 + nonceSize + tagSize
)

var kidRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Binding is where a sealed value lives. Every field must be set: a value
// that belongs nowhere cannot be sealed.
type Binding struct {
	Organization uuid.UUID
	Table        string
	Column       string
	Row          uuid.UUID
}

func (b Binding) valid() error {
	if b.Organization == uuid.Nil || b.Row == uuid.Nil || b.Table == "" || b.Column == "" ||
		strings.ContainsRune(b.Table, 0) || strings.ContainsRune(b.Column, 0) {
		return errors.New("fieldcrypt: incomplete binding (organization, table, column and row are all required)")
	}
	return nil
}

// aad is the associated data of an envelope with this header and binding.
func (b Binding) aad(version byte, kid string) []byte {
	a := make([]byte, 0, 64+len(kid)+len(b.Table)+len(b.Column))
	a = append(a, "rampart/fieldcrypt"...)
	a = append(a, 0, version)
	a = append(a, kid...)
	a = append(a, 0)
	a = append(a, b.Organization[:]...)
	a = append(a, b.Table...)
	a = append(a, 0)
	a = append(a, b.Column...)
	a = append(a, 0)
	a = append(a, b.Row[:]...)
	return a
}

// Key is one named AES-256 key.
type Key struct {
	ID     string
	Secret []byte
}

// Ring is an ordered set of keys: the first seals, all open.
type Ring struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// NewRing builds a ring; keys[0] is the newest, the one that seals.
func NewRing(keys []Key) (*Ring, error) {
	if len(keys) == 0 {
		return nil, errors.New("a field key ring needs at least one key")
	}
	r := &Ring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if !kidRE.MatchString(k.ID) {
			return nil, fmt.Errorf("key id %q: use 1-32 letters, digits, '-' or '_'", k.ID)
		}
		if _, dup := r.aeads[k.ID]; dup {
			return nil, fmt.Errorf("key id %q appears twice", k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("key %q must be exactly %d bytes (AES-256), not %d", k.ID, KeySize, len(k.Secret))
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		r.ids = append(r.ids, k.ID)
		r.aeads[k.ID] = gcm
	}
	return r, nil
}

// ParseRing parses "kid:base64,kid:base64,…" (newest first), each key 32
// random bytes in standard or URL base64, padded or not.
func ParseRing(spec string) (*Ring, error) {
	keys, err := ParseKeys(spec)
	if err != nil {
		return nil, err
	}
	return NewRing(keys)
}

// ParseKeys parses a ring spec (see ParseRing) into its keys, newest first.
func ParseKeys(spec string) ([]Key, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("no keys: expected kid:base64 of 32 random bytes, e.g. f1:$(openssl rand -base64 32)")
	}
	var keys []Key
	for _, part := range strings.Split(spec, ",") {
		kid, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || !kidRE.MatchString(kid) {
			return nil, errors.New("each key must be kid:base64 with a kid of 1-32 letters, digits, '-' or '_'")
		}
		secret, err := decodeB64(b64)
		if err != nil || len(secret) != KeySize {
			return nil, fmt.Errorf("key %q must be base64 of exactly 32 random bytes (openssl rand -base64 32)", kid)
		}
		keys = append(keys, Key{ID: kid, Secret: secret})
	}
	return keys, nil
}

// SharesKey reports whether two key lists hold the same key material
// (under any ids): rings that must stay apart, such as the field keys and
// the secrets key, are checked with it.
func SharesKey(a, b []Key) bool {
	for _, x := range a {
		for _, y := range b {
			if subtle.ConstantTimeCompare(x.Secret, y.Secret) == 1 {
				return true
			}
		}
	}
	return false
}

func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// NewKey returns a fresh random key spec "kid:base64" for a ring.
func NewKey(kid string) (string, error) {
	if !kidRE.MatchString(kid) {
		return "", fmt.Errorf("key id %q: use 1-32 letters, digits, '-' or '_'", kid)
	}
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return kid + ":" + base64.StdEncoding.EncodeToString(b), nil
}

// Newest is the id of the key that seals.
func (r *Ring) Newest() string { return r.ids[0] }

// IDs lists the ring's key ids, newest first.
func (r *Ring) IDs() []string { return append([]string(nil), r.ids...) }

// Has reports whether the ring holds key kid.
func (r *Ring) Has(kid string) bool { _, ok := r.aeads[kid]; return ok }

// Seal encrypts plaintext for b under the newest key.
func (r *Ring) Seal(b Binding, plaintext []byte) ([]byte, error) {
	if err := b.valid(); err != nil {
		return nil, err
	}
	kid := r.ids[0]
	aead := r.aeads[kid]
	env := make([]byte, 0, Overhead+len(kid)+len(plaintext))
	env = append(env, Version, byte(len(kid)))
	env = append(env, kid...)
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("fieldcrypt: nonce: %w", err)
	}
	env = append(env, nonce...)
	return aead.Seal(env, nonce, plaintext, b.aad(Version, kid)), nil
}

// Errors Open returns; both wrap the detail.
var (
	// ErrMalformed: the bytes are not an envelope this package wrote.
	ErrMalformed = errors.New("fieldcrypt: malformed envelope")
	// ErrUnknownKey: the envelope's key is not in the ring (retired, or
	// the ring is misconfigured).
	ErrUnknownKey = errors.New("fieldcrypt: unknown key")
	// ErrAuth: the value does not open under its key for this binding —
	// moved to another row, column or organization, or altered.
	ErrAuth = errors.New("fieldcrypt: value does not authenticate for this field")
)

// KeyID returns the id of the key env was sealed under.
func KeyID(env []byte) (string, error) {
	if len(env) < 2 || env[0] != Version {
		return "", fmt.Errorf("%w: unknown version", ErrMalformed)
	}
	n := int(env[1])
	if n < 1 || n > maxKID || len(env) < Overhead+n {
		return "", fmt.Errorf("%w: truncated", ErrMalformed)
	}
	return string(env[2 : 2+n]), nil
}

// Open decrypts env for b and returns the plaintext and the key it was
// sealed under.
func (r *Ring) Open(b Binding, env []byte) (plaintext []byte, kid string, err error) {
	if err := b.valid(); err != nil {
		return nil, "", err
	}
	kid, err = KeyID(env)
	if err != nil {
		return nil, "", err
	}
	aead, ok := r.aeads[kid]
	if !ok {
		return nil, kid, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
	body := env[2+len(kid):]
	nonce, ct := body[:nonceSize], body[nonceSize:]
	pt, err := aead.Open(nil, nonce, ct, b.aad(env[0], kid))
	if err != nil {
		return nil, kid, fmt.Errorf("%w (%s.%s)", ErrAuth, b.Table, b.Column)
	}
	return pt, kid, nil
}
