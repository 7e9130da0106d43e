package api

import (
	"math"
	"net/http"
	"strconv"
)

// limitTier picks the tier of a public route: the endpoints that take a
// credential or send mail (sign-in link requests, the console's sign-in
// form, the confirmation that redeems a link) are "auth"; health, pages,
// opening a link (which only sets a cookie) and signing out are not limited.
func limitTier(pattern string) string {
	switch pattern {
	case "POST /api/auth/login-link", "POST /auth/login", "POST /auth/confirm":
		return "auth"
	case "GET /api/health", "GET /api/health/ready":
		return "" // probes; readiness answers from a one-second cache
	}
	return "api"
}

// limit applies tier to key and writes the RateLimit headers; on refusal
// it answers 429 problem+json with Retry-After and returns false.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, tier, key string) bool {
	lim, ok := s.tiers[tier]
	if !ok || tier == "" {
		return true
	}
	res, err := s.limiter.Allow(r.Context(), tier+"|"+key, lim)
	if err != nil {
		// Fail closed: no budget decision, no service (but say why).
		s.log.ErrorContext(r.Context(), "rate limiter unavailable", "err", err)
		writeProblem(w, Problem{Type: problemBase + "unavailable", Title: "Service unavailable", Status: http.StatusServiceUnavailable,
			Detail: "rate limiting is unavailable; try again shortly", Instance: r.URL.Path})
		return false
	}
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(res.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(res.ResetAfter.Seconds()))))
	if res.Allowed {
		return true
	}
	if s.metrics != nil {
		s.metrics.RateLimited(tier)
	}
	retry := int(math.Ceil(res.RetryAfter.Seconds()))
	h.Set("Retry-After", strconv.Itoa(retry))
	writeProblem(w, Problem{Type: problemBase + "rate-limited", Title: "Too many requests", Status: http.StatusTooManyRequests,
		Detail: "too many requests; retry in " + strconv.Itoa(retry) + " seconds", Instance: r.URL.Path})
	return false
}

// clientKey is the rate-limit key of an unauthenticated request: the
// client address (after trusted proxies); an IPv6 client is keyed by its
// /64, since one host commonly holds the whole prefix.
func clientKey(r *http.Request) string {
	ci := clientInfo(r)
	switch {
	case !ci.IP.IsValid():
		return "ip:unknown"
	case ci.IP.Is6():
		p, _ := ci.IP.Prefix(64)
		return "ip6:" + p.String()
	}
	return "ip:" + ci.IP.String()
}

// credentialBlocked answers 429 before any credential is looked at when
// the client has spent its auth budget on failed attempts: a right and a
// wrong credential then get the same answer, and nothing is queried or
// audited.
func (s *Server) credentialBlocked(w http.ResponseWriter, r *http.Request) bool {
	lim, ok := s.tiers["auth"]
	if !ok {
		return false
	}
	res, err := s.limiter.Peek(r.Context(), "auth|"+clientKey(r), lim)
	if err != nil || res.Allowed {
		return false // an unavailable limiter is handled where budget is spent
	}
	if s.metrics != nil {
		s.metrics.RateLimited("auth")
	}
	retry := int(math.Ceil(res.RetryAfter.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	w.Header().Set("RateLimit-Limit", strconv.Itoa(lim.N))
	w.Header().Set("RateLimit-Remaining", "0")
	writeProblem(w, Problem{Type: problemBase + "rate-limited", Title: "Too many requests", Status: http.StatusTooManyRequests,
		Detail: "too many requests; retry in " + strconv.Itoa(retry) + " seconds", Instance: r.URL.Path})
	return true
}
