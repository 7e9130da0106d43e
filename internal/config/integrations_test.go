package config

import (
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/oauth"
)

func ledgerEnv() map[string]string {
	return map[string]string{
		"RAMPART_PUBLIC_URL":                       "https://rampart.example",
		"RAMPART_INTEGRATIONS":                     "ledger",
		"RAMPART_INTEGRATION_LEDGER_CLIENT_ID":     "client-1",
		"RAMPART_INTEGRATION_LEDGER_CLIENT_SECRET": "s3cr3t-value",
		"RAMPART_INTEGRATION_LEDGER_AUTH_URL":      "https://login.ledger.example/authorize",
		"RAMPART_INTEGRATION_LEDGER_TOKEN_URL":     "https://identity.ledger.example/token",
		"RAMPART_INTEGRATION_LEDGER_REVOKE_URL":    "https://identity.ledger.example/revoke",
		"RAMPART_INTEGRATION_LEDGER_SCOPES":        "accounting.transactions offline_access",
	}
}

func TestIntegrationsConfig(t *testing.T) {
	c, err := load(t, ledgerEnv())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Integrations) != 1 {
		t.Fatalf("integrations = %+v", c.Integrations)
	}
	p := c.Integrations[0]
	if p.Name != "ledger" || p.ClientID != "client-1" || p.ClientSecret.Reveal() != "s3cr3t-value" || p.AuthStyle != oauth.AuthBasic ||
		p.RevokeURL == "" || strings.Join(p.Scopes, " ") != "accounting.transactions offline_access" {
		t.Fatalf("provider = %+v", p)
	}
	// None configured: none.
	if c, err := load(t, nil); err != nil || len(c.Integrations) != 0 {
		t.Fatalf("no integrations: %v %v", c.Integrations, err)
	}
	// Loopback http is allowed for a local test server; the secret never prints.
	env := ledgerEnv()
	env["RAMPART_INTEGRATION_LEDGER_TOKEN_URL"] = "http://127.0.0.1:9999/token"
	env["RAMPART_INTEGRATION_LEDGER_AUTH_STYLE"] = "body"
	if c, err = load(t, env); err != nil || c.Integrations[0].AuthStyle != oauth.AuthBody {
		t.Fatalf("loopback http: %v", err)
	}
	if s := strings.Join([]string{c.Integrations[0].ClientSecret.String()}, ""); strings.Contains(s, "s3cr3t") {
		t.Fatal("the client secret prints")
	}
}

func TestIntegrationsConfigNamesTheVariable(t *testing.T) {
	cases := []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"RAMPART_INTEGRATIONS": "Ledger"}, "RAMPART_INTEGRATIONS: \"Ledger\" is not a provider name"},
		{map[string]string{"RAMPART_INTEGRATIONS": "ledger,ledger"}, "RAMPART_INTEGRATIONS: \"ledger\" appears twice"},
		{map[string]string{"RAMPART_INTEGRATIONS": "ledger,"}, "RAMPART_INTEGRATIONS: \"ledger,\" has an empty name"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_CLIENT_ID": ""}, "RAMPART_INTEGRATION_LEDGER_CLIENT_ID: is required"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_CLIENT_ID": "a b"}, "RAMPART_INTEGRATION_LEDGER_CLIENT_ID: must be"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_CLIENT_SECRET": ""}, "RAMPART_INTEGRATION_LEDGER_CLIENT_SECRET: is required"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_AUTH_URL": ""}, "RAMPART_INTEGRATION_LEDGER_AUTH_URL: is required"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_AUTH_URL": "login.ledger.example"}, "RAMPART_INTEGRATION_LEDGER_AUTH_URL: \"login.ledger.example\" is not an absolute URL"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_TOKEN_URL": "http://identity.ledger.example/token"}, "RAMPART_INTEGRATION_LEDGER_TOKEN_URL: \"http://identity.ledger.example/token\" must use https"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_TOKEN_URL": "https://u:p@identity.ledger.example/token"}, "must not carry credentials"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_REVOKE_URL": "https://identity.ledger.example/revoke#x"}, "RAMPART_INTEGRATION_LEDGER_REVOKE_URL: \"https://identity.ledger.example/revoke#x\" must not have a fragment"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_SCOPES": ""}, "RAMPART_INTEGRATION_LEDGER_SCOPES: is required"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_SCOPES": `read "write"`}, "RAMPART_INTEGRATION_LEDGER_SCOPES: scope"},
		{map[string]string{"RAMPART_INTEGRATION_LEDGER_AUTH_STYLE": "header"}, "RAMPART_INTEGRATION_LEDGER_AUTH_STYLE: \"header\" is not basic"},
		{map[string]string{"RAMPART_PUBLIC_URL": ""}, "RAMPART_PUBLIC_URL (--public-url): is required with RAMPART_INTEGRATIONS"},
	}
	for _, tc := range cases {
		env := ledgerEnv()
		for k, v := range tc.set {
			env[k] = v
		}
		_, err := load(t, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to contain %q", tc.set, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t-value") {
			t.Errorf("%v: the error shows the client secret", tc.set)
		}
	}
}

func TestSecretsKeyConfig(t *testing.T) {
	s1, _ := fieldcrypt.NewKey("s1")
	f1, _ := fieldcrypt.NewKey("f1")
	if c, err := load(t, map[string]string{"RAMPART_SECRETS_KEY": s1, "RAMPART_FIELD_KEYS": f1}); err != nil || c.SecretsKey != s1 {
		t.Fatalf("valid secrets key: %v", err)
	}
	for _, bad := range []string{"s1", "s1:AAAA", "s1:" + strings.Repeat("A", 64), "bad kid:" + strings.SplitN(s1, ":", 2)[1]} {
		_, err := load(t, map[string]string{"RAMPART_SECRETS_KEY": bad})
		if err == nil || !strings.Contains(err.Error(), "invalid RAMPART_SECRETS_KEY (--secrets-key)") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// A field key reused as the secrets key, under any id, is refused.
	reused := "s1:" + strings.SplitN(f1, ":", 2)[1]
	_, err := load(t, map[string]string{"RAMPART_SECRETS_KEY": reused, "RAMPART_FIELD_KEYS": f1})
	if err == nil || !strings.Contains(err.Error(), "shares a key with RAMPART_FIELD_KEYS") {
		t.Errorf("reused field key: %v", err)
	}
}
