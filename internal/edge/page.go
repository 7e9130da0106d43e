package edge

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// PageFailure renders a refused or failed console page as HTML: p is the
// problem the API would have answered (status, title, the safe detail),
// already logged like any error. It writes the whole answer.
type PageFailure func(w http.ResponseWriter, r *http.Request, p Problem)

// Page mounts an authenticated console page (tier api, per organization
// and user, like Authed): the same chain as an API route — the
// cross-site refusal, authentication with its failure budgets and audit,
// the rate limits, the error kinds — but every refusal and every error is
// answered by fail as a page instead of problem+json, so a browser never
// sees JSON or a stack trace. A page is an authenticated route: a POST
// page is a write route like any other (every one writes its audit event).
func (rt *Router) Page(pattern string, fail PageFailure, h AuthedHandler) {
	rt.pageRoute(pattern, KindAuthenticated, fail, h)
}

// PageUpload is Page for a form that uploads one file (the part named
// UploadField), read within the upload cap under the upload tier, as
// Upload.
func (rt *Router) PageUpload(pattern string, fail PageFailure, h UploadHandler) {
	rt.pageRoute(pattern, KindUpload, fail, func(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
		f, err := rt.readUpload(w, r)
		if err != nil {
			return err
		}
		return h(w, r, c, f)
	})
	rt.spec.uploadBody(pattern, rt.maxUpload)
}

func (rt *Router) pageRoute(pattern string, k Kind, fail PageFailure, h AuthedHandler) {
	if fail == nil {
		panic("edge: Page needs a failure renderer: " + pattern) // programming error at start-up
	}
	rt.routes = append(rt.routes, Route{pattern, k})
	rt.spec.describe(pattern, true, nil)
	if f, ok := k.Feature(); ok {
		rt.spec.gated(pattern, f)
	}
	inner := rt.authedHandler(k, h)
	rt.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		pw := &pageWriter{ResponseWriter: w}
		inner(pw, r)
		if pw.problem {
			var p Problem
			if err := json.Unmarshal(pw.buf.Bytes(), &p); err != nil || p.Status == 0 {
				p = Problem{Type: problemBase + "internal", Title: "Internal error", Status: pw.status, Detail: "An internal error occurred."}
			}
			w.Header().Del("Content-Length")
			fail(w, r, p)
		}
	})
}

// pageWriter holds back a problem+json answer (written by any step of
// the chain) so that the page's failure renderer answers it instead;
// every other answer passes through.
type pageWriter struct {
	http.ResponseWriter
	problem bool
	status  int
	buf     bytes.Buffer
}

func (p *pageWriter) WriteHeader(code int) {
	if p.Header().Get("Content-Type") == "application/problem+json" {
		p.problem, p.status = true, code
		return
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *pageWriter) Write(b []byte) (int, error) {
	if p.problem {
		return p.buf.Write(b)
	}
	return p.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (p *pageWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// AgentPage mounts a console form that runs an agent: the agent route's
// chain (the agent rate-limit tier, the role tier and venue scope of
// access.CheckAgent for the venue venue extracts) with Page's failure
// pages. It is the console's counterpart of Agent/AgentJSON, so a page
// cannot run an agent the JSON API would refuse.
func (rt *Router) AgentPage(pattern string, t access.AgentType, venue VenueOf, fail PageFailure, h AgentHandler) {
	if !t.Valid() || venue == nil {
		panic("edge: AgentPage needs a known agent type and a venue extractor: " + pattern) // programming error at start-up
	}
	rt.pageRoute(pattern, KindAgent, fail, func(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
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

// PageChat is Page under the chat rate-limit tier (KindChat), for the
// console's question form: a question costs what the API's does.
func (rt *Router) PageChat(pattern string, fail PageFailure, h AuthedHandler) {
	rt.pageRoute(pattern, KindChat, fail, h)
}
