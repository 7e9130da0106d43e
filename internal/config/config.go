package config

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/oauth"
	"github.com/rampart-dev/rampart/internal/ratelimit"
)

// Var documents one setting: its flag, its environment variable, its
// default and what it does. The list feeds --help and the README table.
type Var struct {
	Flag    string
	Env     string
	Default string
	Usage   string
	// Secret values (URLs with passwords, keys) are never shown in --help.
	Secret bool
}

// The settings, in the order --help shows them.
var (
	VarAddr           = Var{"addr", "RAMPART_ADDR", "127.0.0.1:8080", "HTTP listen address (host:port; port 0 picks a free port)", false}
	VarDataDir        = Var{"data-dir", "RAMPART_DATA_DIR", "./rampart-data", "data directory of the embedded PostgreSQL cluster (used when DATABASE_URL is unset)", false}
	VarDatabaseURL    = Var{"database-url", "DATABASE_URL", "", "PostgreSQL URL; unset = embedded cluster in the data directory. serve/worker/rls-audit: the runtime login; migrate: an owner or superuser login", true}
	VarServiceURL     = Var{"service-database-url", "RAMPART_SERVICE_DATABASE_URL", "", "PostgreSQL URL of the service login (NOINHERIT member of rampart_service only) used by the audited service path; required with DATABASE_URL for serve and worker; unset in embedded mode (created automatically)", true}
	VarPGOSUser       = Var{"pg-os-user", "RAMPART_PG_OS_USER", "postgres", "system user that runs the embedded cluster when rampart runs as root (PostgreSQL refuses root)", false}
	VarLogLevel       = Var{"log-level", "RAMPART_LOG_LEVEL", "info", "log level: debug, info, warn or error", false}
	VarLogFormat      = Var{"log-format", "RAMPART_LOG_FORMAT", "json", "log format: json or text", false}
	VarDBMaxConns     = Var{"db-max-conns", "RAMPART_DB_MAX_CONNS", "10", "maximum connections in the runtime pool (1-1000)", false}
	VarPublicURL      = Var{"public-url", "RAMPART_PUBLIC_URL", "", "external base URL used in links (default http://<addr>)", false}
	VarSMTPURL        = Var{"smtp-url", "RAMPART_SMTP_URL", "", "SMTP server for magic-link mail: smtp://user:pass@host:587 (STARTTLS), smtps://…:465, smtp+insecure://… (local tests only); unset = mail is written to the outbox <data-dir>/mail (rampart mail outbox), never to the log", true}
	VarMailFrom       = Var{"mail-from", "RAMPART_MAIL_FROM", "Rampart <no-reply@rampart.invalid>", "From address of magic-link mail", false}
	VarSessionKeys    = Var{"session-keys", "RAMPART_SESSION_KEYS", "", "session cookie HMAC keys kid:base64,… (32+ bytes each; the first signs, all verify); unset = generated into <data-dir>/secrets/keys.json in embedded mode, required otherwise", true}
	VarAuditKeys      = Var{"audit-keys", "RAMPART_AUDIT_KEYS", "", "audit log MAC keys kid:base64,… (32+ bytes each; the first signs, all verify; keep retired keys to verify old events); unset = as for session keys", true}
	VarFieldKeys      = Var{"field-keys", "RAMPART_FIELD_KEYS", "", "field encryption AES-256 keys kid:base64,… (exactly 32 bytes each; the first encrypts, all decrypt; prepend a new key, then `rampart keys rotate`); unset = generated into <data-dir>/secrets/keys.json in embedded mode, required otherwise", true}
	VarAuditRetain    = Var{"audit-retention-months", "RAMPART_AUDIT_RETENTION_MONTHS", "24", "months audit events are kept before the retention job purges them (12-120; 12 is the documented legal floor)", false}
	VarAuditSeal      = Var{"audit-seal-interval", "RAMPART_AUDIT_SEAL_INTERVAL", "10s", "how often serve seals new audit events into the hash chain (1s-1h)", false}
	VarRateLimits     = Var{"rate-limits", "RAMPART_RATE_LIMITS", "", "rate-limit tiers as tier=N/period, at most N requests of one key in any period (sliding window), e.g. auth=5/1m,api=60/1m (tiers: auth, agent, chat, upload, api, webhook, and org-api, org-agent: an organization's budget shared by its members and tokens; unset = auth 5/min, agent 10/min, chat 15/min, upload 20/min, api 60/min, webhook 120/min per address, org-api 600/min, org-agent 50/min)", false}
	VarTLSCert        = Var{"tls-cert", "RAMPART_TLS_CERT", "", "PEM certificate (chain) file: serve HTTPS itself (TLS 1.2+); unset = plain HTTP behind a TLS-terminating proxy", false}
	VarTLSKey         = Var{"tls-key", "RAMPART_TLS_KEY", "", "PEM private key file for RAMPART_TLS_CERT", false}
	VarHTTPRedirect   = Var{"http-redirect-addr", "RAMPART_HTTP_REDIRECT_ADDR", "", "with TLS: also listen here with plain HTTP that only redirects to HTTPS (e.g. :80)", false}
	VarTrustedProxies = Var{"trusted-proxies", "RAMPART_TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of proxies whose X-Forwarded-For is believed (unset = none)", false}
	VarRedisURL       = Var{"redis-url", "RAMPART_REDIS_URL", "", "Redis for rate limits shared by several instances: redis://[:password@]host:6379/0 or unix:///path/redis.sock; unset = in-process limiter", true}
	VarSentryDSN      = Var{"sentry-dsn", "RAMPART_SENTRY_DSN", "", "Sentry DSN for error reports (official SDK; events are scrubbed of emails, tokens, cookies and cost fields before sending); unset = off", true}
	VarEnv            = Var{"env", "RAMPART_ENV", "production", "environment name reported to Sentry", false}
	VarMetricsAddr    = Var{"metrics-addr", "RAMPART_METRICS_ADDR", "", "separate listen address for Prometheus /metrics (e.g. 127.0.0.1:9090); unset = off unless RAMPART_METRICS_TOKEN is set", false}
	VarMetricsToken   = Var{"metrics-token", "RAMPART_METRICS_TOKEN", "", "bearer token required for /metrics; with it and no RAMPART_METRICS_ADDR, /metrics is served on the main listener", true}
	VarLLM            = Var{"llm", "RAMPART_LLM", "offline", "model provider: offline (built in, no network), anthropic or openai (any OpenAI-compatible server)", false}
	VarLLMModel       = Var{"llm-model", "RAMPART_LLM_MODEL", "", "model name; empty = the provider's default (docs/llm.md)", false}
	VarAnthropicKey   = Var{"anthropic-api-key", "RAMPART_ANTHROPIC_API_KEY", "", "Anthropic API key (required with RAMPART_LLM=anthropic)", true}
	VarOpenAIKey      = Var{"openai-api-key", "RAMPART_OPENAI_API_KEY", "", "API key of the OpenAI-compatible server (local servers usually need none)", true}
	VarOpenAIBaseURL  = Var{"openai-base-url", "RAMPART_OPENAI_BASE_URL", "", "OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1 (llama.cpp, vLLM, Ollama); empty = api.openai.com", false}
	VarAIWorkers      = Var{"ai-workers", "RAMPART_AI_WORKERS", "4", "AI jobs this process runs at once (0 = request jobs but do not work them)", false}
	VarAIPerOrg       = Var{"ai-org-concurrency", "RAMPART_AI_ORG_CONCURRENCY", "2", "AI jobs of one organization running at once in the whole cluster, every process counted (more wait)", false}
	VarAIAttempts     = Var{"ai-max-attempts", "RAMPART_AI_MAX_ATTEMPTS", "5", "attempts per AI job (retries back off exponentially)", false}
	VarAIJobTimeout   = Var{"ai-job-timeout", "RAMPART_AI_JOB_TIMEOUT", "5m", "time limit of one AI job attempt", false}
	VarAIPoll         = Var{"ai-poll-interval", "RAMPART_AI_POLL_INTERVAL", "200ms", "how often an idle worker looks for AI jobs", false}
	VarGuardMode      = Var{"ai-guard-mode", "RAMPART_AI_GUARD_MODE", "refuse", "input the prompt-injection guard flags: refuse (the job is refused) or review (held for a person)", false}
	VarGuardThreshold = Var{"ai-guard-threshold", "RAMPART_AI_GUARD_THRESHOLD", "50", "guard score (1-100) at or above which input is flagged", false}
	VarGuardFields    = Var{"ai-guard-thresholds", "RAMPART_AI_GUARD_THRESHOLDS", "", "per-field guard thresholds, field=N,… (fields title, client, brief, venue; N 1-100), e.g. title=60; a field not listed uses RAMPART_AI_GUARD_THRESHOLD", false}
	VarKillRefresh    = Var{"killswitch-refresh", "RAMPART_KILLSWITCH_REFRESH", "1s", "period of the kill-switch re-read that backs up LISTEN/NOTIFY; AI work stops when the state is unconfirmed for 5 periods", false}
	VarSignup         = Var{"signup", "RAMPART_SIGNUP", "operator", "who may create an organization: operator (only `rampart org create`), invite (also people the operator sends a sign-up link with `rampart org invite`), open (also anyone, after confirming their address with POST /api/auth/signup)", false}
	VarTokenKeys      = Var{"token-keys", "RAMPART_TOKEN_KEYS", "", "API token Ed25519 seeds kid:base64,… (32 bytes each; the first signs, all verify); unset = as for session keys", true}
	VarAttachmentMax  = Var{"attachment-max-bytes", "RAMPART_ATTACHMENT_MAX_BYTES", "10MiB", "largest file a proposal attachment may be: bytes, or a number with KiB or MiB (1KiB-64MiB); a larger upload is refused with 413 while it is read", false}
)

