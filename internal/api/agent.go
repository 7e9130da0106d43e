package api

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// AgentCall is what an agent handler receives. Only agentRoute makes one,
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

// agentHandler serves an agent route.
type agentHandler func(w http.ResponseWriter, r *http.Request, call AgentCall) error

// venueOf extracts the venue an agent request is about ("" when none).
type venueOf func(r *http.Request) (string, error)

// agentRoute is the only way to mount an agent endpoint: it demands the
// agent type and the venue extractor, so an agent route without the
// three-layer check cannot be written (an agentHandler cannot be passed to
// public or authed, and an AgentCall cannot be built elsewhere).
func (s *Server) agentRoute(pattern string, t access.AgentType, venue venueOf, h agentHandler) {
	if !t.Valid() || venue == nil {
		panic("api: agentRoute needs a known agent type and a venue extractor: " + pattern) // programming error at start-up
	}
	s.authedTier(pattern, "agent", func(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
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
