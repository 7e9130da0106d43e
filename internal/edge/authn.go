package edge

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

type requestIDKey struct{}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ClientInfo is the request's client for sessions and audit events; its
// address is the one clientAddr resolved (trusted proxies considered).
func ClientInfo(r *http.Request) store.ClientInfo {
	ci := store.ClientInfo{UserAgent: r.UserAgent()}
	if rid, ok := r.Context().Value(requestIDKey{}).(string); ok {
		ci.RequestID = rid
	}
	if ip, ok := r.Context().Value(clientIPKey{}).(netip.Addr); ok {
		ci.IP = ip
	} else {
		ci.IP = peerAddr(r)
	}
	return ci
}

type clientIPKey struct{}

// peerAddr is the TCP peer of the request.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap().WithZone("") // inet has no zones
}

// clientAddr resolves the client's address. X-Forwarded-For is believed
// only when the peer is a trusted proxy: walking the header from the
// right, the first address that is not a trusted proxy is the client.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := peerAddr(r)
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !peer.IsValid() || !isTrusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a malformed chain is not believed
		}
		a = a.Unmap().WithZone("")
		if !isTrusted(a) {
			return a
		}
	}
	return peer
}

func auditCSRF(r *http.Request) audit.Event {
	return audit.Event{ActorType: audit.ActorSystem, Action: audit.ActionCSRFRejected, TargetType: "route",
		TargetID: r.Method + " " + r.URL.Path, Reason: "cross-origin state-changing request"}
}

// errUnauthenticated is the one answer for any credential that fails:
// which check failed is never revealed.
func errUnauthenticated() error {
	return rampart.Errorf("edge.authenticate", rampart.KindUnauthenticated, "not signed in")
}

// presented is the credential a request carries: the Authorization header
// (a bearer token wins when both are present; a malformed one is refused
// rather than falling back) or the session cookie.
type presented struct {
	bearer bool
	value  string
}

func credentialOf(r *http.Request) (presented, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		return presented{bearer: true, value: h}, true
	}
	if ck, err := r.Cookie(auth.SessionCookieName); err == nil {
		return presented{value: ck.Value}, true
	}
	return presented{}, false
}

// verified is a credential whose format and signature checked out; whether
// it is still live is the database's answer.
type verified struct {
	token   *auth.VerifiedToken
	session *auth.SessionCookie
}

// failureKey is the budget of the credential's own failures. A signature
// cannot be forged, so no one can spend another's budget.
func (v verified) failureKey() string {
	if v.token != nil {
		return "fail:tok:" + v.token.TokenID.String()
	}
	return "fail:sess:" + v.session.SessionID.String()
}

// verify checks format and signature only: no database, no audit. reason
// is what the audit event says when the check fails ("" = not audited).
func (rt *Router) verify(p presented) (v verified, reason string, ok bool) {
	if p.bearer {
		raw, isBearer := strings.CutPrefix(p.value, "Bearer ")
		if !isBearer {
			return v, "", false
		}
		vt, err := rt.tokens.Verify(strings.TrimSpace(raw))
		if err != nil {
			return v, "token did not verify", false
		}
		return verified{token: &vt}, "", true
	}
	sc, err := rt.sealer.Open(p.value)
	if err != nil {
		return v, "session cookie did not verify", false
	}
	return verified{session: &sc}, "", true
}

// resolve turns a verified credential into live claims and the
// organization's feature flags, read with them (a renewed session cookie,
// when the session was renewed, is set on w).
func (rt *Router) resolve(w http.ResponseWriter, r *http.Request, v verified) (store.ResolvedClaims, error) {
	if v.token != nil {
		return rt.store.ResolveToken(r.Context(), v.token.TokenID, v.token.OrganizationID)
	}
	rc, err := rt.store.ResolveSession(r.Context(), v.session.SessionID)
	if err != nil {
		return rc, err
	}
	if rc.Renewed {
		http.SetCookie(w, rt.sealer.Cookie(auth.SessionCookie{SessionID: v.session.SessionID, ExpiresAt: rc.ExpiresAt}))
	}
	return rc, nil
}