// AllVars lists every setting for documentation.
var AllVars = []Var{VarAddr, VarDataDir, VarDatabaseURL, VarServiceURL, VarPGOSUser, VarLogLevel, VarLogFormat, VarDBMaxConns, VarPublicURL,
	VarSMTPURL, VarMailFrom, VarSignup, VarSessionKeys, VarTokenKeys, VarAuditKeys, VarFieldKeys, VarAuditRetain, VarAuditSeal, VarRateLimits, VarTLSCert, VarTLSKey, VarHTTPRedirect, VarTrustedProxies,
	VarRedisURL, VarSentryDSN, VarEnv, VarMetricsAddr, VarMetricsToken, VarLLM, VarLLMModel, VarAnthropicKey, VarOpenAIKey,
	VarOpenAIBaseURL, VarAIWorkers, VarAIPerOrg, VarAIAttempts, VarAIJobTimeout, VarAIPoll, VarGuardMode, VarGuardThreshold, VarGuardFields, VarKillRefresh,
	VarAttachmentMax, VarSecretsKey, VarIntegrations, VarStripeSecret, VarStripeTolerance, VarBillingGrace}

// AIVars are the settings of the AI pipeline (serve and worker).
var AIVars = []Var{VarLLM, VarLLMModel, VarAnthropicKey, VarOpenAIKey, VarOpenAIBaseURL, VarAIWorkers, VarAIPerOrg,
	VarAIAttempts, VarAIJobTimeout, VarAIPoll, VarGuardMode, VarGuardThreshold, VarGuardFields, VarKillRefresh}

