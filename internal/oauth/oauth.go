package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// AuthStyle is how the client authenticates to the token and revocation
// endpoints (RFC 6749 §2.3.1).
type AuthStyle string

// The client authentication styles.
const (
	// AuthBasic sends client_id and client_secret with HTTP Basic
	// authentication, which every server must support (the default).
	AuthBasic AuthStyle = "basic"
	// AuthBody sends them as form parameters of the request body.
	AuthBody AuthStyle = "body"
)

// Provider is one authorization server as configured (config reads it from
// RAMPART_INTEGRATION_<NAME>_* and names the variable of any fault).
type Provider struct {
	// Name is how Rampart calls the provider: the {provider} of the API's
	// paths (rampart.ValidProviderName).
	Name         string
	ClientID     string
	ClientSecret rampart.Secret
	AuthURL      string
	TokenURL     string
	// RevokeURL is the RFC 7009 revocation endpoint; empty when the
	// provider has none (disconnecting then only forgets the tokens).
	RevokeURL string
	Scopes    []string
	AuthStyle AuthStyle
}

// Options tune the client.
type Options struct {
	// HTTPClient sends every request to the providers (default: a client
	// with Timeout and no redirects). Its redirect policy is replaced:
	// token and revocation endpoints are never followed elsewhere.
	HTTPClient *http.Client
	// Timeout bounds each call to a provider (default 15 s).
	Timeout time.Duration
}

// DefaultTimeout bounds a call to a provider when Options.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Client talks to the configured providers.
type Client struct {
	providers map[string]*provider
	names     []string
	http      *http.Client
	timeout   time.Duration
}

type provider struct {
	cfg  Provider
	conf *oauth2.Config
}

// New builds a client for providers, whose redirect URI is
// <publicURL>/api/integrations/<name>/callback.
func New(providers []Provider, publicURL string, opts Options) (*Client, error) {
	c := &Client{providers: map[string]*provider{}, timeout: opts.Timeout}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	base := http.Client{Timeout: c.timeout}
	if opts.HTTPClient != nil {
		base = *opts.HTTPClient
	}
	base.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &base
	publicURL = strings.TrimRight(publicURL, "/")
	if len(providers) > 0 {
		if u, err := url.Parse(publicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("oauth: public URL %q is not an absolute http(s) URL", publicURL)
		}
	}
	for _, p := range providers {
		if !rampart.ValidProviderName(p.Name) {
			return nil, fmt.Errorf("oauth: provider name %q: use 1-32 lower-case letters, digits or '_', starting with a letter", p.Name)
		}
		if _, dup := c.providers[p.Name]; dup {
			return nil, fmt.Errorf("oauth: provider %q configured twice", p.Name)
		}
		if p.ClientID == "" || p.AuthURL == "" || p.TokenURL == "" {
			return nil, fmt.Errorf("oauth: provider %q needs a client id, an authorization URL and a token URL", p.Name)
		}
		style := oauth2.AuthStyleInHeader
		switch p.AuthStyle {
		case AuthBasic, "":
			p.AuthStyle = AuthBasic
		case AuthBody:
			style = oauth2.AuthStyleInParams
		default:
			return nil, fmt.Errorf("oauth: provider %q: auth style %q is not basic or body", p.Name, p.AuthStyle)
		}
		p.Scopes = slices.Clone(p.Scopes)
		c.providers[p.Name] = &provider{cfg: p, conf: &oauth2.Config{
			ClientID:     p.ClientID,
			ClientSecret: p.ClientSecret.Reveal(),
			Endpoint:     oauth2.Endpoint{AuthURL: p.AuthURL, TokenURL: p.TokenURL, AuthStyle: style},
			RedirectURL:  publicURL + "/api/integrations/" + p.Name + "/callback",
			Scopes:       p.Scopes,
		}}
		c.names = append(c.names, p.Name)
	}
	slices.Sort(c.names)
	return c, nil
}

// Names lists the configured providers, sorted.
func (c *Client) Names() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.names)
}

// Has reports whether provider name is configured.
func (c *Client) Has(name string) bool {
	if c == nil {
		return false
	}
	_, ok := c.providers[name]
	return ok
}

