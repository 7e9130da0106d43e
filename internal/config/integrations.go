package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/oauth"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// The integration settings (docs/integrations.md). Each provider named in
// RAMPART_INTEGRATIONS is configured by environment variables only:
// RAMPART_INTEGRATION_<NAME>_CLIENT_ID, _CLIENT_SECRET, _AUTH_URL,
// _TOKEN_URL, _SCOPES, and optionally _REVOKE_URL and _AUTH_STYLE.
var (
	VarSecretsKey   = Var{"secrets-key", "RAMPART_SECRETS_KEY", "", "key ring kid:base64,… (exactly 32 bytes each; the first encrypts, all decrypt) that seals integration credentials (OAuth tokens); must share no key with RAMPART_FIELD_KEYS; unset = generated into <data-dir>/secrets/keys.json in embedded mode, required otherwise", true}
	VarIntegrations = Var{"integrations", "RAMPART_INTEGRATIONS", "", "comma-separated names of the OAuth 2.0 providers admins may connect (e.g. xero,quickbooks), each configured by RAMPART_INTEGRATION_<NAME>_CLIENT_ID, _CLIENT_SECRET, _AUTH_URL, _TOKEN_URL, _SCOPES and optionally _REVOKE_URL, _AUTH_STYLE (basic or body); needs RAMPART_PUBLIC_URL (the callback is <public-url>/api/integrations/<name>/callback)", false}
)

// IntegrationVar is the environment variable of one provider setting, e.g.
// IntegrationVar("xero", "TOKEN_URL") = RAMPART_INTEGRATION_XERO_TOKEN_URL.
func IntegrationVar(name, setting string) string {
	return "RAMPART_INTEGRATION_" + strings.ToUpper(name) + "_" + setting
}

// secretsKey validates RAMPART_SECRETS_KEY (when set) and that it shares
// no key with the field keys: a secret must not open with a field key.
func secretsKey(secrets, field string) error {
	if secrets == "" {
		return nil
	}
	keys, err := fieldcrypt.ParseKeys(secrets)
	if err != nil {
		return fmt.Errorf("invalid %s (--%s): %v", VarSecretsKey.Env, VarSecretsKey.Flag, err)
	}
	if _, err := fieldcrypt.NewRing(keys); err != nil {
		return fmt.Errorf("invalid %s (--%s): %v", VarSecretsKey.Env, VarSecretsKey.Flag, err)
	}
	if field == "" {
		return nil
	}
	fk, err := fieldcrypt.ParseKeys(field)
	if err != nil {
		return nil // reported under RAMPART_FIELD_KEYS
	}
	if fieldcrypt.SharesKey(keys, fk) {
		return fmt.Errorf("invalid %s (--%s): it shares a key with RAMPART_FIELD_KEYS; integration credentials need a key of their own (openssl rand -base64 32)", VarSecretsKey.Env, VarSecretsKey.Flag)
	}
	return nil
}

// integrations reads the providers named in list from the environment,
// naming the variable of every fault.
func integrations(list, publicURL string, getenv func(string) string) ([]oauth.Provider, []error) {
	var out []oauth.Provider
	var errs []error
	badVar := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("invalid %s: %s", env, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			if strings.TrimSpace(list) != "" {
				badVar(VarIntegrations.Env, "%q has an empty name (write names separated by commas, e.g. xero,quickbooks)", list)
			}
			continue
		}
		if !rampart.ValidProviderName(name) {
			badVar(VarIntegrations.Env, "%q is not a provider name: use 1-32 lower-case letters, digits or '_', starting with a letter", name)
			continue
		}
		if seen[name] {
			badVar(VarIntegrations.Env, "%q appears twice", name)
			continue
		}
		seen[name] = true
		get := func(setting string) (string, string) {
			env := IntegrationVar(name, setting)
			return env, strings.TrimSpace(getenv(env))
		}
		p := oauth.Provider{Name: name}
		if env, v := get("CLIENT_ID"); v == "" {
			badVar(env, "is required for provider %s (the client id the provider issued to Rampart)", name)
		} else if !printableNoSpace(v) || len(v) > 512 {
			badVar(env, "must be 1-512 printable characters without spaces")
		} else {
			p.ClientID = v
		}
		if env, v := get("CLIENT_SECRET"); v == "" {
			badVar(env, "is required for provider %s (Rampart is a confidential client)", name)
		} else if !printableNoSpace(v) || len(v) > 1024 {
			badVar(env, "must be 1-1024 printable characters without spaces")
		} else {
			p.ClientSecret = rampart.NewSecret(v)
		}
		for _, u := range []struct {
			setting  string
			dst      *string
			required bool
		}{{"AUTH_URL", &p.AuthURL, true}, {"TOKEN_URL", &p.TokenURL, true}, {"REVOKE_URL", &p.RevokeURL, false}} {
			env, v := get(u.setting)
			if v == "" {
				if u.required {
					badVar(env, "is required for provider %s", name)
				}
				continue
			}
			if msg := endpointProblem(v); msg != "" {
				badVar(env, "%q %s", v, msg)
				continue
			}
			*u.dst = v
		}
		env, v := get("SCOPES")
		scopes := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
		switch {
		case len(scopes) == 0:
			badVar(env, "is required for provider %s: the scopes to ask for, separated by spaces or commas (include the provider's offline-access scope so it issues a refresh token)", name)
		case len(scopes) > 50:
			badVar(env, "has %d scopes; at most 50", len(scopes))
		default:
			for _, s := range scopes {
				if !scopeToken(s) {
					badVar(env, "scope %q has a character RFC 6749 §3.3 does not allow", s)
				}
			}
			p.Scopes = scopes
		}
		switch env, v := get("AUTH_STYLE"); v {
		case "", string(oauth.AuthBasic):
			p.AuthStyle = oauth.AuthBasic
		case string(oauth.AuthBody):
			p.AuthStyle = oauth.AuthBody
		default:
			badVar(env, "%q is not basic (HTTP Basic, the default) or body (client_id and client_secret in the form)", v)
		}
		out = append(out, p)
	}
	if len(out) > 0 && publicURL == "" {
		errs = append(errs, fmt.Errorf("invalid %s (--%s): is required with %s: providers return the browser to <public-url>/api/integrations/<name>/callback, which must be registered with them",
			VarPublicURL.Env, VarPublicURL.Flag, VarIntegrations.Env))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// endpointProblem says what is wrong with a provider endpoint URL: it
// must be absolute https (http only on a loopback host, for local test
// servers), without credentials or fragment.
func endpointProblem(v string) string {
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "" || !u.IsAbs():
		return "is not an absolute URL"
	case u.User != nil:
		return "must not carry credentials"
	case u.Fragment != "":
		return "must not have a fragment"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
		return ""
	case u.Scheme == "http":
		return "must use https (http only for a loopback test server)"
	}
	return "must be an https URL"
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func printableNoSpace(s string) bool {
	for _, r := range s {
		if r <= 0x20 || r == 0x7f {
			return false
		}
	}
	return s != ""
}

// scopeToken: RFC 6749 §3.3, %x21 / %x23-5B / %x5D-7E.
func scopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return s != ""
}
