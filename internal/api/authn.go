package api

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

// clientInfo is the request's client for sessions and audit events; its
// address is the one clientAddr resolved (trusted proxies considered).
func clientInfo(r *http.Request) store.ClientInfo {
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
	return rampart.Errorf("api.authenticate", rampart.KindUnauthenticated, "not signed in")
}

// authenticate resolves the request's credential — a bearer API token or
// the session cookie — into live claims. A bearer token wins when both
// are present; a malformed one is refused rather than falling back.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (rampart.Claims, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return rampart.Claims{}, errUnauthenticated()
		}
		vt, err := s.tokens.Verify(strings.TrimSpace(raw))
		if err != nil {
			s.recordRejectedToken(r, "token did not verify")
			return rampart.Claims{}, errUnauthenticated()
		}
		rc, err := s.store.ResolveToken(ctx, vt.TokenID, vt.OrganizationID)
		if err != nil {
			if rampart.ErrorKind(err) == rampart.KindUnauthenticated {
				s.recordRejectedToken(r, "token revoked, expired or unknown")
			}
			return rampart.Claims{}, err
		}
		return rc.Claims, nil
	}
	ck, err := r.Cookie(auth.SessionCookieName)
	if err != nil {
		return rampart.Claims{}, errUnauthenticated()
	}
	sc, err := s.sealer.Open(ck.Value)
	if err != nil {
		http.SetCookie(w, auth.ClearCookie())
		s.recordRejectedSession(r, "session cookie did not verify")
		return rampart.Claims{}, errUnauthenticated()
	}
	rc, err := s.store.ResolveSession(ctx, sc.SessionID)
	if err != nil {
		if rampart.ErrorKind(err) == rampart.KindUnauthenticated {
			http.SetCookie(w, auth.ClearCookie())
			s.recordRejectedSession(r, "session expired, revoked or without membership")
		}
		return rampart.Claims{}, err
	}
	if rc.Renewed {
		http.SetCookie(w, s.sealer.Cookie(auth.SessionCookie{SessionID: sc.SessionID, ExpiresAt: rc.ExpiresAt}))
	}
	return rc.Claims, nil
}

// recordRejectedSession audits a session cookie that was presented and
// refused (the caller only learns "not signed in").
func (s *Server) recordRejectedSession(r *http.Request, reason string) {
	ev := clientInfo(r).Event(audit.Event{ActorType: audit.ActorUser, Action: audit.ActionLoginFailed, TargetType: "session", Reason: reason})
	if err := s.store.RecordPlatformEvent(r.Context(), ev); err != nil {
		s.log.ErrorContext(r.Context(), "audit session rejection", "err", err)
	}
}

func (s *Server) recordRejectedToken(r *http.Request, reason string) {
	ev := clientInfo(r).Event(audit.Event{ActorType: audit.ActorAPIToken, Action: audit.ActionTokenRejected, Reason: reason})
	if err := s.store.RecordPlatformEvent(r.Context(), ev); err != nil {
		s.log.ErrorContext(r.Context(), "audit token rejection", "err", err)
	}
}

// signedInUser returns the user of a valid session cookie, if any, without
// failing the request when there is none. Resolving may renew the session
// (past half its lifetime); the renewed cookie is then sent on w, as
// authenticate does, so the browser's cookie keeps up with the row.
func (s *Server) signedInUser(w http.ResponseWriter, r *http.Request) *rampart.Claims {
	ck, err := r.Cookie(auth.SessionCookieName)
	if err != nil {
		return nil
	}
	sc, err := s.sealer.Open(ck.Value)
	if err != nil {
		return nil
	}
	rc, err := s.store.ResolveSession(r.Context(), sc.SessionID)
	if err != nil {
		return nil
	}
	if rc.Renewed {
		http.SetCookie(w, s.sealer.Cookie(auth.SessionCookie{SessionID: sc.SessionID, ExpiresAt: rc.ExpiresAt}))
	}
	return &rc.Claims
}

// isLoopback reports whether the request's peer is on this host.
func isLoopback(r *http.Request) bool {
	if ip, ok := r.Context().Value(clientIPKey{}).(netip.Addr); ok {
		return ip.IsLoopback()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
