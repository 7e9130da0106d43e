// Package agentroute is the agent-route analyzer: every agent handler is
// registered through the agent-access registration — a function or method
// of the router package that takes an agent handler ((*edge.Router).Agent,
// edge.AgentJSON, (*edge.Router).AgentPage) — which runs the role tier,
// the venue scope and the output filter; nothing bypasses the router.
// Outside the router package (internal/edge) it reports:
//   - a function value that takes an edge.AgentCall (an agent handler)
//     used anywhere but as the handler argument of such a registration
//     — wrapped in an Authed or Public handler, stored, or passed
//     elsewhere;
//   - an edge.AgentCall built by hand (a forged call that skipped the
//     checks);
//   - a request multiplexer of its own: http.NewServeMux, http.Handle,
//     http.HandleFunc, or a ServeMux's Handle or HandleFunc, in non-test
//     code.
//
// A deliberate second listener (the separate /metrics port) carries a
// //rampart:router-bypass <why> comment on the line or the line above;
// one without a reason is reported.
package agentroute
