package observe

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds Rampart's Prometheus collectors on a registry of its own:
// nothing is registered globally, so tests and several servers in one
// process do not collide.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
}

// NewMetrics creates the collectors and their registry, including the Go
// runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ratelimit_rejections_total",
			Help: "Requests refused with 429, by rate-limit tier.",
		}, []string{"tier"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.rateLimited,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where other packages register their collectors (jobs,
// kill-switch state) so they are served by Handler.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Middleware counts and times every request under its route pattern. The
// pattern is read after next has run: http.ServeMux sets r.Pattern on the
// request it receives, which is this one when the mux is next (or reached
// without derived requests); otherwise wrap the mux in RoutePattern, which
// hands the pattern back through the request context. Unrouted requests are
// labelled "unmatched"; unknown methods "OTHER". Raw paths are never labels.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, ri := withRequestInfo(r)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route, method := ri.route(r), methodLabel(r.Method)
		m.requests.WithLabelValues(route, method, strconv.Itoa(rec.code())).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

// RateLimited counts one request refused by the limiter of tier.
func (m *Metrics) RateLimited(tier string) {
	m.rateLimited.WithLabelValues(tier).Inc()
}

// methodLabel bounds the method label: clients can send any token.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	default:
		return "OTHER"
	}
}

// Handler serves the metrics in the Prometheus text format. When token is
// not empty every scrape must send "Authorization: Bearer <token>" or gets
// 401; the comparison is constant-time. With an empty token the handler is
// open, which is only acceptable on a private listen address.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Hashing both sides makes the comparison independent of length.
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
