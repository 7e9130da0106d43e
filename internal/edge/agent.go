package edge

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// AgentCall is what an agent handler receives. Only Agent makes one,
// after the role tier and the venue scope have passed (layers 1 and 2);
// the handler's response goes through the output filter (layer 3) like
// every authenticated response. Its unexported field keeps other packages
// from forging one.
type AgentCall struct {
	Claims    rampart.Claims
	Agent     access.AgentType
	VenueCode string
	checked   bool
}

// Checked reports whether the call was made by an agent route, after its
// checks (a zero AgentCall is not).
func (c AgentCall) Checked() bool { return c.checked }

// AgentHandler serves an agent route.
type AgentHandler func(w http.ResponseWriter, r *http.Request, call AgentCall) error

// VenueOf extracts the venue an agent request is about ("" when none).
type VenueOf func(r *http.Request) (string, error)

// Agent is the only way to mount an agent endpoint (with AgentJSON, for
// one with a JSON body): it demands the agent type and the venue
// extractor, so an agent route without the three-layer check cannot be
// written (an AgentHandler cannot be passed to Public or Authed, and an
// AgentCall cannot be built elsewhere). Agent routes are rate-limited
// under the agent tier, per organization and user.
func (rt *Router) Agent(pattern string, t access.AgentType, venue VenueOf, h AgentHandler) {
	rt.agentRoute(pattern, t, venue, nil, func(w http.ResponseWriter, r *http.Request, call AgentCall) error {
		return h(w, r, call)
	})
}

func (rt *Router) agentRoute(pattern string, t access.AgentType, venue VenueOf, body any, h AgentHandler) {
	if !t.Valid() || venue == nil {
		panic("edge: Agent needs a known agent type and a venue extractor: " + pattern) // programming error at start-up
	}
	rt.authedRoute(pattern, KindAgent, body, func(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
		code, err := venue(r)
		if err != nil {
			return err
		}
		if err := access.CheckAgent(c, t, code); err != nil {
			return err
		}
		return h(w, r, AgentCall{Claims: c, Agent: t, VenueCode: code, checked: true})
	})
}