// Config is the validated configuration.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	ServiceURL  string
	PGOSUser    string
	LogLevel    slog.Level
	LogFormat   string
	DBMaxConns  int32
	PublicURL   string
	SMTPURL     string
	MailFrom    string
	SessionKeys string
	TokenKeys   string
	AuditKeys   string
	// FieldKeys is the field-encryption key ring (RAMPART_FIELD_KEYS),
	// checked at load; empty in embedded mode means the generated file.
	FieldKeys string
	// AuditRetentionMonths is how long audit events are kept (12-120).
	AuditRetentionMonths int
	AuditSealInterval    time.Duration
	// Signup is who may create an organization: SignupOperator,
	// SignupInvite or SignupOpen.
	Signup string
	// RateLimits are the request tiers.
	RateLimits       ratelimit.Tiers
	TLSCert, TLSKey  string
	RedisURL         string
	SentryDSN, Env   string
	MetricsAddr      string
	MetricsToken     string
	HTTPRedirectAddr string
	TrustedProxies   []netip.Prefix
	AI               AI
	// AttachmentMaxBytes caps a proposal attachment (RAMPART_ATTACHMENT_MAX_BYTES).
	AttachmentMaxBytes int64
	// SecretsKey is the key ring sealing integration credentials
	// (RAMPART_SECRETS_KEY), checked at load; empty in embedded mode means
	// the generated file.
	SecretsKey string
	// Integrations are the OAuth providers of RAMPART_INTEGRATIONS.
	Integrations []oauth.Provider
	// Billing is the Stripe webhook's configuration (RAMPART_STRIPE_*,
	// RAMPART_BILLING_GRACE).
	Billing Billing
}

