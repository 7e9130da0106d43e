package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// ProviderError is an error answer of a model provider. It keeps only what
// is safe to log: the SDKs' own errors carry the request and the response
// body, and an OpenAI-compatible server may echo the prompt in its error
// body, so they are not wrapped.
type ProviderError struct {
	// Provider is "anthropic" or "openai".
	Provider string
	// StatusCode is the HTTP status, or 0 for an error event inside a stream.
	StatusCode int
	// Type is the provider's error type ("rate_limit_error",
	// "overloaded_error"), when it sent a well-formed one.
	Type string
	// RequestID is the provider's request id, when it sent one.
	RequestID string
}

// Error describes the failure with the status, type and request id only.
func (e *ProviderError) Error() string {
	msg := e.Provider + ": "
	if e.StatusCode != 0 {
		msg += fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	} else {
		msg += "error event in stream"
	}
	if e.Type != "" {
		msg += " (" + e.Type + ")"
	}
	if e.RequestID != "" {
		msg += " request id " + e.RequestID
	}
	return msg
}

// Temporary reports whether a later retry may succeed: rate limits,
// overload, timeouts and server errors.
func (e *ProviderError) Temporary() bool {
	switch {
	case e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusConflict,
		e.StatusCode == http.StatusTooManyRequests, e.StatusCode >= 500:
		return true
	case e.StatusCode == 0:
		return e.Type == "overloaded_error" || e.Type == "api_error" || e.Type == "rate_limit_error"
	}
	return false
}

// safeToken keeps identifiers from a provider's answer only when they look
// like identifiers, so no free text of the answer ends up in an error.
var safeToken = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

func safe(s string) string {
	if safeToken.MatchString(s) {
		return s
	}
	return ""
}

// providerFailure is the error of a call the provider failed: a
// KindUnavailable error wrapping pe, or cause when pe is nil. cause must not
// carry content (network and decoding errors do not).
func providerFailure(op string, pe *ProviderError, cause error) error {
	if pe != nil {
		cause = pe
	}
	return &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "the model provider failed", Err: cause}
}

// errStreamTruncated is the cause when a stream ends without the provider's
// end-of-message marker: the text is incomplete and must not be stored.
var errStreamTruncated = errors.New("the stream ended before the provider finished the message")

// scrub keeps err when its kind cannot carry the provider's text (network,
// framing and JSON decoding errors) and otherwise keeps only its type: an
// SDK's "received error while streaming: <body>" must not reach a log.
func scrub(err error) error {
	var (
		urlErr    *url.Error
		netErr    net.Error
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &urlErr), errors.As(err, &netErr), errors.As(err, &syntaxErr), errors.As(err, &typeErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return err
	}
	return fmt.Errorf("the stream failed (%T)", err)
}

// statusOf is the HTTP status of a provider error; an error event inside a
// stream that began with 200 has none.
func statusOf(code int) int {
	if code >= 200 && code < 300 {
		return 0
	}
	return code
}
