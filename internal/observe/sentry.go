package observe

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
)

// InitSentry starts the Sentry SDK (the process-wide hub) when dsn is set.
// Every event passes through ScrubEvent and is kept with the probability
// SampleRate gives its route; transactions are sampled by the same policy.
// The SDK's own PII collection stays off. An empty dsn disables Sentry and
// returns a no-op flush; an invalid one is an error naming
// RAMPART_SENTRY_DSN. Call flush before the process exits.
func InitSentry(dsn, environment, release string) (flush func(), err error) {
	if dsn == "" {
		return func() {}, nil
	}
	err = sentry.Init(sentry.ClientOptions{
		Dsn:         dsn,
		Environment: environment,
		Release:     release,
		// SendDefaultPII (deprecated) stays false, its zero value: no
		// IP addresses, cookies or user data leave with an event.
		// Errors reach BeforeSend unsampled; beforeSend applies the per-route rate.
		SampleRate:       1.0,
		EnableTracing:    true,
		TracesSampler:    tracesSampler,
		BeforeSend:       beforeSend,
		BeforeBreadcrumb: func(b *sentry.Breadcrumb, _ *sentry.BreadcrumbHint) *sentry.Breadcrumb { return scrubBreadcrumb(b) },
		BeforeSendTransaction: func(e *sentry.Event, _ *sentry.EventHint) *sentry.Event {
			return ScrubEvent(e)
		},
	})
	if err != nil {
		// The SDK's message may quote the DSN, which holds the project key.
		msg := strings.ReplaceAll(err.Error(), dsn, "[dsn]")
		return nil, errors.New("observe: RAMPART_SENTRY_DSN is invalid: " + scrubString(msg))
	}
	return func() { sentry.Flush(2 * time.Second) }, nil
}

// SampleRate is the share of Sentry events and traces kept for a request
// path, route pattern ("POST /api/agents/{id}/run") or transaction name:
// 1.0 for sign-in (/api/auth, /auth), agent routes (/api/agents or any
// "/agent"), sync and cron routes (any "/sync" or "/cron"), where every
// failure matters and traffic is low; 0.2 elsewhere.
func SampleRate(path string) float64 {
	p := path
	// A pattern or transaction name may start with a method and a host:
	// keep only what follows the first "/".
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[i:]
	} else {
		return 0.2
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	switch {
	case under(p, "/api/auth"), under(p, "/auth"), under(p, "/api/agents"):
		return 1.0
	case strings.Contains(p, "/agent"), strings.Contains(p, "/sync"), strings.Contains(p, "/cron"):
		return 1.0
	default:
		return 0.2
	}
}

// under reports whether path is prefix or lies below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// tracesSampler applies SampleRate to the root span's name (the SDK's HTTP
// integration names transactions "METHOD /path"). An upstream sampling
// decision is deliberately not honoured: it arrives in a client-controlled
// header and would let any caller force full tracing.
func tracesSampler(ctx sentry.SamplingContext) float64 {
	if ctx.Span == nil {
		return 0.2
	}
	return SampleRate(ctx.Span.Name)
}

// beforeSend samples an error event by its route, then scrubs it.
func beforeSend(e *sentry.Event, _ *sentry.EventHint) *sentry.Event {
	if e == nil || rand.Float64() >= eventSampleRate(e) {
		return nil
	}
	return ScrubEvent(e)
}

// eventSampleRate is the share of events like e that are kept: every one
// of an agent route or a background job (by the route kind the edge or the
// job runner recorded, not by a path prefix), else SampleRate of its route.
func eventSampleRate(e *sentry.Event) float64 {
	switch e.Tags["route_kind"] {
	case RouteKindAgent, RouteKindJob:
		return 1.0
	}
	return SampleRate(eventRoute(e))
}

// eventRoute is the route an event belongs to: the "route" tag if the
// handler set one, else the transaction name, else the request URL's path.
func eventRoute(e *sentry.Event) string {
	if r := e.Tags["route"]; r != "" {
		return r
	}
	if e.Transaction != "" {
		return e.Transaction
	}
	if e.Request != nil {
		if u, err := url.Parse(e.Request.URL); err == nil {
			return u.Path
		}
	}
	return ""
}

// droppedHeaders never leave the process, whatever SensitiveKey says.
var droppedHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"X-Forwarded-For": true, "X-Real-Ip": true, "Forwarded": true, "True-Client-Ip": true, "Cf-Connecting-Ip": true,
}

