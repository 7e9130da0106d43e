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
	}
	return ""
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

// clientKey is the rate-limit key of an unauthenticated request: the peer
// address (trusted-proxy handling arrives with the rest of the edge).
func clientKey(r *http.Request) string {
	ci := clientInfo(r)
	if ci.IP.IsValid() {
		return "ip:" + ci.IP.String()
	}
	return "ip:unknown"
}
