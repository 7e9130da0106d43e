package edge

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// The API's request types are the single source of their schemas: huma
// generates a JSON Schema from each (struct tags give the constraints),
// every write path validates its body against that schema, and the same
// schemas make up the OpenAPI 3.1 document served at /openapi.json.

type spec struct {
	mu       sync.Mutex
	registry huma.Registry
	doc      *huma.OpenAPI
	schemas  map[reflect.Type]*huma.Schema
	json     []byte
}

func newSpec(version string) *spec {
	reg := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	return &spec{
		registry: reg,
		schemas:  map[reflect.Type]*huma.Schema{},
		doc: &huma.OpenAPI{
			OpenAPI: "3.1.0",
			Info: &huma.Info{Title: "Rampart API", Version: version,
				Description: "Multi-tenant AI proposal workspace. Errors are RFC 9457 problem+json."},
			Components: &huma.Components{Schemas: reg},
		},
	}
}

// schemaFor returns the (cached) schema of a request type.
func (sp *spec) schemaFor(t reflect.Type) *huma.Schema {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if s, ok := sp.schemas[t]; ok {
		return s
	}
	s := sp.registry.Schema(t, false, "")
	sp.schemas[t] = s
	return s
}

var pathParamRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// describe adds one route to the document; req is the request body type
// (nil for none).
func (sp *spec) describe(pattern string, authed bool, req any) {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimSuffix(path, "{$}")
	if path == "" {
		path = "/"
	}
	op := &huma.Operation{Method: method, Path: path, OperationID: strings.ToLower(method) + strings.NewReplacer("/", "-", "{", "", "}", "", ".", "-").Replace(path),
		Summary: method + " " + path,
		Responses: map[string]*huma.Response{
			"default": {Description: "RFC 9457 problem+json", Content: map[string]*huma.MediaType{"application/problem+json": {}}},
		}}
	if authed {
		op.Security = []map[string][]string{{"session": {}}, {"bearer": {}}}
	}
	for _, m := range pathParamRE.FindAllStringSubmatch(path, -1) {
		// Ids are uuids; other path values (an integration provider's
		// name, say) are plain strings.
		ps := &huma.Schema{Type: "string", Format: "uuid"}
		if m[1] != "id" && !strings.HasSuffix(m[1], "_id") {
			ps = &huma.Schema{Type: "string"}
		}
		op.Parameters = append(op.Parameters, &huma.Param{Name: m[1], In: "path", Required: true, Schema: ps})
	}
	if req != nil {
		s := sp.schemaFor(reflect.TypeOf(req))
		op.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: s}}}
	}
	sp.mu.Lock()
	sp.doc.AddOperation(op)
	sp.json = nil
	sp.mu.Unlock()
}

// gated documents the feature gate of a route of a gated kind (features.go):
// a 403 problem of type feature-disabled naming the flag.
func (sp *spec) gated(pattern string, f rampart.Feature) {
	method, path, _ := strings.Cut(pattern, " ")
	sp.mu.Lock()
	defer sp.mu.Unlock()
	item := sp.doc.Paths[path]
	if item == nil {
		return
	}
	op := map[string]*huma.Operation{http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
		http.MethodPatch: item.Patch, http.MethodDelete: item.Delete}[method]
	if op == nil {
		return
	}
	ex := Problem{Type: problemBase + "feature-disabled", Title: "Feature disabled", Status: http.StatusForbidden,
		Detail:   "the " + string(f) + " feature is turned off for this organization by a platform operator: contract under review",
		Instance: path, Code: "feature_disabled", Feature: string(f)}
	op.Responses["403"] = &huma.Response{
		Description: "Forbidden: the role may not (problem type forbidden), or a platform operator turned off the organization's " +
			string(f) + " feature (problem type feature-disabled, code feature_disabled, feature naming the flag; nothing is done)",
		Content: map[string]*huma.MediaType{"application/problem+json": {Example: ex}}}
	sp.json = nil
}

// serve answers /openapi.json.
func (sp *spec) serve(w http.ResponseWriter, r *http.Request) error {
	sp.mu.Lock()
	if sp.json == nil {
		b, err := json.Marshal(sp.doc)
		if err != nil {
			sp.mu.Unlock()
			return rampart.Wrap("edge.openapi", rampart.KindInternal, err)
		}
		sp.json = b
	}
	b := sp.json
	sp.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.oai.openapi+json;version=3.1")
	_, _ = w.Write(b)
	return nil
}

// validate checks a decoded JSON body (as generic values) against the
// schema of v's type and returns a 400 naming every failing field.
func (sp *spec) validate(v any, raw any) error {
	s := sp.schemaFor(reflect.TypeOf(v).Elem())
	pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	res := &huma.ValidateResult{}
	huma.Validate(sp.registry, s, pb, huma.ModeWriteToServer, raw, res)
	if len(res.Errors) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(res.Errors))
	for _, e := range res.Errors {
		if d, ok := e.(*huma.ErrorDetail); ok {
			loc := strings.TrimPrefix(d.Location, ".")
			if loc == "" {
				loc = "body"
			}
			msgs = append(msgs, loc+": "+d.Message)
			continue
		}
		msgs = append(msgs, e.Error())
	}
	return rampart.Errorf("edge.validate", rampart.KindInvalid, "%s", strings.Join(msgs, "; "))
}

// Doc is what a route's entry in /openapi.json says beyond its request
// schema: a summary, a description, and the success answer with an
// example (its schema is generated from the example's type).
type Doc struct {
	Summary, Description string
	// Status is the success status (200 when 0); Example its body (nil
	// for none, as for 204).
	Status  int
	Example any
}

// Document adds d to the route mounted at pattern; it panics (at start-up)
// for a pattern no route has.
func (rt *Router) Document(pattern string, d Doc) { rt.spec.document(pattern, d) }

func (sp *spec) document(pattern string, d Doc) {
	method, path, _ := strings.Cut(pattern, " ")
	sp.mu.Lock()
	defer sp.mu.Unlock()
	item := sp.doc.Paths[path]
	var op *huma.Operation
	if item != nil {
		op = map[string]*huma.Operation{http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
			http.MethodPatch: item.Patch, http.MethodDelete: item.Delete}[method]
	}
	if op == nil {
		panic("edge: Document for an unmounted route: " + pattern) // programming error at start-up
	}
	op.Summary, op.Description = d.Summary, d.Description
	status := d.Status
	if status == 0 {
		status = http.StatusOK
	}
	resp := &huma.Response{Description: http.StatusText(status)}
	if d.Example != nil {
		// The example as the API writes it (custom marshalers included);
		// its schema is that of the JSON value.
		b, err := json.Marshal(d.Example)
		if err != nil {
			panic("edge: Document example of " + pattern + ": " + err.Error())
		}
		var ex any
		if err := json.Unmarshal(b, &ex); err != nil {
			panic("edge: Document example of " + pattern + ": " + err.Error())
		}
		s := sp.registry.Schema(reflect.TypeOf(ex), true, "")
		resp.Content = map[string]*huma.MediaType{"application/json": {Schema: s, Example: ex}}
	}
	op.Responses[strconv.Itoa(status)] = resp
	sp.json = nil
}