// authenticate resolves the request's credential — a bearer API token or
// the session cookie — into live claims, or answers and returns false.
//
// Rate limits (see ratelimit.go): a request without a credential gets 401
// and spends nothing. A failure is charged to the client address and, when
// the credential's signature is valid, to the credential, and it is
// audited only when both budgets admit it. A spent budget refuses every
// credential that is not valid with the same 429, unaudited — but never a
// valid one: the signature is checked first (no database, and a guess
// cannot pass it), and a credential that resolves is served whatever its
// address has spent. A credential whose own budget is spent is refused
// before the database is asked.
func (rt *Router) authenticate(w http.ResponseWriter, r *http.Request) (store.ResolvedClaims, bool) {
	p, ok := credentialOf(r)
	if !ok {
		writeError(w, r, rt.log, errUnauthenticated())
		return store.ResolvedClaims{}, false
	}
	addr := "fail:" + clientKey(r)
	v, reason, ok := rt.verify(p)
	if !ok {
		if !rt.chargeFailure(w, r, addr) {
			return store.ResolvedClaims{}, false
		}
		if reason != "" {
			rt.recordRejected(r, p, reason)
		}
		if !p.bearer {
			http.SetCookie(w, auth.ClearCookie())
		}
		writeError(w, r, rt.log, errUnauthenticated())
		return store.ResolvedClaims{}, false
	}
	if res, spent := rt.peekFailures(r, v.failureKey()); spent {
		rt.blocked(w, r, res)
		return store.ResolvedClaims{}, false
	}
	c, err := rt.resolve(w, r, v)
	if err == nil {
		return c, true
	}
	if rampart.ErrorKind(err) != rampart.KindUnauthenticated {
		writeError(w, r, rt.log, err)
		return store.ResolvedClaims{}, false
	}
	if !rt.chargeFailure(w, r, addr, v.failureKey()) {
		return store.ResolvedClaims{}, false
	}
	if p.bearer {
		rt.recordRejected(r, p, "token revoked, expired or unknown")
	} else {
		http.SetCookie(w, auth.ClearCookie())
		rt.recordRejected(r, p, "session expired, revoked or without membership")
	}
	writeError(w, r, rt.log, err)
	return store.ResolvedClaims{}, false
}

// recordRejected audits a credential that was presented and refused (the
// caller only learns "not signed in").
func (rt *Router) recordRejected(r *http.Request, p presented, reason string) {
	if p.bearer {
		rt.recordRejectedToken(r, reason)
	} else {
		rt.recordRejectedSession(r, reason)
	}
}

// recordRejectedSession audits a session cookie that was presented and
// refused (the caller only learns "not signed in").
func (rt *Router) recordRejectedSession(r *http.Request, reason string) {
	ev := ClientInfo(r).Event(audit.Event{ActorType: audit.ActorUser, Action: audit.ActionLoginFailed, TargetType: "session", Reason: reason})
	if err := rt.store.RecordPlatformEvent(r.Context(), ev); err != nil {
		rt.log.ErrorContext(r.Context(), "audit session rejection", "err", err)
	}
}

func (rt *Router) recordRejectedToken(r *http.Request, reason string) {
	ev := ClientInfo(r).Event(audit.Event{ActorType: audit.ActorAPIToken, Action: audit.ActionTokenRejected, Reason: reason})
	if err := rt.store.RecordPlatformEvent(r.Context(), ev); err != nil {
		rt.log.ErrorContext(r.Context(), "audit token rejection", "err", err)
	}
}

// SignedInUser returns the claims of a valid session cookie, if any,
// without failing the request when there is none (for pages that show
// either state). Resolving may renew the session
// (past half its lifetime); the renewed cookie is then sent on w, as
// authenticate does, so the browser's cookie keeps up with the row.
func (rt *Router) SignedInUser(w http.ResponseWriter, r *http.Request) *rampart.Claims {
	ck, err := r.Cookie(auth.SessionCookieName)
	if err != nil {
		return nil
	}
	sc, err := rt.sealer.Open(ck.Value)
	if err != nil {
		return nil
	}
	rc, err := rt.store.ResolveSession(r.Context(), sc.SessionID)
	if err != nil {
		return nil
	}
	if rc.Renewed {
		http.SetCookie(w, rt.sealer.Cookie(auth.SessionCookie{SessionID: sc.SessionID, ExpiresAt: rc.ExpiresAt}))
	}
	return &rc.Claims
}
