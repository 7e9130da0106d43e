package main

import (
	"errors"
	"fmt"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
)

// loadSecretsKey returns the key ring that seals integration credentials:
// RAMPART_SECRETS_KEY, else (embedded mode only) the key file generated in
// the data directory. It refuses a ring that shares a key with the field
// keys: a field key must never open a secret.
func loadSecretsKey(cfg config.Config) (*fieldcrypt.Ring, error) {
	spec, field := cfg.SecretsKey, cfg.FieldKeys
	if spec == "" {
		if !cfg.Embedded() {
			return nil, errors.New("RAMPART_SECRETS_KEY is required with DATABASE_URL: kid:base64 of 32 random bytes, not one of the field keys, e.g. s1:$(openssl rand -base64 32) (docs/integrations.md)")
		}
		k, err := auth.LoadOrCreateKeyFile(keyFilePath(cfg))
		if err != nil {
			return nil, err
		}
		spec = k.Secrets
		if field == "" {
			field = k.Field
		}
	}
	keys, err := fieldcrypt.ParseKeys(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid RAMPART_SECRETS_KEY (--secrets-key): %w", err)
	}
	if fk, err := fieldcrypt.ParseKeys(field); err == nil && fieldcrypt.SharesKey(keys, fk) {
		return nil, errors.New("invalid RAMPART_SECRETS_KEY (--secrets-key): it shares a key with the field keys; integration credentials need a key of their own")
	}
	r, err := fieldcrypt.NewRing(keys)
	if err != nil {
		return nil, fmt.Errorf("invalid RAMPART_SECRETS_KEY (--secrets-key): %w", err)
	}
	return r, nil
}