// Scopes returns the scopes Rampart asks provider name for.
func (c *Client) Scopes(name string) []string {
	if p, ok := c.lookup(name); ok {
		return slices.Clone(p.cfg.Scopes)
	}
	return nil
}

// CanRevoke reports whether provider name has a revocation endpoint.
func (c *Client) CanRevoke(name string) bool {
	p, ok := c.lookup(name)
	return ok && p.cfg.RevokeURL != ""
}

// RedirectURL is the callback the provider returns the browser to.
func (c *Client) RedirectURL(name string) string {
	if p, ok := c.lookup(name); ok {
		return p.conf.RedirectURL
	}
	return ""
}

func (c *Client) lookup(name string) (*provider, bool) {
	if c == nil {
		return nil, false
	}
	p, ok := c.providers[name]
	return p, ok
}

func errUnknown(op, name string) error {
	return rampart.Errorf(op, rampart.KindNotFound, "no integration provider named %q is configured", name)
}

// GenerateVerifier returns a fresh PKCE code verifier (32 random bytes,
// RFC 7636 §4.1).
func GenerateVerifier() rampart.Secret { return rampart.NewSecret(oauth2.GenerateVerifier()) }

// AuthCodeURL is the provider's authorization URL for state, with the S256
// challenge of verifier (the verifier itself stays here). scopes, when not
// empty, replace the configured ones for this authorization.
func (c *Client) AuthCodeURL(name, state string, verifier rampart.Secret, scopes []string) (string, error) {
	p, ok := c.lookup(name)
	if !ok {
		return "", errUnknown("oauth.AuthCodeURL", name)
	}
	conf := *p.conf
	if len(scopes) > 0 {
		conf.Scopes = scopes
	}
	return conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier.Reveal())), nil
}

// Grant is what a token endpoint returned.
type Grant struct {
	Tokens rampart.IntegrationTokens
	// Scopes are the scopes the provider says it granted; nil when the
	// response did not say (RFC 6749 §5.1: then they are the ones asked).
	Scopes []string
}

func grantOf(t *oauth2.Token) Grant {
	g := Grant{Tokens: rampart.IntegrationTokens{Access: rampart.NewSecret(t.AccessToken), Refresh: rampart.NewSecret(t.RefreshToken), Expiry: t.Expiry}}
	if s, ok := t.Extra("scope").(string); ok && strings.TrimSpace(s) != "" {
		g.Scopes = strings.Fields(s)
	}
	return g
}

func (c *Client) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	return context.WithValue(ctx, oauth2.HTTPClient, c.http), cancel
}

// Exchange trades an authorization code for tokens, proving the flow with
// its PKCE verifier.
func (c *Client) Exchange(ctx context.Context, name, code string, verifier rampart.Secret) (Grant, error) {
	const op = "oauth.Exchange"
	p, ok := c.lookup(name)
	if !ok {
		return Grant{}, errUnknown(op, name)
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	t, err := p.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier.Reveal()))
	if err != nil {
		return Grant{}, classify(op, name, err)
	}
	return grantOf(t), nil
}

// Refresh spends a refresh token for new tokens. When the provider rotates
// refresh tokens the Grant holds the new one; when it does not, the one
// given (golang.org/x/oauth2 keeps it).
func (c *Client) Refresh(ctx context.Context, name string, refresh rampart.Secret) (Grant, error) {
	const op = "oauth.Refresh"
	p, ok := c.lookup(name)
	if !ok {
		return Grant{}, errUnknown(op, name)
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	// An expired token with only a refresh token: Token() refreshes.
	t, err := p.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh.Reveal(), Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return Grant{}, classify(op, name, err)
	}
	return grantOf(t), nil
}

