package observe

import (
	"context"
	"log/slog"
)

// NewScrubbingHandler wraps next so that nothing it writes can carry a
// secret: the message and every attribute value (recursively, through groups
// and attributes added with WithAttrs) are scrubbed, and the value of any
// attribute whose key is sensitive (see SensitiveKey) — or that sits under
// a group whose name is — becomes "[redacted]". Level, time, source and all
// other attributes pass through unchanged.
func NewScrubbingHandler(next slog.Handler) slog.Handler {
	return &scrubHandler{next: next}
}

type scrubHandler struct {
	next slog.Handler
	// underSensitive is set once a WithGroup name is sensitive: every later
	// attribute lives inside that group, so every value is redacted.
	underSensitive bool
}

func (h *scrubHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, scrubString(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrubAttr(a, h.underSensitive))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(as))
	for i, a := range as {
		scrubbed[i] = scrubAttr(a, h.underSensitive)
	}
	return &scrubHandler{next: h.next.WithAttrs(scrubbed), underSensitive: h.underSensitive}
}

func (h *scrubHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &scrubHandler{next: h.next.WithGroup(name), underSensitive: h.underSensitive || SensitiveKey(name)}
}

// scrubAttr returns a scrubbed copy of a. LogValuers are resolved first so
// a type cannot smuggle a secret past the scrubber through LogValue.
func scrubAttr(a slog.Attr, redactAll bool) slog.Attr {
	if a.Equal(slog.Attr{}) {
		return a // handlers ignore empty attributes; keep it so
	}
	v := a.Value.Resolve()
	sensitive := redactAll || (a.Key != "" && SensitiveKey(a.Key))
	if v.Kind() == slog.KindGroup {
		if sensitive {
			return slog.String(a.Key, redacted)
		}
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, ga := range group {
			out[i] = scrubAttr(ga, false)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	}
	if sensitive {
		return slog.String(a.Key, redacted)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, scrubString(v.String()))
	case slog.KindAny:
		return slog.Any(a.Key, scrubAny(v.Any()))
	default: // numbers, bools, times, durations carry no text
		return slog.Attr{Key: a.Key, Value: v}
	}
}
