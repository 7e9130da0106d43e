package auth

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/rampart"
)

func testHMACKey(id string) HMACKey {
	s := make([]byte, 32)
	_, _ = rand.Read(s)
	return HMACKey{ID: id, Secret: s}
}

func testSigningKey(id string) SigningKey {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return SigningKey{ID: id, Private: priv}
}

func TestCookieRoundTripAndRotation(t *testing.T) {
	t.Parallel()
	old, cur := testHMACKey("k1"), testHMACKey("k2")
	sOld, _ := NewSealer([]HMACKey{old})
	sNew, _ := NewSealer([]HMACKey{cur, old})
	c := SessionCookie{SessionID: uuid.New(), ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Second)}
	got, err := sNew.Open(sOld.Seal(c))
	if err != nil || got != c {
		t.Fatalf("old key must still verify: %v %v", got, err)
	}
	v := sNew.Seal(c)
	if !strings.HasPrefix(v, "v1.k2.") {
		t.Fatalf("newest key must sign: %s", v)
	}
	if _, err := sOld.Open(v); err == nil {
		t.Fatal("a sealer without k2 verified a k2 cookie")
	}
}

func TestCookieRejectsTampering(t *testing.T) {
	t.Parallel()
	k := testHMACKey("k1")
	s, _ := NewSealer([]HMACKey{k})
	c := SessionCookie{SessionID: uuid.New(), ExpiresAt: time.Now().Add(time.Hour)}
	good := s.Seal(c)
	parts := strings.Split(good, ".")
	flip := func(str string, i int) string {
		b := []byte(str)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	// A validly signed cookie for another session, made with the real key:
	// only a forger with the key could do this, proving the MAC is what binds.
	otherPayload := base64.RawURLEncoding.EncodeToString(append(uuid.New().NodeID(), make([]byte, 18)...))
	expired := s.Seal(SessionCookie{SessionID: uuid.New(), ExpiresAt: time.Now().Add(-time.Minute)})
	cases := map[string]string{
		"empty":             "",
		"truncated":         good[:len(good)-3],
		"oversized":         good + strings.Repeat("A", 200),
		"payload flipped":   parts[0] + "." + parts[1] + "." + flip(parts[2], 3) + "." + parts[3],
		"mac flipped":       parts[0] + "." + parts[1] + "." + parts[2] + "." + flip(parts[3], 5),
		"mac stripped":      parts[0] + "." + parts[1] + "." + parts[2] + ".",
		"mac missing":       parts[0] + "." + parts[1] + "." + parts[2],
		"unknown kid":       parts[0] + ".k9." + parts[2] + "." + parts[3],
		"bad version":       "v2." + parts[1] + "." + parts[2] + "." + parts[3],
		"padded base64":     parts[0] + "." + parts[1] + "." + parts[2] + "=." + parts[3],
		"std base64 mac":    parts[0] + "." + parts[1] + "." + parts[2] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[3]) + "+",
		"extra part":        good + ".x",
		"other payload":     parts[0] + "." + parts[1] + "." + otherPayload + "." + parts[3],
		"expired":           expired,
		"percent-encoded":   strings.ReplaceAll(good, ".", "%2E"),
		"whitespace":        " " + good,
		"kid injection":     parts[0] + ".k1/../k2." + parts[2] + "." + parts[3],
		"non-ascii":         good + "é",
		"CR inside the mac": good[:len(good)-4] + "\r" + good[len(good)-4:],
		"LF inside payload": parts[0] + "." + parts[1] + "." + parts[2][:5] + "\n" + parts[2][5:] + "." + parts[3],
		"mac of other key":  func() string { o, _ := NewSealer([]HMACKey{{ID: "k1", Secret: make([]byte, 32)}}); return o.Seal(c) }(),
	}
	for name, v := range cases {
		if got, err := s.Open(v); err != ErrBadCookie {
			t.Errorf("%s: Open(%q) = %v, %v; want ErrBadCookie", name, v, got, err)
		}
	}
	if _, err := s.Open(good); err != nil {
		t.Fatalf("good cookie rejected: %v", err)
	}
	ck := s.Cookie(c)
	if ck.Name != "__Host-rampart_session" || !ck.HttpOnly || !ck.Secure || ck.SameSite != 2 || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("cookie attributes: %+v", ck)
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k32 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	if ks, err := ParseSessionKeys("new:" + k32 + ",old:" + k32); err != nil || len(ks) != 2 || ks[0].ID != "new" {
		t.Fatalf("%v %v", ks, err)
	}
	for _, bad := range []string{"", "nokid", "a:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), "a:" + k32 + ",a:" + k32, "b@d:" + k32, "a:!!!"} {
		if _, err := ParseSessionKeys(bad); err == nil {
			t.Errorf("ParseSessionKeys(%q) accepted", bad)
		}
		if _, err := ParseTokenKeys(bad); err == nil {
			t.Errorf("ParseTokenKeys(%q) accepted", bad)
		}
	}
	if _, err := ParseTokenKeys("k:" + base64.StdEncoding.EncodeToString(make([]byte, 31))); err == nil {
		t.Error("short seed accepted")
	}
}

func TestKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secrets", "keys.json")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || string(k1.Session[0].Secret) != string(k2.Session[0].Secret) || !k1.Token[0].Private.Equal(k2.Token[0].Private) {
		t.Fatalf("keys not stable across loads: %v", err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o", st.Mode().Perm())
	}
	_ = os.Chmod(path, 0o644)
	if _, err := LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key file accepted: %v", err)
	}
}

func TestLinkTokens(t *testing.T) {
	t.Parallel()
	tok, hash := NewLinkToken()
	h2, err := HashLinkToken(tok)
	if err != nil || string(h2) != string(hash) || len(hash) != 32 {
		t.Fatal("hash mismatch")
	}
	sum := sha256.Sum256([]byte(tok))
	if string(sum[:]) != string(hash) {
		t.Fatal("stored hash is not SHA-256 of the token")
	}
	for _, bad := range []string{"", tok[:42], tok + "A", strings.Repeat("!", 43), tok[:42] + "="} {
		if _, err := HashLinkToken(bad); err == nil {
			t.Errorf("HashLinkToken(%q) accepted", bad)
		}
	}
}

// --- API tokens -----------------------------------------------------------

func newTokens(t testing.TB) (*Tokens, SigningKey) {
	k := testSigningKey("t1")
	ts, err := NewTokens([]SigningKey{k}, "rampart", "rampart-api")
	if err != nil {
		t.Fatal(err)
	}
	return ts, k
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	ts, _ := newTokens(t)
	id, org := uuid.New(), uuid.New()
	raw, err := ts.Issue(id, org, rampart.RoleViewer, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ts.Verify(raw)
	if err != nil || v.TokenID != id || v.OrganizationID != org {
		t.Fatalf("%+v %v", v, err)
	}
}

func TestTokenRejections(t *testing.T) {
	t.Parallel()
	ts, key := newTokens(t)
	id, org := uuid.New(), uuid.New()
	good, _ := ts.Issue(id, org, rampart.RoleAdmin, time.Now().Add(time.Hour))
	parts := strings.Split(good, ".")
	var claims map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(raw, &claims)
	with := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{}
		for k, v := range claims {
			m[k] = v
		}
		mut(m)
		return m
	}
	sign := func(header map[string]any, body map[string]any) string {
		h, b := b64(header), b64(body)
		sig := ed25519.Sign(key.Private, []byte(h+"."+b))
		return h + "." + b + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	hdr := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": "t1"}
	withHdr := func(k string, v any) map[string]any {
		m := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": "t1"}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	pub := key.Private.Public().(ed25519.PublicKey)
	hsConfusion := func() string {
		h := b64(map[string]any{"alg": "HS256", "typ": "JWT", "kid": "t1"})
		b := b64(claims)
		m := hmac.New(sha256.New, pub)
		m.Write([]byte(h + "." + b))
		return h + "." + b + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}()
	otherKey := testSigningKey("t1")
	foreign := func() string {
		o, _ := NewTokens([]SigningKey{otherKey}, "rampart", "rampart-api")
		s, _ := o.Issue(id, org, rampart.RoleAdmin, time.Now().Add(time.Hour))
		return s
	}()
	now := float64(time.Now().Unix())
	cases := map[string]string{
		"alg none":               b64(map[string]any{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".",
		"alg None":               b64(map[string]any{"alg": "None", "typ": "JWT", "kid": "t1"}) + "." + parts[1] + ".",
		"alg NONE":               b64(map[string]any{"alg": "NONE", "kid": "t1"}) + "." + parts[1] + "." + parts[2],
		"alg nOnE":               b64(map[string]any{"alg": "nOnE", "kid": "t1"}) + "." + parts[1] + ".",
		"HS256 with public key":  hsConfusion,
		"RS256 claimed":          sign(withHdr("alg", "RS256"), claims),
		"embedded jwk":           sign(withHdr("jwk", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}), claims),
		"jku header":             sign(withHdr("jku", "https://evil.example/keys"), claims),
		"x5u header":             sign(withHdr("x5u", "https://evil.example/cert"), claims),
		"x5c header":             sign(withHdr("x5c", []string{"MIIB"}), claims),
		"crit header":            sign(withHdr("crit", []string{"exp"}), claims),
		"unknown kid":            sign(withHdr("kid", "t9"), claims),
		"missing kid":            sign(withHdr("kid", nil), claims),
		"kid not a string":       sign(withHdr("kid", 1), claims),
		"typ not JWT":            sign(withHdr("typ", "JOSE+JSON"), claims),
		"missing exp":            sign(hdr, with(func(m map[string]any) { delete(m, "exp") })),
		"expired":                sign(hdr, with(func(m map[string]any) { m["exp"] = now - 3600 })),
		"future nbf":             sign(hdr, with(func(m map[string]any) { m["nbf"] = now + 3600 })),
		"future iat":             sign(hdr, with(func(m map[string]any) { m["iat"] = now + 3600 })),
		"missing nbf":            sign(hdr, with(func(m map[string]any) { delete(m, "nbf") })),
		"wrong issuer":           sign(hdr, with(func(m map[string]any) { m["iss"] = "someone-else" })),
		"wrong audience":         sign(hdr, with(func(m map[string]any) { m["aud"] = []string{"other"} })),
		"missing audience":       sign(hdr, with(func(m map[string]any) { delete(m, "aud") })),
		"sub differs from jti":   sign(hdr, with(func(m map[string]any) { m["sub"] = uuid.NewString() })),
		"jti not a uuid":         sign(hdr, with(func(m map[string]any) { m["jti"], m["sub"] = "1", "1" })),
		"org not a uuid":         sign(hdr, with(func(m map[string]any) { m["org_id"] = "acme" })),
		"edited org (unsigned)":  parts[0] + "." + b64(with(func(m map[string]any) { m["org_id"] = uuid.NewString() })) + "." + parts[2],
		"edited role (unsigned)": parts[0] + "." + b64(with(func(m map[string]any) { m["role"] = "admin" })) + "." + parts[2],
		"signature stripped":     parts[0] + "." + parts[1] + ".",
		"signature missing":      parts[0] + "." + parts[1],
		"signature altered":      parts[0] + "." + parts[1] + "." + strings.Map(func(r rune) rune { return map[bool]rune{true: 'B', false: 'A'}[r == 'A'] }, parts[2][:4]) + parts[2][4:],
		"signed by another key":  foreign,
		"padded segments":        parts[0] + "=." + parts[1] + "." + parts[2],
		"oversized":              good + strings.Repeat("A", 3000),
		"empty":                  "",
		"garbage":                "not.a.jwt",
		"two tokens":             good + "." + good,
	}
	for name, raw := range cases {
		if v, err := ts.Verify(raw); err != ErrBadToken {
			t.Errorf("%s: Verify = %+v, %v; want ErrBadToken", name, v, err)
		}
	}
	// Sanity: the hand-made signer produces accepted tokens, so each case
	// above fails for its own defect and not for the signer.
	if _, err := ts.Verify(sign(hdr, claims)); err != nil {
		t.Fatalf("hand-signed good token rejected: %v", err)
	}
	_ = jwt.SigningMethodEdDSA
}

// --- fuzz -----------------------------------------------------------------

func FuzzSessionCookie(f *testing.F) {
	s, _ := NewSealer([]HMACKey{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	good := s.Seal(SessionCookie{SessionID: uuid.MustParse("8d3c2b6e-9f7a-4c1e-8b2d-1a2b3c4d5e6f"), ExpiresAt: time.Unix(1<<34, 0)})
	for _, seed := range []string{good, "", "v1.k1..", "v1.k1.AAAA.BBBB", good[:20], good + "A"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := s.Open(v)
		if err != nil {
			if err != ErrBadCookie {
				t.Fatalf("unexpected error type %v", err)
			}
			return
		}
		// Anything accepted must be exactly what the sealer would produce.
		if s.Seal(c) != v {
			t.Fatalf("accepted a non-canonical cookie %q", v)
		}
	})
}

func FuzzTokenVerify(f *testing.F) {
	k := SigningKey{ID: "t1", Private: ed25519.NewKeyFromSeed([]byte("0123456789abcdef0123456789abcdef"))}
	ts, _ := NewTokens([]SigningKey{k}, "rampart", "rampart-api")
	ts.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	good, _ := ts.Issue(uuid.MustParse("8d3c2b6e-9f7a-4c1e-8b2d-1a2b3c4d5e6f"), uuid.MustParse("11111111-2222-4333-8444-555555555555"),
		rampart.RoleAdmin, time.Unix(1_900_000_000, 0))
	parts := strings.Split(good, ".")
	for _, seed := range []string{good, "", "a.b.c", parts[0] + "." + parts[1] + ".", good + "x",
		`eyJhbGciOiJub25lIn0.` + parts[1] + `.`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := ts.Verify(raw)
		if err != nil {
			if err != ErrBadToken {
				t.Fatalf("unexpected error type %v", err)
			}
			return
		}
		// A verified token must carry the one id and org that were signed.
		if v.TokenID.String() != "8d3c2b6e-9f7a-4c1e-8b2d-1a2b3c4d5e6f" || v.OrganizationID.String() != "11111111-2222-4333-8444-555555555555" {
			t.Fatalf("verified a token with claims nobody signed: %+v", v)
		}
	})
}