// Revoke asks the provider to revoke token (RFC 7009), with hint
// "refresh_token" or "access_token". A provider without a revocation
// endpoint is an error of kind invalid: check CanRevoke first.
func (c *Client) Revoke(ctx context.Context, name string, token rampart.Secret, hint string) error {
	const op = "oauth.Revoke"
	p, ok := c.lookup(name)
	if !ok {
		return errUnknown(op, name)
	}
	if p.cfg.RevokeURL == "" {
		return rampart.Errorf(op, rampart.KindInvalid, "provider %q has no revocation endpoint", name)
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	form := url.Values{"token": {token.Reveal()}, "token_type_hint": {hint}}
	if p.cfg.AuthStyle == AuthBody {
		form.Set("client_id", p.cfg.ClientID)
		if !p.cfg.ClientSecret.Empty() {
			form.Set("client_secret", p.cfg.ClientSecret.Reveal())
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return &Error{Op: op, Provider: name, Kind: Failed, Description: "invalid revocation URL"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if p.cfg.AuthStyle != AuthBody {
		// RFC 6749 §2.3.1: both are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(p.cfg.ClientID), url.QueryEscape(p.cfg.ClientSecret.Reveal()))
	}
	res, err := c.http.Do(req)
	if err != nil {
		return &Error{Op: op, Provider: name, Kind: Failed, Description: transportDetail(err)}
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode == http.StatusOK {
		return nil // RFC 7009 §2.2: also for a token already invalid
	}
	e := &Error{Op: op, Provider: name, Kind: Failed, Status: res.StatusCode}
	if code, desc := oauthError(res.Header.Get("Content-Type"), body); code != "" && res.StatusCode < 500 {
		e.Kind, e.Code, e.Description = Refused, code, desc
	}
	return e
}

// ErrorKind says how a provider failed.
type ErrorKind int

const (
	// Failed: no usable answer (unreachable, timed out, a 5xx, a
	// malformed response). Trying again later may work.
	Failed ErrorKind = iota
	// Refused: the provider answered with an OAuth error (RFC 6749 §5.2,
	// RFC 7009 §2.2.1): Code says which.
	Refused
)

// Error is a provider's failure. It never holds a response body, a token
// or a code: only the OAuth error code, its description (cleaned and
// cut to 200 characters) and the HTTP status.
type Error struct {
	Op          string
	Provider    string
	Kind        ErrorKind
	Code        string // e.g. invalid_grant
	Description string
	Status      int
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: provider %s", e.Op, e.Provider)
	if e.Kind == Refused {
		fmt.Fprintf(&b, " refused: %s", e.Code)
	} else {
		b.WriteString(" failed")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	return b.String()
}

// InvalidGrant reports whether the provider refused the grant itself (a
// code or refresh token that is invalid, expired, revoked, or issued to
// another client): RFC 6749 §5.2 invalid_grant.
func (e *Error) InvalidGrant() bool { return e.Kind == Refused && e.Code == "invalid_grant" }

// AsError returns err's *Error, if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func classify(op, name string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &Error{Op: op, Provider: name, Kind: Failed}
		if re.Response != nil {
			e.Status = re.Response.StatusCode
		}
		if re.ErrorCode != "" && e.Status < 500 {
			e.Kind, e.Code, e.Description = Refused, clean(re.ErrorCode, 64), clean(re.ErrorDescription, 200)
		}
		return e
	}
	return &Error{Op: op, Provider: name, Kind: Failed, Description: transportDetail(err)}
}

// transportDetail names a failure without echoing what was sent.
func transportDetail(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "could not reach the endpoint"
	}
	if strings.Contains(err.Error(), "missing access_token") {
		return "the token response has no access_token"
	}
	return "invalid response"
}

// oauthError reads an RFC 6749 §5.2 error body.
func oauthError(contentType string, body []byte) (code, desc string) {
	if strings.Contains(contentType, "json") {
		var v struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal(body, &v) == nil {
			return clean(v.Error, 64), clean(v.ErrorDescription, 200)
		}
		return "", ""
	}
	if vals, err := url.ParseQuery(string(body)); err == nil {
		return clean(vals.Get("error"), 64), clean(vals.Get("error_description"), 200)
	}
	return "", ""
}

// clean keeps printable characters and cuts s to n runes.
func clean(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if n == 0 {
			break
		}
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			n--
		}
	}
	return b.String()
}