// AI is the AI pipeline's configuration. The provider settings are
// validated by llm.New at start-up (the messages name these variables).
type AI struct {
	Provider, Model, AnthropicKey, OpenAIKey, OpenAIBaseURL string
	Workers, PerOrg, MaxAttempts, GuardThreshold            int
	JobTimeout, PollInterval, KillSwitchRefresh             time.Duration
	GuardMode                                               string
	// GuardFields are the per-field thresholds of
	// RAMPART_AI_GUARD_THRESHOLDS (a field not in it uses GuardThreshold).
	GuardFields map[string]int
}

// GuardFields are the fields of a proposal the AI jobs pass through the
// guard, by the label they give them (internal/jobs guardInputs; a test
// there keeps the two lists equal): the names RAMPART_AI_GUARD_THRESHOLDS
// accepts.
var GuardFields = []string{"title", "client", "brief", "venue"}

// parseGuardFields reads "field=N,field=N": each field one of GuardFields,
// at most once, N a whole number from 1 to 100. An empty value is no
// per-field threshold.
func parseGuardFields(s string) (map[string]int, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		field, val, ok := strings.Cut(part, "=")
		field, val = strings.TrimSpace(field), strings.TrimSpace(val)
		if !ok || field == "" {
			return nil, fmt.Errorf("%q is not field=N (e.g. title=60)", part)
		}
		if !slices.Contains(GuardFields, field) {
			return nil, fmt.Errorf("%q is not a guarded field (%s)", field, strings.Join(GuardFields, ", "))
		}
		if _, dup := out[field]; dup {
			return nil, fmt.Errorf("%q is given twice", field)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > 100 {
			return nil, fmt.Errorf("the threshold of %q, %q, must be a whole number from 1 to 100", field, val)
		}
		out[field] = n
	}
	return out, nil
}

// The sign-up modes of RAMPART_SIGNUP.
const (
	SignupOperator = "operator" // organizations are created by the operator only
	SignupInvite   = "invite"   // and by people the operator sent a sign-up link
	SignupOpen     = "open"     // and by anyone who confirms their address
)

