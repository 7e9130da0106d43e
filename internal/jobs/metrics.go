package jobs

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the queue's Prometheus collectors: outcomes, running jobs,
// tokens and kill-switch stops. Labels are closed sets, never ids.
type metrics struct {
	outcomes *prometheus.CounterVec
	running  prometheus.Gauge
	tokens   *prometheus.CounterVec
	stops    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_ai_job_attempts_total",
			Help: "AI job attempts by outcome (succeeded, retrying, failed, cancelled, refused, needs_review, snoozed).",
		}, []string{"outcome"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_ai_jobs_running",
			Help: "AI jobs running in this process.",
		}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_ai_tokens_total",
			Help: "Model tokens used by finished AI jobs, by direction (input, output).",
		}, []string{"direction"}),
		stops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_killswitch_stops_total",
			Help: "AI jobs stopped by a kill switch, by scope (global, organization, job).",
		}, []string{"scope"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.outcomes, m.running, m.tokens, m.stops} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// The recording methods are nil-safe: a queue built without metrics records nothing.

func (m *metrics) outcome(o string) {
	if m != nil {
		m.outcomes.WithLabelValues(o).Inc()
	}
}

func (m *metrics) started() func() {
	if m == nil {
		return func() {}
	}
	m.running.Inc()
	return m.running.Dec
}

func (m *metrics) used(input, output int) {
	if m != nil {
		m.tokens.WithLabelValues("input").Add(float64(input))
		m.tokens.WithLabelValues("output").Add(float64(output))
	}
}

func (m *metrics) stopped(scope string) {
	if m != nil {
		m.stops.WithLabelValues(scope).Inc()
		m.outcomes.WithLabelValues("cancelled").Inc()
	}
}
