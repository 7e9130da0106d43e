package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// Database is what the API needs of the store for health.
type Database interface {
	Ping(ctx context.Context) error
	CheckSchema(ctx context.Context) error
}

// Options configure the API.
type Options struct {
	DB      Database
	Logger  *slog.Logger
	Version string
}

// Server is the HTTP API.
type Server struct {
	db      Database
	log     *slog.Logger
	version string
	mux     *http.ServeMux
}

// New builds the API and its routes. A route not registered here is not
// reachable: unknown paths get 404 and wrong methods 405, as problem+json.
func New(opts Options) *Server {
	s := &Server{db: opts.DB, log: opts.Logger, version: opts.Version, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.mux.HandleFunc("GET /api/health", s.health)
	s.mux.HandleFunc("GET /api/health/ready", s.ready)
	return s
}

// ServeHTTP routes the request, turning the mux's plain-text 404 and 405
// into problem+json.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// Probe whether another method would match to tell 405 from 404.
		rec := &statusOnly{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeProblem(w, Problem{Type: problemBase + "method-not-allowed", Title: "Method not allowed",
				Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed on " + r.URL.Path, Instance: r.URL.Path})
			return
		}
		writeProblem(w, Problem{Type: problemBase + "not-found", Title: "Not found", Status: http.StatusNotFound,
			Detail: "no such route", Instance: r.URL.Path})
		return
	}
	h.ServeHTTP(w, r)
}

type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }

// health is liveness: cheap, no dependencies.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
}

type componentStatus struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// ready checks the database and its schema version; 503 when one fails.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	comps := map[string]componentStatus{}
	ok := true
	check := func(name string, err error) {
		if err != nil {
			ok = false
			comps[name] = componentStatus{Status: "fail", Detail: rampart.ErrorMessage(err)}
			return
		}
		comps[name] = componentStatus{Status: "ok"}
	}
	check("database", s.db.Ping(ctx))
	if comps["database"].Status == "ok" {
		check("migrations", s.db.CheckSchema(ctx))
	} else {
		comps["migrations"] = componentStatus{Status: "unknown"}
	}
	status, code := "ok", http.StatusOK
	if !ok {
		status, code = "degraded", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "components": comps})
}
