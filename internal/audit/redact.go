package audit

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redacted replaces a secret value in a snapshot.
const Redacted = "[redacted]"

// secretKey reports whether an object key names a secret: tokens, token
// hashes, passwords, keys, secrets, MACs and encrypted fields.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"token", "password", "passwd", "secret", "api_key", "apikey", "private_key", "mac", "hash", "encrypted", "ciphertext", "cookie"} {
		if k == w || strings.HasSuffix(k, "_"+w) || strings.HasPrefix(k, w+"_") {
			return true
		}
	}
	return false
}

// Redact returns the JSON with the values of secret-named keys (at any
// depth) replaced by Redacted. Input that is not a JSON object or array
// is returned unchanged; key order is not preserved.
func Redact(js []byte) json.RawMessage {
	var v any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return js
	}
	changed := false
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			for k, val := range t {
				if secretKey(k) {
					if val != nil {
						t[k] = Redacted
						changed = true
					}
					continue
				}
				t[k] = walk(val)
			}
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
		}
		return x
	}
	v = walk(v)
	if !changed {
		return js
	}
	out, err := json.Marshal(v)
	if err != nil {
		return js
	}
	return out
}