// Warnings are the settings that are valid but worth an operator's look;
// readiness reports them under "configuration".
func (c Config) Warnings() []string {
	var w []string
	if c.SMTPURL == "" {
		w = append(w, "mail is not sent (RAMPART_SMTP_URL unset): it is written to the outbox")
	}
	if c.TLSCert == "" && strings.HasPrefix(c.PublicURL, "http://") {
		if u, err := url.Parse(c.PublicURL); err == nil {
			if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
				w = append(w, "magic links point at a plain-HTTP RAMPART_PUBLIC_URL")
			}
		}
	}
	if c.Signup == SignupOpen {
		w = append(w, "anyone can create an organization (RAMPART_SIGNUP=open)")
	}
	return w
}

// Embedded reports whether Rampart runs its own cluster (no DATABASE_URL).
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// Loader binds settings to a flag set with environment defaults.
type Loader struct {
	fs     *flag.FlagSet
	getenv func(string) string
	values map[string]*string
	env    map[string]string // secret values from the environment
	used   []Var
}

// NewLoader registers vars on fs; getenv supplies the environment.
func NewLoader(fs *flag.FlagSet, getenv func(string) string, vars ...Var) *Loader {
	l := &Loader{fs: fs, getenv: getenv, values: map[string]*string{}, env: map[string]string{}, used: vars}
	for _, v := range vars {
		def := v.Default
		if env := getenv(v.Env); env != "" {
			if v.Secret {
				// Not the flag's default: --help would print it.
				l.env[v.Flag] = env
			} else {
				def = env
			}
		}
		l.values[v.Flag] = fs.String(v.Flag, def, fmt.Sprintf("%s (env %s)", v.Usage, v.Env))
	}
	return l
}

