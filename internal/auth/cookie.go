package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SessionCookieName has the __Host- prefix: Secure, Path=/, no Domain.
const SessionCookieName = "__Host-rampart_session"

// maxCookieLen bounds the cookie value before any decoding.
const maxCookieLen = 160

// ErrBadCookie is the one error for every cookie that does not verify.
var ErrBadCookie = errors.New("invalid session cookie")

// SessionCookie is what a session cookie carries: the session id and the
// expiry it was issued with. Claims are never in the cookie.
type SessionCookie struct {
	SessionID uuid.UUID
	ExpiresAt time.Time
}

// Sealer signs and verifies session cookies.
type Sealer struct {
	keys []HMACKey
	now  func() time.Time
}

// NewSealer builds a sealer; the first key signs.
func NewSealer(keys []HMACKey) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: no session keys")
	}
	return &Sealer{keys: keys, now: time.Now}, nil
}

// Seal encodes c as "v1.<kid>.<payload>.<mac>" (base64url, no padding).
func (s *Sealer) Seal(c SessionCookie) string {
	k := s.keys[0]
	var p [24]byte
	copy(p[:16], c.SessionID[:])
	binary.BigEndian.PutUint64(p[16:], uint64(c.ExpiresAt.Unix()))
	head := "v1." + k.ID + "." + base64.RawURLEncoding.EncodeToString(p[:])
	return head + "." + base64.RawURLEncoding.EncodeToString(mac(k.Secret, head))
}

// Open verifies a cookie value and returns its contents. Any defect —
// length, format, unknown key, bad MAC, expiry passed — is ErrBadCookie.
func (s *Sealer) Open(v string) (SessionCookie, error) {
	if len(v) > maxCookieLen || !cookieChars(v) {
		return SessionCookie{}, ErrBadCookie
	}
	parts := strings.Split(v, ".")
	if len(parts) != 4 || parts[0] != "v1" || !kidRE.MatchString(parts[1]) {
		return SessionCookie{}, ErrBadCookie
	}
	var key *HMACKey
	for i := range s.keys {
		if s.keys[i].ID == parts[1] {
			key = &s.keys[i]
			break
		}
	}
	if key == nil {
		return SessionCookie{}, ErrBadCookie
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(payload) != 24 {
		return SessionCookie{}, ErrBadCookie
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(sig) != sha256.Size {
		return SessionCookie{}, ErrBadCookie
	}
	head := parts[0] + "." + parts[1] + "." + parts[2]
	if !hmac.Equal(sig, mac(key.Secret, head)) {
		return SessionCookie{}, ErrBadCookie
	}
	var c SessionCookie
	copy(c.SessionID[:], payload[:16])
	exp := int64(binary.BigEndian.Uint64(payload[16:]))
	if exp <= 0 || exp > 1<<40 {
		return SessionCookie{}, ErrBadCookie
	}
	c.ExpiresAt = time.Unix(exp, 0)
	if c.SessionID == uuid.Nil || !s.now().Before(c.ExpiresAt) {
		return SessionCookie{}, ErrBadCookie
	}
	return c, nil
}

func mac(secret []byte, msg string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// Cookie builds the Set-Cookie for a sealed session: HttpOnly, Secure,
// SameSite=Lax, Path=/, expiring with the session.
func (s *Sealer) Cookie(c SessionCookie) *http.Cookie {
	return &http.Cookie{
		Name: SessionCookieName, Value: s.Seal(c), Path: "/",
		Expires: c.ExpiresAt, MaxAge: int(time.Until(c.ExpiresAt).Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	}
}

// ClearCookie deletes the session cookie.
func ClearCookie() *http.Cookie {
	return &http.Cookie{Name: SessionCookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
}

// cookieChars reports whether v uses only the base64url alphabet and the
// dots between parts. Checked before decoding: Go's base64 decoders skip
// CR and LF, which would let a re-encoded cookie through (found by
// FuzzSessionCookie).
func cookieChars(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
