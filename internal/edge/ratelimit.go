package edge

import (
	"math"

	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/ratelimit"
)

// Rate-limit budgets. Each is a tier's limit (at most N in any period)
// applied to one key. The auth tier's budgets are kept apart, so that what
// one client does wrong cannot spend the budget another client's valid
// credential needs:
//
//	auth|ip:A          link requests (sign-in, sign-up) and console sign-in forms from address A
//	auth|link:ip:A     link confirmations (magic links and invites) from A
//	auth|fail:ip:A     failed session or token authentications from A
//	auth|fail:sess:ID  failures of one validly signed session cookie, from any address
//	auth|fail:tok:ID   failures of one validly signed API token, from any address
//	auth|csrf:ip:A     audited cross-origin refusals from A (the refusal itself is never limited)
//	api|sess:ID        public routes (pages) asked with a validly signed session cookie
//	api|ip:A           other public routes from A
//	T|user:ORG:USER    authenticated routes of tier T (api, agent), per organization and user
//
// A request to an authenticated route that carries no credential is
// answered 401 and spends nothing: there is nothing to guess, and nothing
// is queried or audited. A valid session or token is never refused by an
// address's budget; only its own tier's budget per user applies.

// The budget of a public route is given where it is registered (Budget,
// routes.go): the endpoints that send mail or redeem a link draw on the
// auth tier, the health probes are not limited, and the rest (pages,
// opening a link, signing out) draw on the api tier.

// limitedPublic wraps the handler of a public route in its rate limit.
func (rt *Router) limitedPublic(b Budget, h PublicHandler) http.HandlerFunc {
	tier := b.tier()
	return func(w http.ResponseWriter, r *http.Request) {
		// No organization is known yet: a refusal here is counted by the
		// process metric only, never recorded per organization.
		if !rt.limit(w, r, tier, rt.publicKey(r, b), uuid.Nil) {
			return
		}
		if err := h(w, r); err != nil {
			writeError(w, r, rt.log, err)
		}
	}
}

// publicKey is the budget a public request draws on. Confirmations have
// their own budget per address, apart from link requests, so that an
// office signing in (one request and one confirmation per person) is not
// refused at the confirmation. A page asked with a validly signed session
// cookie is counted per session, unless the browser says another site
// caused the request (Sec-Fetch-Site: cross-site; a SameSite=Lax cookie
// rides on top-level navigations): those spend the address's budget, not
// the signed-in user's. Verifying the cookie's MAC touches no database.
func (rt *Router) publicKey(r *http.Request, b Budget) string {
	if b == LinkConfirm {
		return "link:" + clientKey(r)
	}
	if b == PerVisitor && r.Header.Get("Sec-Fetch-Site") != "cross-site" {
		if ck, err := r.Cookie(auth.SessionCookieName); err == nil {
			if sc, err := rt.sealer.Open(ck.Value); err == nil {
				return "sess:" + sc.SessionID.String()
			}
		}
	}
	return clientKey(r)
}

// limit applies tier to key and writes the RateLimit headers; on refusal
// it answers 429 problem+json with Retry-After and returns false. org is
// the organization the request acts in (uuid.Nil before authentication):
// a refusal with one is also given to the refusal recorder, which counts
// it per organization, day and tier in memory (internal/refusal).
func (rt *Router) limit(w http.ResponseWriter, r *http.Request, tier, key string, org uuid.UUID) bool {
	lim, ok := rt.tiers[tier]
	if !ok || tier == "" {
		return true
	}
	res, err := rt.limiter.Allow(r.Context(), tier+"|"+key, lim)
	if err != nil {
		rt.limiterUnavailable(w, r, err)
		return false
	}
	setRateLimitHeaders(w, res)
	if res.Allowed {
		return true
	}
	if org != uuid.Nil && rt.refusals != nil {
		rt.refusals.Refused(org, tier)
	}
	rt.tooMany(w, r, tier, res)
	return false
}

// limiterUnavailable fails closed: no budget decision, no service (but say why).
func (rt *Router) limiterUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	rt.log.ErrorContext(r.Context(), "rate limiter unavailable", "err", err)
	writeProblem(w, Problem{Type: problemBase + "unavailable", Title: "Service unavailable", Status: http.StatusServiceUnavailable,
		Detail: "rate limiting is unavailable; try again shortly", Instance: r.URL.Path})
}

func setRateLimitHeaders(w http.ResponseWriter, res ratelimit.Result) {
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(res.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(res.ResetAfter.Seconds()))))
}