// Load validates the parsed values. Settings not registered keep defaults.
func (l *Loader) Load() (Config, error) {
	get := func(v Var) string {
		if p, ok := l.values[v.Flag]; ok {
			if *p == "" && l.env[v.Flag] != "" {
				return strings.TrimSpace(l.env[v.Flag])
			}
			return strings.TrimSpace(*p)
		}
		return v.Default
	}
	var errs []error
	bad := func(v Var, format string, args ...any) {
		errs = append(errs, fmt.Errorf("invalid %s (--%s): %s", v.Env, v.Flag, fmt.Sprintf(format, args...)))
	}
	c := Config{
		Addr:        get(VarAddr),
		DataDir:     get(VarDataDir),
		DatabaseURL: get(VarDatabaseURL),
		ServiceURL:  get(VarServiceURL),
		PGOSUser:    get(VarPGOSUser),
		LogFormat:   get(VarLogFormat),
		PublicURL:   strings.TrimRight(get(VarPublicURL), "/"),
		SMTPURL:     get(VarSMTPURL),
		MailFrom:    get(VarMailFrom),
		SessionKeys: get(VarSessionKeys),
		TokenKeys:   get(VarTokenKeys),
		AuditKeys:   get(VarAuditKeys),
		FieldKeys:   get(VarFieldKeys),
	}
	if n, err := strconv.Atoi(get(VarAuditRetain)); err != nil || n < 12 || n > 120 {
		bad(VarAuditRetain, "%q must be a whole number of months from 12 (the legal floor documented in docs/audit.md) to 120", get(VarAuditRetain))
	} else {
		c.AuditRetentionMonths = n
	}
	c.TLSCert, c.TLSKey, c.HTTPRedirectAddr = get(VarTLSCert), get(VarTLSKey), get(VarHTTPRedirect)
	c.RedisURL, c.SentryDSN, c.Env, c.MetricsAddr, c.MetricsToken = get(VarRedisURL), get(VarSentryDSN), get(VarEnv), get(VarMetricsAddr), get(VarMetricsToken)
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad(VarMetricsAddr, "%q is not host:port (for example 127.0.0.1:9090)", c.MetricsAddr)
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		bad(VarMetricsToken, "must be at least 16 characters")
	}
	if host, _, err := net.SplitHostPort(c.MetricsAddr); err == nil && c.MetricsToken == "" {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			bad(VarMetricsToken, "is required when RAMPART_METRICS_ADDR (%s) is not a loopback address", c.MetricsAddr)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad(VarTLSCert, "set RAMPART_TLS_CERT and RAMPART_TLS_KEY together")
	} else if c.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			bad(VarTLSCert, "cannot load the certificate and key: %v", err)
		}
	}
	if c.HTTPRedirectAddr != "" {
		if c.TLSCert == "" {
			bad(VarHTTPRedirect, "only makes sense with RAMPART_TLS_CERT")
		} else if _, _, err := net.SplitHostPort(c.HTTPRedirectAddr); err != nil {
			bad(VarHTTPRedirect, "%q is not host:port (for example :80)", c.HTTPRedirectAddr)
		}
	}
	for _, p := range strings.Split(get(VarTrustedProxies), ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if a, err := netip.ParseAddr(p); err == nil {
				c.TrustedProxies = append(c.TrustedProxies, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
				continue
			}
		}
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			bad(VarTrustedProxies, "%q is not an IP address or CIDR", p)
			continue
		}
		if pr.Addr().Is4In6() { // ::ffff:10.0.0.0/104 means 10.0.0.0/8
			pr = netip.PrefixFrom(pr.Addr().Unmap(), max(pr.Bits()-96, 0))
		}
		c.TrustedProxies = append(c.TrustedProxies, pr.Masked())
	}
	switch c.Signup = get(VarSignup); c.Signup {
	case SignupOperator, SignupInvite, SignupOpen:
	default:
		bad(VarSignup, "%q is not operator, invite or open", c.Signup)
	}
	if t, err := ratelimit.ParseTiers(get(VarRateLimits)); err != nil {
		bad(VarRateLimits, "%v", err)
	} else {
		c.RateLimits = t
	}
	if d, err := time.ParseDuration(get(VarAuditSeal)); err != nil || d < time.Second || d > time.Hour {
		bad(VarAuditSeal, "%q must be a duration from 1s to 1h (e.g. 10s)", get(VarAuditSeal))
	} else {
		c.AuditSealInterval = d
	}
	if _, all := l.values[VarSessionKeys.Flag]; all && ((c.SessionKeys == "") != (c.TokenKeys == "") || (c.SessionKeys == "") != (c.AuditKeys == "")) {
		bad(VarSessionKeys, "set RAMPART_SESSION_KEYS, RAMPART_TOKEN_KEYS and RAMPART_AUDIT_KEYS together, or none (embedded mode generates them)")
	}
	if c.FieldKeys != "" {
		if _, err := fieldcrypt.ParseRing(c.FieldKeys); err != nil {
			bad(VarFieldKeys, "%v", err)
		}
	}
	c.SecretsKey = get(VarSecretsKey)
	if err := secretsKey(c.SecretsKey, c.FieldKeys); err != nil {
		errs = append(errs, err)
	}
	if _, ok := l.values[VarIntegrations.Flag]; ok {
		var ierrs []error
		c.Integrations, ierrs = integrations(get(VarIntegrations), c.PublicURL, l.getenv)
		errs = append(errs, ierrs...)
	}
	if _, ok := l.values[VarStripeSecret.Flag]; ok {
		c.Billing = billing(get, bad)
	}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad(VarAddr, "%q is not host:port (for example 127.0.0.1:8080)", c.Addr)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad(VarAddr, "port %q must be a number from 0 to 65535", port)
	} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		bad(VarAddr, "host %q must be an IP address or localhost", host)
	}
	if c.DataDir == "" {
		bad(VarDataDir, "must not be empty")
	}
	for _, v := range []struct {
		val string
		v   Var
	}{{c.DatabaseURL, VarDatabaseURL}, {c.ServiceURL, VarServiceURL}} {
		if v.val == "" {
			continue
		}
		u, err := url.Parse(v.val)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad(v.v, "must be a postgres:// or postgresql:// URL")
		}
	}
	if c.ServiceURL != "" && c.DatabaseURL == "" {
		bad(VarServiceURL, "is only used with DATABASE_URL (the embedded cluster creates its own service login)")
	}
	if err := c.LogLevel.UnmarshalText([]byte(get(VarLogLevel))); err != nil {
		bad(VarLogLevel, "%q is not one of debug, info, warn, error", get(VarLogLevel))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad(VarLogFormat, "%q is not json or text", c.LogFormat)
	}
	if n, err := strconv.Atoi(get(VarDBMaxConns)); err != nil || n < 1 || n > 1000 {
		bad(VarDBMaxConns, "%q must be a whole number from 1 to 1000", get(VarDBMaxConns))
	} else {
		c.DBMaxConns = int32(n) // #nosec G109 -- n is checked to be 1..1000 just above
	}
	if n, err := ParseSize(get(VarAttachmentMax)); err != nil || n < MinAttachmentBytes || n > MaxAttachmentBytes {
		bad(VarAttachmentMax, "%q must be a size from 1KiB to 64MiB: a whole number of bytes, or with KiB or MiB (e.g. 10MiB)", get(VarAttachmentMax))
	} else {
		c.AttachmentMaxBytes = n
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad(VarPublicURL, "%q must be an absolute http(s) URL without query or fragment", c.PublicURL)
		}
	}
	c.AI.Provider, c.AI.Model, c.AI.AnthropicKey = get(VarLLM), get(VarLLMModel), get(VarAnthropicKey)
	c.AI.OpenAIKey, c.AI.OpenAIBaseURL, c.AI.GuardMode = get(VarOpenAIKey), get(VarOpenAIBaseURL), get(VarGuardMode)
	switch c.AI.Provider {
	case "offline", "anthropic", "openai":
	default:
		bad(VarLLM, "%q is not offline, anthropic or openai", c.AI.Provider)
	}
	if c.AI.GuardMode != "refuse" && c.AI.GuardMode != "review" {
		bad(VarGuardMode, "%q is not refuse or review", c.AI.GuardMode)
	}
	for _, n := range []struct {
		v        Var
		dst      *int
		min, max int
	}{{VarAIWorkers, &c.AI.Workers, 0, 1000}, {VarAIPerOrg, &c.AI.PerOrg, 1, 1000}, {VarAIAttempts, &c.AI.MaxAttempts, 1, 25},
		{VarGuardThreshold, &c.AI.GuardThreshold, 1, 100}} {
		if x, err := strconv.Atoi(get(n.v)); err != nil || x < n.min || x > n.max {
			bad(n.v, "%q must be a whole number from %d to %d", get(n.v), n.min, n.max)
		} else {
			*n.dst = x
		}
	}
	if f, err := parseGuardFields(get(VarGuardFields)); err != nil {
		bad(VarGuardFields, "%v", err)
	} else {
		c.AI.GuardFields = f
	}
	for _, d := range []struct {
		v        Var
		dst      *time.Duration
		min, max time.Duration
	}{{VarAIJobTimeout, &c.AI.JobTimeout, time.Second, 24 * time.Hour}, {VarAIPoll, &c.AI.PollInterval, 10 * time.Millisecond, time.Minute},
		{VarKillRefresh, &c.AI.KillSwitchRefresh, 10 * time.Millisecond, time.Minute}} {
		if x, err := time.ParseDuration(get(d.v)); err != nil || x < d.min || x > d.max {
			bad(d.v, "%q must be a duration from %s to %s (like 200ms, 5s, 5m)", get(d.v), d.min, d.max)
		} else {
			*d.dst = x
		}
	}
	return c, errors.Join(errs...)
}

// The bounds of RAMPART_ATTACHMENT_MAX_BYTES (the attachments table checks
// the upper one too).
const (
	MinAttachmentBytes = 1 << 10
	MaxAttachmentBytes = 64 << 20
)

// ParseSize reads a size in bytes: a whole number, optionally followed by
// KiB or MiB ("10MiB", "512KiB", "1048576").
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, suffix)), m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return n * mult, nil
}
