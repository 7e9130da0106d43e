package api

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Short names for the edge's helpers, so handlers read the same in every
// resource file.

// AgentCall is what an agent handler receives (edge.Agent makes it).
type AgentCall = edge.AgentCall

// respond encodes v for the caller's role (edge.Respond: the output filter).
func respond(w http.ResponseWriter, c rampart.Claims, status int, v any) error {
	return edge.Respond(w, c, status, v)
}

// writeJSON answers v as JSON without the output filter (public answers).
func writeJSON(w http.ResponseWriter, status int, v any) { edge.WriteJSON(w, status, v) }

// clientInfo is the request's client for sessions and audit events.
func clientInfo(r *http.Request) store.ClientInfo { return edge.ClientInfo(r) }

// pathID parses a uuid path value; a malformed one is simply not found.
func pathID(r *http.Request, name string) (uuid.UUID, error) { return edge.PathID(r, name) }

// fieldError is a 400 naming the field that fails.
func fieldError(field, format string, args ...any) error {
	return edge.FieldError(field, format, args...)
}

// noStore forbids every cache to keep the answer.
func noStore(w http.ResponseWriter) { edge.NoStore(w) }
