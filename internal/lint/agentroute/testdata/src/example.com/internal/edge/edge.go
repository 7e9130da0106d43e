// Package edge stands in for the router.
package edge

import "net/http"

// Claims is who calls.
type Claims struct{ User string }

// AgentCall is made only by Agent.
type AgentCall struct {
	Claims  Claims
	checked bool
}

// AgentHandler serves an agent route.
type AgentHandler func(w http.ResponseWriter, r *http.Request, call AgentCall) error

// AuthedHandler serves a signed-in route.
type AuthedHandler func(w http.ResponseWriter, r *http.Request, c Claims) error

// Router is the router.
type Router struct{ mux *http.ServeMux }

// Agent mounts an agent route behind its checks.
func (rt *Router) Agent(pattern, agentType string, h AgentHandler) {
	rt.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { _ = h(w, r, AgentCall{checked: true}) })
}

// AgentJSON mounts an agent route with a JSON body.
func AgentJSON(rt *Router, pattern, agentType string, h AgentHandler) {
	rt.Agent(pattern, agentType, h)
}

// Authed mounts a signed-in route.
func (rt *Router) Authed(pattern string, h AuthedHandler) {}
