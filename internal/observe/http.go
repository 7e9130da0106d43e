package observe

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Route patterns and the principal are known only deep inside the chain:
// http.ServeMux sets r.Pattern on the *http.Request it receives, and
// authentication adds claims to a derived request. A middleware that runs
// outside those points sees neither, because every r.WithContext in
// between makes a new request value. So the outermost observe middleware
// puts a mutable requestInfo in the context; it survives WithContext, and
// the inner layers fill it in:
//
//   - after the inner handler returns, the middleware reads r.Pattern from
//     its own request (enough when the ServeMux receives that same request);
//   - otherwise RoutePattern, wrapped directly around the ServeMux, copies
//     the pattern into the shared requestInfo after the mux has routed;
//   - SetPrincipal lets the authentication layer record org and user ids.
type requestInfo struct {
	pattern string
	orgID   string
	userID  string
	kind    string // the route's kind (RouteKindAgent, …), for error sampling
}

// Route kinds: how a route was mounted. Errors of agent routes and AI jobs
// are always reported (every failure matters, traffic is low); others are
// sampled by route (SampleRate).
const (
	RouteKindPublic        = "public"
	RouteKindAuthenticated = "authenticated"
	RouteKindAgent         = "agent"
	RouteKindJob           = "job"
)

// Track installs the request's observation record early (the edge calls
// it first thing, so that a panic recovered outside the inner middleware
// still knows the route's kind); later middleware reuses it.
func Track(r *http.Request) *http.Request {
	r, _ = withRequestInfo(r)
	return r
}

// SetRouteKind records how the request's route was mounted (the route
// kinds above); without Track or an observe middleware it does nothing.
func SetRouteKind(ctx context.Context, kind string) {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		ri.kind = kind
	}
}

func routeKindFrom(ctx context.Context) string {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return ri.kind
	}
	return ""
}

type requestInfoKey struct{}

// withRequestInfo returns r with a requestInfo in its context, reusing one
// an outer observe middleware already installed.
func withRequestInfo(r *http.Request) (*http.Request, *requestInfo) {
	if ri, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return r, ri
	}
	ri := &requestInfo{}
	return r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri)), ri
}

// RoutePattern wraps an http.ServeMux (or any handler that sets r.Pattern)
// so the matched pattern reaches RequestLog and Metrics.Middleware even when
// layers between them and the mux derive new requests. Wrap the mux itself:
// observe.RoutePattern(mux).
func RoutePattern(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if ri, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok && r.Pattern != "" {
			ri.pattern = r.Pattern
		}
	})
}

// SetPrincipal records the signed-in organization and user of the request
// for RequestLog. Call it once authentication has succeeded; without an
// observe middleware in the chain it does nothing.
func SetPrincipal(ctx context.Context, orgID, userID string) {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		ri.orgID, ri.userID = orgID, userID
	}
}

// route is the label for the request: the ServeMux pattern, or "unmatched"
// for 404s and 405s so raw paths (which may carry tokens, and are unbounded)
// never become labels or log fields.
func (ri *requestInfo) route(r *http.Request) string {
	switch {
	case r.Pattern != "":
		return r.Pattern
	case ri.pattern != "":
		return ri.pattern
	default:
		return "unmatched"
	}
}

// statusRecorder remembers the status and the body size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush, deadlines and hijacking.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) code() int {
	if s.status == 0 {
		return http.StatusOK // nothing written: net/http sends 200
	}
	return s.status
}

// RequestLog logs one line per request after it has been served: method,
// route pattern, status, duration, response bytes, request id, org id and
// user id. It never logs the path, query string, headers, cookies or
// bodies. info supplies ids known from the request's context (info may be
// nil); org and user ids recorded with SetPrincipal take precedence, since
// claims usually live only on a request derived deeper in the chain.
// Responses with status 500 or above are logged at error level.
func RequestLog(log *slog.Logger, next http.Handler, info func(*http.Request) (requestID, orgID, userID string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, ri := withRequestInfo(r)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)

		var rid, org, user string
		if info != nil {
			rid, org, user = info(r)
		}
		if ri.orgID != "" {
			org = ri.orgID
		}
		if ri.userID != "" {
			user = ri.userID
		}
		level := slog.LevelInfo
		if rec.code() >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("route", ri.route(r)),
			slog.Int("status", rec.code()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int64("bytes", rec.bytes),
			slog.String("request_id", rid),
			slog.String("org_id", org),
			slog.String("user_id", user),
		)
	})
}
