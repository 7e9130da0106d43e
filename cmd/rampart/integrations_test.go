package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
)

// TestLoadSecretsKey: required with DATABASE_URL (the message names the
// variable), generated apart from the field keys in embedded mode, and
// refused when it shares a key with them.
func TestLoadSecretsKey(t *testing.T) {
	external := config.Config{DatabaseURL: "postgres://x/y"}
	if _, err := loadSecretsKey(external); err == nil || !strings.Contains(err.Error(), "RAMPART_SECRETS_KEY is required with DATABASE_URL") {
		t.Fatalf("missing key: %v", err)
	}
	f1, _ := fieldcrypt.NewKey("f1")
	reused := "s1:" + strings.SplitN(f1, ":", 2)[1]
	if _, err := loadSecretsKey(config.Config{DatabaseURL: "postgres://x/y", SecretsKey: reused, FieldKeys: f1}); err == nil || !strings.Contains(err.Error(), "RAMPART_SECRETS_KEY") {
		t.Fatalf("reused field key: %v", err)
	}
	if _, err := loadSecretsKey(config.Config{DatabaseURL: "postgres://x/y", SecretsKey: "s1:short"}); err == nil || !strings.Contains(err.Error(), "RAMPART_SECRETS_KEY") {
		t.Fatalf("malformed key: %v", err)
	}
	s1, _ := fieldcrypt.NewKey("s1")
	if r, err := loadSecretsKey(config.Config{DatabaseURL: "postgres://x/y", SecretsKey: s1, FieldKeys: f1}); err != nil || r.Newest() != "s1" {
		t.Fatalf("valid key: %v", err)
	}

	// Embedded: generated into the key file, next to (and apart from) the field keys.
	cfg := config.Config{DataDir: t.TempDir()}
	r, err := loadSecretsKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, "secrets", "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		Field   string `json:"field_keys"`
		Secrets string `json:"secrets_keys"`
	}
	if err := json.Unmarshal(b, &kf); err != nil || kf.Secrets == "" || kf.Field == "" || kf.Secrets == kf.Field {
		t.Fatalf("key file: %s", b)
	}
	sk, _ := fieldcrypt.ParseKeys(kf.Secrets)
	fk, _ := fieldcrypt.ParseKeys(kf.Field)
	if fieldcrypt.SharesKey(sk, fk) || r.Newest() != sk[0].ID {
		t.Fatal("the generated secrets key is not apart from the field key")
	}
	// Loading again reads the same key.
	if r2, err := loadSecretsKey(cfg); err != nil || r2.Newest() != r.Newest() {
		t.Fatalf("second load: %v", err)
	}
}
