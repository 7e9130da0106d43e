package rampart

import (
	"log/slog"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// IntegrationStatus is the state of an organization's connection to an
// external provider.
type IntegrationStatus string

// The integration statuses (the integration_credentials CHECK lists them).
const (
	// IntegrationConnected: a refresh token is held (sealed) and usable.
	IntegrationConnected IntegrationStatus = "connected"
	// IntegrationNeedsReconnect: the provider refused the refresh token
	// (revoked, expired, rotated elsewhere); the tokens are erased and an
	// admin must connect again.
	IntegrationNeedsReconnect IntegrationStatus = "needs_reconnect"
)

// Integration is what anyone may know about a connection: never a token.
// The tokens live only sealed in the store (rampart.Secret in memory).
type Integration struct {
	OrganizationID uuid.UUID         `json:"organization_id"`
	ID             uuid.UUID         `json:"id"`
	Provider       string            `json:"provider"`
	Status         IntegrationStatus `json:"status"`
	// StatusReason says why a credential needs reconnection (the
	// provider's error code, never its token).
	StatusReason    string     `json:"status_reason,omitempty"`
	Scopes          []string   `json:"scopes"`
	ConnectedBy     uuid.UUID  `json:"connected_by"`
	ConnectedAt     time.Time  `json:"connected_at"`
	LastRefreshedAt *time.Time `json:"last_refreshed_at"`
	// AccessTokenExpiresAt is when the held access token expires (nil:
	// none held, or the provider gave no expiry).
	AccessTokenExpiresAt *time.Time `json:"access_token_expires_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

var providerNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// ValidProviderName reports whether s can name an integration provider:
// lower-case letters, digits and '_', starting with a letter, at most 32
// (its RAMPART_INTEGRATION_<NAME>_* variables use it upper-cased).
func ValidProviderName(s string) bool { return providerNameRE.MatchString(s) }

// MaxTokenBytes is the longest token (access or refresh) Rampart keeps;
// the integration_credentials CHECK allows its sealed envelope.
const MaxTokenBytes = 8192

// Secret is a credential in memory (an OAuth token, a PKCE verifier). It
// does not print, marshal or log its value: fmt, encoding/json and slog
// all see "[redacted]". Reveal is the one way to the plaintext, for the
// code that sends it to its provider or seals it.
type Secret struct{ v string }

// NewSecret wraps a plaintext credential.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the plaintext.
func (s Secret) Reveal() string { return s.v }

// Empty reports whether there is no value.
func (s Secret) Empty() bool { return s.v == "" }

const redacted = "[redacted]"

// String hides the value from fmt.
func (s Secret) String() string { return redacted }

// GoString hides the value from %#v.
func (s Secret) GoString() string { return redacted }

// MarshalJSON hides the value from encoding/json.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText hides the value from text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue hides the value from log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// IntegrationTokens are the tokens of one credential, in memory.
type IntegrationTokens struct {
	Access  Secret
	Refresh Secret
	// Expiry is the access token's expiry (zero: unknown).
	Expiry time.Time
}
