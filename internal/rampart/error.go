package rampart

import (
	"errors"
	"fmt"
)

// Kind classifies an error for callers: it decides the HTTP status and the
// problem type, never the message shown for internal failures.
type Kind uint8

// The error kinds. Another tenant's object is NotFound, never Forbidden.
const (
	KindInternal Kind = iota
	KindInvalid
	KindNotFound
	KindForbidden
	KindUnauthenticated
	KindConflict
	KindUnavailable
	KindTooLarge
	KindUnsupportedMedia
	// KindLocked: the action is switched off (an AI kill switch is on).
	KindLocked
	// KindQuotaExceeded: a budget (e.g. the monthly AI token budget) is spent.
	KindQuotaExceeded
	// KindPaymentRequired: the organization's billing plan has lapsed
	// (past due or canceled beyond its grace period).
	KindPaymentRequired
	// KindRefused: the input is well-formed, but a content control refused
	// it (the prompt-injection guard flagged a chat question).
	KindRefused
	// KindFeatureDisabled: a platform operator turned off the feature the
	// request needs for this organization (an organization feature flag);
	// its cause is a *FeatureOff naming the flag.
	KindFeatureDisabled
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindForbidden:
		return "forbidden"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindConflict:
		return "conflict"
	case KindUnavailable:
		return "unavailable"
	case KindTooLarge:
		return "too_large"
	case KindUnsupportedMedia:
		return "unsupported_media_type"
	case KindLocked:
		return "locked"
	case KindQuotaExceeded:
		return "quota_exceeded"
	case KindPaymentRequired:
		return "payment_required"
	case KindRefused:
		return "refused"
	case KindFeatureDisabled:
		return "feature_disabled"
	default:
		return "internal"
	}
}

// Error is Rampart's domain error: an operation, a kind, a message safe to
// show to the caller, and an optional wrapped cause that is logged only.
type Error struct {
	Op      string // e.g. "store.InTenant"
	Kind    Kind
	Message string // safe for the caller; empty for internal errors
	Err     error  // cause; never shown to the caller
}

// Errorf builds an Error whose message is safe to show to callers.
func Errorf(op string, kind Kind, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap wraps a cause as an internal (or given-kind) error of op.
func Wrap(op string, kind Kind, err error) *Error {
	return &Error{Op: op, Kind: kind, Err: err}
}

func (e *Error) Error() string {
	switch {
	case e.Message != "" && e.Err != nil:
		return fmt.Sprintf("%s: %s: %v", e.Op, e.Message, e.Err)
	case e.Message != "":
		return fmt.Sprintf("%s: %s", e.Op, e.Message)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Op, e.Err)
	default:
		return fmt.Sprintf("%s: %s", e.Op, e.Kind)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorKind returns the kind of the outermost *Error in err's chain, or
// KindInternal when there is none.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorMessage returns the caller-safe message of err: the message of the
// outermost *Error that has one, or a generic text for internal errors.
func ErrorMessage(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			break
		}
		if e.Message != "" && e.Kind != KindInternal {
			return e.Message
		}
		err = e.Err
	}
	return "An internal error occurred."
}

// FieldError is a KindInvalid error about one input field, worded
// "field: what is wrong" (the API's problem detail names the field).
func FieldError(op, field, format string, args ...any) *Error {
	return Errorf(op, KindInvalid, "%s: %s", field, fmt.Sprintf(format, args...))
}
