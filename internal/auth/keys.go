package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

var kidRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// HMACKey is one session-signing key.
type HMACKey struct {
	ID     string
	Secret []byte // at least 32 bytes
}

// SigningKey is one API-token signing key.
type SigningKey struct {
	ID      string
	Private ed25519.PrivateKey
}

// Keys are the process's secrets. The first key of each list signs; all verify.
type Keys struct {
	Session []HMACKey
	Token   []SigningKey
	Audit   []HMACKey // audit event and seal MACs
	// Field is the field-encryption key ring spec "kid:base64,…" (newest
	// first), parsed by fieldcrypt.ParseRing.
	Field string
	// Secrets is the secrets key ring spec "kid:base64,…" that seals
	// integration credentials: generated apart from the field keys.
	Secrets string
}

// ParseSessionKeys parses "kid:base64,kid:base64" (standard or URL base64,
// at least 32 bytes each; the first signs).
func ParseSessionKeys(s string) ([]HMACKey, error) {
	var keys []HMACKey
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		kid, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || !kidRE.MatchString(kid) || seen[kid] {
			return nil, fmt.Errorf("each key must be kid:base64 with a unique kid of 1-32 letters, digits, '-' or '_'")
		}
		secret, err := decodeB64(b64)
		if err != nil || len(secret) < 32 {
			return nil, fmt.Errorf("key %q must be base64 of at least 32 random bytes (openssl rand -base64 32)", kid)
		}
		seen[kid] = true
		keys = append(keys, HMACKey{ID: kid, Secret: secret})
	}
	return keys, nil
}

// ParseTokenKeys parses "kid:base64seed,…" where each seed is a 32-byte
// Ed25519 seed (the first signs).
func ParseTokenKeys(s string) ([]SigningKey, error) {
	var keys []SigningKey
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		kid, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || !kidRE.MatchString(kid) || seen[kid] {
			return nil, fmt.Errorf("each key must be kid:base64 with a unique kid of 1-32 letters, digits, '-' or '_'")
		}
		seed, err := decodeB64(b64)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("key %q must be base64 of a 32-byte Ed25519 seed (openssl rand -base64 32)", kid)
		}
		seen[kid] = true
		keys = append(keys, SigningKey{ID: kid, Private: ed25519.NewKeyFromSeed(seed)})
	}
	return keys, nil
}

func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

type keyFile struct {
	SessionKeys string `json:"session_keys"`
	TokenKeys   string `json:"token_keys"`
	AuditKeys   string `json:"audit_keys"`
	FieldKeys   string `json:"field_keys,omitempty"`
	SecretsKeys string `json:"secrets_keys,omitempty"`
}

// LoadOrCreateKeyFile reads the generated keys of an embedded install from
// path, creating the file (mode 0600) with fresh random keys on first use.
func LoadOrCreateKeyFile(path string) (Keys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		kf := keyFile{SessionKeys: "k1:" + randomB64(32), TokenKeys: "k1:" + randomB64(32), AuditKeys: "k1:" + randomB64(32), FieldKeys: "f1:" + randomB64(32),
			SecretsKeys: "s1:" + randomB64(32)}
		b, _ = json.MarshalIndent(kf, "", "  ")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return Keys{}, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return Keys{}, fmt.Errorf("create key file %s: %w", path, err)
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return Keys{}, fmt.Errorf("write key file %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return Keys{}, err
		}
	} else if err != nil {
		return Keys{}, fmt.Errorf("read key file %s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return Keys{}, fmt.Errorf("key file %s is readable by others (mode %o): chmod 600 it", path, st.Mode().Perm())
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return Keys{}, fmt.Errorf("key file %s is not valid JSON: %w", path, err)
	}
	// A key file from before the audit, field or secrets keys: add them,
	// under a lock and re-reading first, so two processes starting at once
	// (serve and worker) cannot each add a different key.
	if kf.AuditKeys == "" || kf.FieldKeys == "" || kf.SecretsKeys == "" {
		err := withKeyFileLock(path, func() error {
			cur, err := readKeyFile(path)
			if err != nil {
				return err
			}
			if cur.AuditKeys == "" {
				cur.AuditKeys = "k1:" + randomB64(32)
			}
			if cur.FieldKeys == "" {
				cur.FieldKeys = "f1:" + randomB64(32)
			}
			if cur.SecretsKeys == "" {
				cur.SecretsKeys = "s1:" + randomB64(32)
			}
			kf = cur
			return writeKeyFile(path, cur)
		})
		if err != nil {
			return Keys{}, err
		}
	}
	var k Keys
	if k.Session, err = ParseSessionKeys(kf.SessionKeys); err != nil {
		return Keys{}, fmt.Errorf("key file %s: session_keys: %w", path, err)
	}
	if k.Token, err = ParseTokenKeys(kf.TokenKeys); err != nil {
		return Keys{}, fmt.Errorf("key file %s: token_keys: %w", path, err)
	}
	if k.Audit, err = ParseSessionKeys(kf.AuditKeys); err != nil {
		return Keys{}, fmt.Errorf("key file %s: audit_keys: %w", path, err)
	}
	k.Field = kf.FieldKeys
	k.Secrets = kf.SecretsKeys
	return k, nil
}

// writeKeyFile replaces the key file atomically (mode 0600).
func writeKeyFile(path string, kf keyFile) error {
	nb, _ := json.MarshalIndent(kf, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, nb, 0o600); err != nil {
		return fmt.Errorf("update key file %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("update key file %s: %w", path, err)
	}
	return nil
}

func readKeyFile(path string) (keyFile, error) {
	var kf keyFile
	b, err := os.ReadFile(path)
	if err != nil {
		return kf, fmt.Errorf("read key file %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &kf); err != nil {
		return kf, fmt.Errorf("key file %s is not valid JSON: %w", path, err)
	}
	return kf, nil
}

// withKeyFileLock runs fn holding an exclusive lock on path's lock file.
func withKeyFileLock(path string, fn func() error) error {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock key file %s: %w", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock key file %s: %w", path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing unlocks too
	return fn()
}

// UpdateFieldKeys changes the field key ring spec in the key file of an
// embedded install (rampart keys add / retire): change gets the current
// spec and returns the new one, under the key file's lock. The caller
// validates the spec and decides that no value still needs a removed key.
func UpdateFieldKeys(path string, change func(spec string) (string, error)) error {
	if _, err := LoadOrCreateKeyFile(path); err != nil {
		return err
	}
	return withKeyFileLock(path, func() error {
		kf, err := readKeyFile(path)
		if err != nil {
			return err
		}
		if kf.FieldKeys, err = change(kf.FieldKeys); err != nil {
			return err
		}
		return writeKeyFile(path, kf)
	})
}

func randomB64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.StdEncoding.EncodeToString(b)
}