// tooMany is every 429 of the limiter: problem+json with Retry-After.
func (rt *Router) tooMany(w http.ResponseWriter, r *http.Request, tier string, res ratelimit.Result) {
	if rt.metrics != nil {
		rt.metrics.RateLimited(tier)
	}
	retry := max(int(math.Ceil(res.RetryAfter.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	writeProblem(w, Problem{Type: problemBase + "rate-limited", Title: "Too many requests", Status: http.StatusTooManyRequests,
		Detail: "too many requests; retry in " + strconv.Itoa(retry) + " seconds", Instance: r.URL.Path})
}

// clientKey is the rate-limit key of an unauthenticated request: the
// client address (after trusted proxies); an IPv6 client is keyed by its
// /64, since one host commonly holds the whole prefix.
func clientKey(r *http.Request) string {
	ci := ClientInfo(r)
	switch {
	case !ci.IP.IsValid():
		return "ip:unknown"
	case ci.IP.Is6():
		p, _ := ci.IP.Prefix(64)
		return "ip6:" + p.String()
	}
	return "ip:" + ci.IP.String()
}

// peekFailures reports, spending nothing, whether the auth budget of key
// is spent. An unavailable limiter counts as not spent here: the request
// fails closed where a failure would be charged.
func (rt *Router) peekFailures(r *http.Request, key string) (ratelimit.Result, bool) {
	lim, ok := rt.tiers["auth"]
	if !ok {
		return ratelimit.Result{}, false
	}
	res, err := rt.limiter.Peek(r.Context(), "auth|"+key, lim)
	if err != nil {
		return ratelimit.Result{}, false
	}
	return res, !res.Allowed
}

// chargeFailure spends one failure of each budget (a refused request
// spends nothing). It answers (and returns false) when a budget refuses
// it — 429 — or the limiter is unavailable — 503; the caller then audits
// nothing. The RateLimit headers of a failure that is charged are those of
// its first budget (the address's).
func (rt *Router) chargeFailure(w http.ResponseWriter, r *http.Request, keys ...string) bool {
	lim, ok := rt.tiers["auth"]
	if !ok {
		return true
	}
	var refused *ratelimit.Result
	for i, key := range keys {
		res, err := rt.limiter.Allow(r.Context(), "auth|"+key, lim)
		if err != nil {
			rt.limiterUnavailable(w, r, err)
			return false
		}
		if i == 0 {
			setRateLimitHeaders(w, res)
		}
		if !res.Allowed && (refused == nil || res.RetryAfter > refused.RetryAfter) {
			refused = &res
		}
	}
	if refused != nil {
		rt.blocked(w, r, *refused)
		return false
	}
	return true
}

// blocked is the answer to every credential that is not valid, once a
// budget it draws on is spent: the same 429 whatever was sent and however
// far the check got, with nothing audited and no cookie cleared.
func (rt *Router) blocked(w http.ResponseWriter, r *http.Request, res ratelimit.Result) {
	w.Header().Set("RateLimit-Limit", strconv.Itoa(res.Limit))
	w.Header().Set("RateLimit-Remaining", "0")
	w.Header().Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(res.ResetAfter.Seconds()))))
	rt.tooMany(w, r, "auth", res)
}

// spend spends one request of key's auth budget without answering, and
// reports whether it fitted: for counting a failure that is refused
// anyway, and for bounding an audit trail.
func (rt *Router) spend(r *http.Request, key string) bool {
	lim, ok := rt.tiers["auth"]
	if !ok {
		return true
	}
	res, err := rt.limiter.Allow(r.Context(), "auth|"+key, lim)
	if err != nil {
		rt.log.ErrorContext(r.Context(), "rate limiter unavailable", "err", err)
		return false
	}
	return res.Allowed
}

// warnUntrustedForwarding logs once that requests carry X-Forwarded-For
// while no proxy is trusted: every client behind that proxy then has the
// proxy's address, so they share one budget per address (sign-in, failed
// authentications, anonymous pages) and one address in the audit log.
func (rt *Router) warnUntrustedForwarding(r *http.Request) {
	if len(rt.trusted) != 0 || r.Header.Get("X-Forwarded-For") == "" {
		return
	}
	rt.forwardWarning.Do(func() {
		rt.log.WarnContext(r.Context(), "requests carry X-Forwarded-For but no proxy is trusted: every client behind the proxy "+
			"shares its address for rate limits and audit events; set RAMPART_TRUSTED_PROXIES to the proxy's address",
			"peer", peerAddr(r).String())
	})
}
