package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// maxBody bounds every JSON request body.
const maxBody = 64 << 10

// decode reads a strict JSON body into v: JSON content type, at most
// maxBody bytes, valid UTF-8, no unknown fields, no trailing data.
func (rt *Router) decode(w http.ResponseWriter, r *http.Request, v any) error {
	const op = "edge.decode"
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return rampart.Errorf(op, rampart.KindUnsupportedMedia, "the body must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return rampart.Errorf(op, rampart.KindTooLarge, "the body is larger than %d bytes", maxBody)
		}
		return rampart.Errorf(op, rampart.KindInvalid, "could not read the body")
	}
	if !utf8.Valid(body) {
		return rampart.Errorf(op, rampart.KindInvalid, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return rampart.Errorf(op, rampart.KindInvalid, "malformed JSON: %s", jsonProblem(err))
	}
	if dec.More() {
		return rampart.Errorf(op, rampart.KindInvalid, "malformed JSON: trailing data after the object")
	}
	// Then the schema (the same one /openapi.json publishes): ranges,
	// lengths, formats, enums, required fields.
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		return rampart.Errorf(op, rampart.KindInvalid, "malformed JSON: %s", jsonProblem(err))
	}
	return rt.spec.validate(v, raw)
}

// jsonProblem describes a decoding error without echoing large input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	return "invalid JSON"
}

// PathID parses a uuid path value; a malformed one is simply not found.
func PathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		return uuid.Nil, rampart.Errorf("edge.pathID", rampart.KindNotFound, "not found")
	}
	return id, nil
}

// Respond encodes v for the caller's role: the output filter of
// internal/access removes cost, sourcing and lead-time fields for roles
// without full cost access on every authenticated JSON response.
func Respond(w http.ResponseWriter, c rampart.Claims, status int, v any) error {
	filtered, err := access.FilterForRole(c.Role, v)
	if err != nil {
		return err
	}
	WriteJSON(w, status, filtered)
	return nil
}

// FieldError is a 400 naming the field that fails.
func FieldError(field, format string, args ...any) error {
	return rampart.FieldError("edge.validate", field, format, args...)
}
