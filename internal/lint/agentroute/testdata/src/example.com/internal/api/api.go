// Package api registers routes.
package api

import (
	"net/http"

	"example.com/internal/edge"
)

type server struct{}

func (s server) draft(w http.ResponseWriter, r *http.Request, call edge.AgentCall) error {
	return s.helper(call) // passing the checked call on is fine
}

func (s server) helper(call edge.AgentCall) error { return nil }

func (s server) list(w http.ResponseWriter, r *http.Request, c edge.Claims) error { return nil }

func (s server) register(rt *edge.Router) {
	rt.Agent("POST /api/proposals/{id}/bom/draft", "bom_drafter", s.draft)
	edge.AgentJSON(rt, "POST /api/proposals/{id}/crew/match", "crew_matcher", s.draft)
	rt.Authed("GET /api/things", s.list)
	rt.Authed("POST /api/proposals/{id}/sneaky", func(w http.ResponseWriter, r *http.Request, c edge.Claims) error {
		return s.draft(w, r, edge.AgentCall{Claims: c}) // want `agent-route: example.com/internal/api builds an edge.AgentCall by hand`
	})
	h := s.draft // want `agent-route: the agent handler draft is used outside Router.Agent`
	_ = h
	rt.Agent("POST /api/x", "bom_drafter", func(w http.ResponseWriter, r *http.Request, call edge.AgentCall) error { return nil })
	var later edge.AgentHandler = func(w http.ResponseWriter, r *http.Request, call edge.AgentCall) error { return nil } // want `agent-route: an agent handler \(a func taking edge.AgentCall\) not passed to Router.Agent`
	_ = later
}

func ownMux() http.Handler {
	mux := http.NewServeMux()                                                 // want `agent-route: example.com/internal/api routes requests itself \(net/http NewServeMux\)`
	mux.HandleFunc("GET /debug", func(http.ResponseWriter, *http.Request) {}) // want `routes requests itself \(net/http HandleFunc\)`
	return mux
}

// metrics is a deliberate second listener.
func metrics(h http.Handler) http.Handler {
	//rampart:router-bypass the separate metrics listener serves /metrics alone
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h) //rampart:router-bypass same listener
	//rampart:router-bypass
	http.Handle("/x", h) // want `agent-route: //rampart:router-bypass without a reason`
	return mux
}
