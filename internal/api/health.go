package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/health"
	"github.com/rampart-dev/rampart/internal/jobs"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/store"
)

// healthAPI is liveness and readiness.
type healthAPI struct{ *Server }

func (s healthAPI) register(r *edge.Router) {
	r.Public("GET /api/health", edge.Unlimited, s.health)
	r.Public("GET /api/health/ready", edge.Unlimited, s.ready)
}

// health is liveness: cheap, no dependencies.
func (s healthAPI) health(w http.ResponseWriter, r *http.Request) error {
	edge.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	return nil
}

// Readiness builds the readiness checks of a server on st, answering from
// a cache of cacheFor (exported so the health integration test exercises
// the same wiring; the server uses one second).
func Readiness(st *store.Store, log *slog.Logger, cacheFor time.Duration) *health.Checker {
	return readiness(st, log, cacheFor, nil, nil, nil)
}

// readiness builds the per-component readiness checks: the database
// behind a circuit breaker (a dead database is reported at once and its
// recovery noticed by itself), the schema version, the configuration, and
// the components later issues add (reported "not_configured" until then).
func readiness(st *store.Store, log *slog.Logger, cacheFor time.Duration, ai *jobs.Queue, w *killswitch.Watcher, warnings []string) *health.Checker {
	queue, model, watcher := health.NotConfigured("job_queue"), health.NotConfigured("llm"), health.NotConfigured("killswitch_watcher")
	if ai != nil {
		queue = health.Check{Name: "job_queue", Critical: true, Run: ai.Healthy}
		// Not critical: without the model the API serves and AI jobs
		// wait and retry. Probed at most once a minute (a model list, no
		// tokens); each probe has its own 5 s.
		probe := &modelProbe{probe: ai.ProbeModel, every: time.Minute}
		model = health.Check{Name: "llm", Run: probe.run, Timeout: 6 * time.Second}
	}
	configuration := health.OK("configuration")
	if len(warnings) > 0 {
		msg := strings.Join(warnings, "; ")
		configuration = health.Check{Name: "configuration", Run: func(context.Context) error { return health.Warn(msg) }}
	}
	if w != nil {
		// Not critical: the API keeps serving when the state is unknown;
		// AI requests are refused (fail closed) and this reports why.
		watcher = health.Check{Name: "killswitch_watcher", Run: func(context.Context) error {
			listening, age := w.Healthy()
			if w.Check(uuid.Nil) == killswitch.ErrStateUnknown {
				return health.Fail(fmt.Sprintf("kill-switch state unconfirmed for %s: AI work is refused", age.Round(time.Millisecond)), nil)
			}
			if !listening {
				return health.Fail("listener down; state re-read periodically", nil)
			}
			return nil
		}}
	}
	return health.New(health.Options{Logger: log, CacheFor: cacheFor},
		health.WithBreaker("database", func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return health.Fail("cannot reach PostgreSQL", err)
			}
			return nil
		}, health.BreakerSettings{}),
		health.WithBreaker("migrations", st.CheckSchema, health.BreakerSettings{}),
		configuration,
		queue, model, watcher,
	)
}

// ready reports each component; 503 when a critical one fails. The
// checker answers from a one-second cache (see readiness).
func (s healthAPI) ready(w http.ResponseWriter, r *http.Request) error {
	s.checker.Handler().ServeHTTP(w, r)
	return nil
}

// modelProbe caches the model provider's probe: readiness may be asked
// every second, the provider at most once per every.
type modelProbe struct {
	probe func(context.Context) error
	every time.Duration

	mu   sync.Mutex
	at   time.Time
	last error
}

func (m *modelProbe) run(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.at.IsZero() && time.Since(m.at) < m.every {
		return m.last
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := m.probe(pctx)
	var pe *llm.ProviderError
	switch {
	case err == nil:
	case errors.As(err, &pe) && (pe.StatusCode == http.StatusUnauthorized || pe.StatusCode == http.StatusForbidden):
		err = health.Fail("the model provider refused the API key", err)
	case errors.As(err, &pe):
		err = health.Fail(fmt.Sprintf("the model provider answered HTTP %d", pe.StatusCode), err)
	default:
		err = health.Fail("the model provider did not answer", err)
	}
	m.at, m.last = time.Now(), err
	return err
}
