package auth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// maxTokenLen bounds a bearer token before any parsing.
const maxTokenLen = 2048

// ErrBadToken is the one error for every API token that does not verify.
var ErrBadToken = errors.New("invalid API token")

// allowedAlgs is the algorithm allow-list: EdDSA only. "none", HMAC (and so
// HS/asymmetric key confusion) and RSA/ECDSA are refused before any key
// is looked up.
var allowedAlgs = []string{jwt.SigningMethodEdDSA.Alg()}

// forbiddenHeaders carry key material or key locations chosen by the
// token's author; honouring them lets an attacker pick the verifying key.
var forbiddenHeaders = []string{"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit"}

type tokenClaims struct {
	OrgID string `json:"org_id"`
	Role  string `json:"role"`
	jwt.RegisteredClaims
}

// VerifiedToken is what a verified API token asserts. The store then
// checks the token row (revocation, expiry, organization) on every request.
type VerifiedToken struct {
	TokenID        uuid.UUID
	OrganizationID uuid.UUID
	ExpiresAt      time.Time
}

// Tokens issues and verifies API-token JWTs.
type Tokens struct {
	keys     []SigningKey
	issuer   string
	audience string
	now      func() time.Time
}

// NewTokens builds the token service; the first key signs.
func NewTokens(keys []SigningKey, issuer, audience string) (*Tokens, error) {
	if len(keys) == 0 || issuer == "" || audience == "" {
		return nil, errors.New("auth: token keys, issuer and audience are required")
	}
	return &Tokens{keys: keys, issuer: issuer, audience: audience, now: time.Now}, nil
}

// Issue signs a token for the api_tokens row id of org.
func (t *Tokens) Issue(tokenID, orgID uuid.UUID, role rampart.Role, expires time.Time) (string, error) {
	now := t.now()
	c := tokenClaims{
		OrgID: orgID.String(),
		Role:  string(role),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: t.issuer, Subject: tokenID.String(), Audience: jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(expires), NotBefore: jwt.NewNumericDate(now.Add(-time.Second)),
			IssuedAt: jwt.NewNumericDate(now), ID: tokenID.String(),
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = t.keys[0].ID
	s, err := tok.SignedString(t.keys[0].Private)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

// Verify checks a bearer token: size, allow-listed algorithm, no
// attacker-chosen key headers, known kid, signature, issuer, audience,
// required exp (not passed), nbf (not in the future), and well-formed ids.
// Every failure is ErrBadToken.
func (t *Tokens) Verify(raw string) (VerifiedToken, error) {
	if len(raw) == 0 || len(raw) > maxTokenLen {
		return VerifiedToken{}, ErrBadToken
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(allowedAlgs),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(t.now),
	)
	var c tokenClaims
	tok, err := p.ParseWithClaims(raw, &c, t.keyFor)
	if err != nil || !tok.Valid {
		return VerifiedToken{}, ErrBadToken
	}
	id, err1 := uuid.Parse(c.ID)
	org, err2 := uuid.Parse(c.OrgID)
	if err1 != nil || err2 != nil || c.Subject != c.ID || id == uuid.Nil || org == uuid.Nil || c.ExpiresAt == nil || c.NotBefore == nil {
		return VerifiedToken{}, ErrBadToken
	}
	return VerifiedToken{TokenID: id, OrganizationID: org, ExpiresAt: c.ExpiresAt.Time}, nil
}

func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	for _, h := range forbiddenHeaders {
		if _, ok := tok.Header[h]; ok {
			return nil, ErrBadToken
		}
	}
	if typ, ok := tok.Header["typ"]; ok && typ != "JWT" {
		return nil, ErrBadToken
	}
	kid, ok := tok.Header["kid"].(string)
	if !ok {
		return nil, ErrBadToken
	}
	for _, k := range t.keys {
		if k.ID == kid {
			return k.Private.Public().(ed25519.PublicKey), nil
		}
	}
	return nil, ErrBadToken
}
