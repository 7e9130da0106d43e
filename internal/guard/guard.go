package guard

import (
	"strings"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// Text is untrusted content that has passed the guard: normalised, capped and
// fenced as data. Its fields are unexported, so only this package can make a
// non-zero Text; a prompt in internal/llm accepts untrusted content only as Text.
type Text struct {
	label  string
	fenced string
}

// Label names the source of the text ("brief"); it is a lower-case
// identifier, "data" when the caller's label was not one.
func (t Text) Label() string { return t.label }

// Fenced is the normalised text wrapped in data fences, ready for a prompt.
// It holds exactly one opening and one closing fence (see FenceOpen).
func (t Text) Fenced() string { return t.fenced }

// Valid reports whether t was made by the guard (the zero Text is not).
func (t Text) Valid() bool { return t.fenced != "" }

// Finding is one matched injection rule with its score.
type Finding struct {
	Rule  string `json:"rule"`
	Score int    `json:"score"`
}

// Verdict is the guard's assessment of one text.
type Verdict struct {
	Findings  []Finding `json:"findings"`
	Score     int       `json:"score"`
	Truncated bool      `json:"truncated"`
	Blocked   bool      `json:"blocked"` // Score >= the guard's threshold
}

// Rules lists the names of the matched rules.
func (v Verdict) Rules() []string {
	out := make([]string, 0, len(v.Findings))
	for _, f := range v.Findings {
		out = append(out, f.Rule)
	}
	return out
}

// Options configure a Guard. A zero field takes its default.
type Options struct {
	MaxRunes  int // 0 = DefaultMaxRunes
	Threshold int // 0 = DefaultThreshold
}

// Defaults and bounds of Options.
const (
	DefaultMaxRunes  = 20000
	DefaultThreshold = 50

	// MaxMaxRunes and MaxThreshold bound Options; larger values are refused.
	MaxMaxRunes  = 200000
	MaxThreshold = 1000

	// MaxScore caps Verdict.Score. A Threshold above it never blocks, which
	// is allowed so that a deployment can observe scores without acting.
	MaxScore = 100
)

// The fence around every Text's content. The label is a lower-case
// identifier, so it needs no quoting.
const (
	FenceOpen  = `<untrusted_data source="`
	FenceClose = "</untrusted_data>"
)

// Content never holds '<' or '>': they are replaced with these fullwidth
// forms, so no content can open or close a fence. NFKC has already folded
// any fullwidth bracket in the input to ASCII, so in Fenced every fullwidth
// bracket is an escaped ASCII one.
const (
	escapedLess    = "\uFF1C" // ＜
	escapedGreater = "\uFF1E" // ＞
)

// DefaultLabel replaces a label that is not a short lower-case identifier.
const DefaultLabel = "data"

// maxLabel is the longest label kept.
const maxLabel = 32

// Guard inspects untrusted text. It is safe for concurrent use.
type Guard struct {
	maxRunes  int
	threshold int
}

// New returns a guard; it refuses nonsensical options with a KindInvalid
// error.
func New(opts Options) (*Guard, error) {
	const op = "guard.New"
	switch {
	case opts.MaxRunes < 0 || opts.MaxRunes > MaxMaxRunes:
		return nil, rampart.Errorf(op, rampart.KindInvalid, "MaxRunes must be between 1 and %d (0 for the default %d), not %d", MaxMaxRunes, DefaultMaxRunes, opts.MaxRunes)
	case opts.Threshold < 0 || opts.Threshold > MaxThreshold:
		return nil, rampart.Errorf(op, rampart.KindInvalid, "Threshold must be between 1 and %d (0 for the default %d), not %d", MaxThreshold, DefaultThreshold, opts.Threshold)
	}
	g := &Guard{maxRunes: opts.MaxRunes, threshold: opts.Threshold}
	if g.maxRunes == 0 {
		g.maxRunes = DefaultMaxRunes
	}
	if g.threshold == 0 {
		g.threshold = DefaultThreshold
	}
	return g, nil
}

// Threshold is the score at and above which a Verdict is Blocked.
func (g *Guard) Threshold() int { return g.settings().threshold }

// MaxRunes is the length, in runes, beyond which text is cut.
func (g *Guard) MaxRunes() int { return g.settings().maxRunes }

// settings returns g, or the defaults for a nil Guard: a nil Guard guards
// rather than panics.
func (g *Guard) settings() *Guard {
	if g == nil {
		return &Guard{maxRunes: DefaultMaxRunes, threshold: DefaultThreshold}
	}
	return g
}

// Inspect normalises raw, cuts it to MaxRunes, scans it for injection
// patterns and fences it as data. The Text is returned even when the
// Verdict is Blocked: what to do with a blocked text is the caller's
// decision. Inspect never panics; an invalid label becomes DefaultLabel.
func (g *Guard) Inspect(label, raw string) (Text, Verdict) {
	g = g.settings()
	if !validLabel(label) {
		label = DefaultLabel
	}
	content, truncated := normalize(raw, g.maxRunes)
	sc := patterns.detect(content, 0)

	v := Verdict{Findings: []Finding{}, Truncated: truncated}
	for r, score := range sc {
		if score > 0 {
			v.Findings = append(v.Findings, Finding{Rule: ruleNames[r], Score: score})
			v.Score += score
		}
	}
	v.Score = min(v.Score, MaxScore)
	v.Blocked = v.Score >= g.threshold

	var b strings.Builder
	b.Grow(len(FenceOpen) + len(label) + len(content) + len(FenceClose) + 8)
	b.WriteString(FenceOpen)
	b.WriteString(label)
	b.WriteString("\">\n")
	b.WriteString(escapeBrackets(content))
	b.WriteString("\n")
	b.WriteString(FenceClose)
	return Text{label: label, fenced: b.String()}, v
}

// escapeBrackets replaces '<' and '>' with their fullwidth forms.
func escapeBrackets(s string) string {
	if !strings.ContainsAny(s, "<>") {
		return s
	}
	return bracketEscaper.Replace(s)
}

var bracketEscaper = strings.NewReplacer("<", escapedLess, ">", escapedGreater)

// validLabel reports whether label is 1 to maxLabel characters of [a-z_]
// starting with a letter.
func validLabel(label string) bool {
	if label == "" || len(label) > maxLabel || label[0] == '_' {
		return false
	}
	for i := 0; i < len(label); i++ {
		if c := label[i]; c != '_' && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}
