package rampart

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Feature names an organization feature flag: a gate that platform
// operators set per organization (`rampart org features`) and that the
// organization's members read but cannot change.
type Feature string

// The feature flags. Each is enforced at one door per kind of request
// (docs/feature-flags.md).
const (
	// FeatureAI gates every AI request of the organization: generation,
	// the drafting agents, the vendor ranker and crew matcher, the chat;
	// turning it off cancels the organization's unfinished AI jobs, and
	// the worker runs none of its jobs while it is off.
	FeatureAI Feature = "ai"
	// FeatureChat gates the proposal chat. The chat also needs FeatureAI.
	FeatureChat Feature = "chat"
)

// AllFeatures lists the flags in the order they are shown.
var AllFeatures = []Feature{FeatureAI, FeatureChat}

// Valid reports whether f is a known flag.
func (f Feature) Valid() bool { return slices.Contains(AllFeatures, f) }

// OrgFeatures is an organization's feature flags as stored: each flag as
// the operator set it (true when never set), the operator's reason for the
// last change and when it was made (zero when never set). Who made it is
// the platform's business and is not part of this type.
type OrgFeatures struct {
	AI        bool       `json:"ai"`
	Chat      bool       `json:"chat"`
	Reason    string     `json:"reason,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// DefaultFeatures is the flags of an organization no operator has
// changed: everything on.
func DefaultFeatures() OrgFeatures { return OrgFeatures{AI: true, Chat: true} }

// Stored is the value of the flag as set, whatever the others say.
func (o OrgFeatures) Stored(f Feature) bool {
	switch f {
	case FeatureAI:
		return o.AI
	case FeatureChat:
		return o.Chat
	}
	return false
}

// Set returns o with flag f set to on.
func (o OrgFeatures) Set(f Feature, on bool) OrgFeatures {
	switch f {
	case FeatureAI:
		o.AI = on
	case FeatureChat:
		o.Chat = on
	}
	return o
}

// Enabled reports whether requests gated by f may run: the flag is on,
// and so is every flag it depends on (the chat is an AI feature).
func (o OrgFeatures) Enabled(f Feature) bool {
	switch f {
	case FeatureAI:
		return o.AI
	case FeatureChat:
		return o.AI && o.Chat
	}
	return false
}

// Require returns nil when f is enabled, else a KindFeatureDisabled error
// that names the flag that is off (ai before chat) and says a platform
// operator turned it off, with the operator's reason.
func (o OrgFeatures) Require(op string, f Feature) error {
	off := f
	switch {
	case !o.AI:
		off = FeatureAI
	case o.Enabled(f):
		return nil
	}
	msg := fmt.Sprintf("the %s feature is turned off for this organization by a platform operator", off)
	if f != off {
		msg = fmt.Sprintf("%s (%s needs it)", msg, f)
	}
	if o.Reason != "" {
		msg += ": " + o.Reason
	}
	return &Error{Op: op, Kind: KindFeatureDisabled, Message: msg, Err: &FeatureOff{Feature: off}}
}

// FeatureOff is the cause of a KindFeatureDisabled error: the flag that is
// off (the API names it in the problem's "feature" member).
type FeatureOff struct{ Feature Feature }

func (e *FeatureOff) Error() string { return "feature " + string(e.Feature) + " is off" }

// ParseFeatureChanges parses an operator's change list, e.g.
// "ai=off,chat=on": comma-separated flag=value pairs, each flag at most
// once, values on/off (also true/false, 1/0, yes/no, enabled/disabled).
func ParseFeatureChanges(s string) (map[Feature]bool, error) {
	const op = "rampart.ParseFeatureChanges"
	known := make([]string, len(AllFeatures))
	for i, f := range AllFeatures {
		known[i] = string(f)
	}
	if strings.TrimSpace(s) == "" {
		return nil, Errorf(op, KindInvalid, "give at least one flag=on|off (flags: %s)", strings.Join(known, ", "))
	}
	out := map[Feature]bool{}
	for _, part := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.ToLower(strings.TrimSpace(value))
		if !ok || name == "" {
			return nil, Errorf(op, KindInvalid, "%q is not flag=on|off", truncate(part, 40))
		}
		f := Feature(name)
		if !f.Valid() {
			return nil, Errorf(op, KindInvalid, "unknown flag %q: the flags are %s", truncate(name, 40), strings.Join(known, ", "))
		}
		if _, dup := out[f]; dup {
			return nil, Errorf(op, KindInvalid, "flag %s is given twice", f)
		}
		switch value {
		case "on", "true", "1", "yes", "enabled":
			out[f] = true
		case "off", "false", "0", "no", "disabled":
			out[f] = false
		default:
			return nil, Errorf(op, KindInvalid, "flag %s: value %q must be on or off", f, truncate(value, 40))
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