// ScrubEvent removes secrets and personal data from a Sentry event, with the
// same rules as the log scrubber: message, exceptions and stack-frame
// variables, threads, breadcrumbs, transaction name, fingerprint, tags,
// contexts, spans and the user are scrubbed; the request loses its cookies,
// body, credential headers, client addresses and sensitive query values;
// the user keeps only its id. It is installed as BeforeSend by InitSentry
// and returns its argument (nil stays nil).
func ScrubEvent(e *sentry.Event) *sentry.Event {
	if e == nil {
		return nil
	}
	e.Message = scrubString(e.Message)
	e.Transaction = scrubString(e.Transaction)
	e.ServerName = scrubString(e.ServerName)
	e.Logger = scrubString(e.Logger)
	for i := range e.Fingerprint {
		e.Fingerprint[i] = scrubString(e.Fingerprint[i])
	}
	for i := range e.Exception {
		x := &e.Exception[i]
		x.Type, x.Value, x.Module = scrubString(x.Type), scrubString(x.Value), scrubString(x.Module)
		scrubStacktrace(x.Stacktrace)
		if x.Mechanism != nil {
			x.Mechanism.Description = scrubString(x.Mechanism.Description)
			x.Mechanism.Data = scrubMap(x.Mechanism.Data)
		}
	}
	for i := range e.Threads {
		e.Threads[i].Name = scrubString(e.Threads[i].Name)
		scrubStacktrace(e.Threads[i].Stacktrace)
	}
	for _, b := range e.Breadcrumbs {
		scrubBreadcrumb(b)
	}
	e.Tags = scrubTags(e.Tags)
	for name, c := range e.Contexts {
		if SensitiveKey(name) {
			e.Contexts[name] = sentry.Context{"value": redacted}
			continue
		}
		e.Contexts[name] = scrubMap(c)
	}
	// Extra-like data the SDK folds into contexts is covered above.
	e.User = sentry.User{ID: scrubString(e.User.ID), Data: scrubTags(e.User.Data)}
	if e.Request != nil {
		scrubRequest(e.Request)
	}
	for _, s := range e.Spans {
		if s == nil {
			continue
		}
		s.Name, s.Description = scrubString(s.Name), scrubString(s.Description)
		s.Tags = scrubTags(s.Tags)
		s.Data = scrubMap(s.Data)
	}
	return e
}

func scrubStacktrace(st *sentry.Stacktrace) {
	if st == nil {
		return
	}
	for i := range st.Frames {
		f := &st.Frames[i]
		f.Vars = scrubMap(f.Vars)
		f.ContextLine = scrubString(f.ContextLine)
		for j := range f.PreContext {
			f.PreContext[j] = scrubString(f.PreContext[j])
		}
		for j := range f.PostContext {
			f.PostContext[j] = scrubString(f.PostContext[j])
		}
	}
}

func scrubBreadcrumb(b *sentry.Breadcrumb) *sentry.Breadcrumb {
	if b == nil {
		return nil
	}
	b.Message = scrubString(b.Message)
	b.Data = scrubMap(b.Data)
	if u, ok := b.Data["url"].(string); ok {
		b.Data["url"] = scrubURL(u)
	}
	return b
}

func scrubTags(m map[string]string) map[string]string { return scrubEntries(m, redacted, scrubString) }

func scrubRequest(r *sentry.Request) {
	r.Cookies = ""
	r.Data = ""
	r.URL = scrubURL(r.URL)
	r.QueryString = scrubQuery(r.QueryString)
	for k, v := range r.Headers {
		ck := http.CanonicalHeaderKey(k)
		switch {
		case droppedHeaders[ck]:
			delete(r.Headers, k)
		case SensitiveKey(k):
			r.Headers[k] = redacted
		case ck == "Referer" || ck == "Origin":
			r.Headers[k] = scrubURL(v)
		default:
			r.Headers[k] = scrubString(v)
		}
	}
	for k, v := range r.Env {
		if k == "REMOTE_ADDR" || k == "REMOTE_PORT" || SensitiveKey(k) {
			delete(r.Env, k)
			continue
		}
		r.Env[k] = scrubString(v)
	}
}

// CaptureError reports an internal error to Sentry (a no-op when Sentry is
// not initialised), tagged with the route so sampling and grouping work.
// The event passes ScrubEvent before it leaves the process.
func CaptureError(ctx context.Context, route string, err error) {
	kind := routeKindFrom(ctx)
	sentry.WithScope(func(sc *sentry.Scope) {
		sc.SetTag("route", route)
		if kind != "" {
			sc.SetTag("route_kind", kind)
		}
		sentry.CaptureException(err)
	})
}

// CaptureJobError reports a failed background job (kind RouteKindJob:
// always kept, whatever its name says); job names the job kind.
func CaptureJobError(job string, err error) {
	sentry.WithScope(func(sc *sentry.Scope) {
		sc.SetTag("route", "job "+job)
		sc.SetTag("route_kind", RouteKindJob)
		sentry.CaptureException(err)
	})
}
