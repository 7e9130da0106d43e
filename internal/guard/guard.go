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
	Findings []Finding `json:"findings"`
	// Score combines the rules and the model (see combine); Blocked is
	// Score >= the guard's threshold.
	Score     int  `json:"score"`
	Truncated bool `json:"truncated"`
	Blocked   bool `json:"blocked"`
	// Threshold is the score at and above which this verdict blocks: the
	// field's threshold (Options.Fields) or the guard's.
	Threshold int `json:"threshold"`
	// RulesScore is the sum of the rules' findings, capped at MaxScore.
	RulesScore int `json:"rules_score"`
	// ModelScore is the learned detector's points (Model.Points), and
	// ModelProbability its estimate that the text is an injection attempt;
	// the highest over the text and what was decoded or recovered from it.
	ModelScore       int     `json:"model_score"`
	ModelProbability float64 `json:"model_probability"`
}

// Rules lists the names of the matched rules.
func (v Verdict) Rules() []string {
	out := make([]string, 0, len(v.Findings))
	for _, f := range v.Findings {
		out = append(out, f.Rule)
	}
	return out
}

// modelFloor is the fewest model points that count: below it the model's
// estimate is noise and adds neither a Finding nor score.
const modelFloor = 15

// combine is the Verdict's score given the rules' sum and the model's
// points: the stronger of the two, plus half the weaker, capped at
// MaxScore. Either detector alone can block a text it is sure of; two
// weak signals add up, but a weak model signal does not push an ordinary
// rule hit (a "System:" line, 20) over the threshold alone.
func combine(rules, model int) int {
	hi, lo := max(rules, model), min(rules, model)
	return min(MaxScore, hi+lo/2)
}

// Options configure a Guard. A zero field takes its default.
type Options struct {
	MaxRunes  int // 0 = DefaultMaxRunes
	Threshold int // 0 = DefaultThreshold
	// Model is the learned detector; nil means the embedded one
	// (DefaultModel). NoModel turns it off (the rules alone decide), for
	// comparison in the scorecard.
	Model   *Model
	NoModel bool
	// Fields are thresholds per label (a proposal's "title", "brief"),
	// each from 1 to MaxThreshold; a label not listed uses Threshold.
	Fields map[string]int
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
	fields    map[string]int // per-label thresholds
	model     *Model         // nil: rules only
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
	g := &Guard{maxRunes: opts.MaxRunes, threshold: opts.Threshold, model: opts.Model}
	if len(opts.Fields) > 0 {
		g.fields = make(map[string]int, len(opts.Fields))
		for label, t := range opts.Fields {
			if !validLabel(label) {
				return nil, rampart.Errorf(op, rampart.KindInvalid, "field %q must be a lower-case identifier", label)
			}
			if t < 1 || t > MaxThreshold {
				return nil, rampart.Errorf(op, rampart.KindInvalid, "the threshold of field %q must be between 1 and %d, not %d", label, MaxThreshold, t)
			}
			g.fields[label] = t
		}
	}
	if g.model == nil {
		g.model = defaultModel
	}
	if opts.NoModel {
		g.model = nil
	}
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

// ThresholdFor is the threshold of texts labelled label: its own
// (Options.Fields) or Threshold.
func (g *Guard) ThresholdFor(label string) int {
	g = g.settings()
	if t, ok := g.fields[label]; ok {
		return t
	}
	return g.threshold
}

// MaxRunes is the length, in runes, beyond which text is cut.
func (g *Guard) MaxRunes() int { return g.settings().maxRunes }

// settings returns g, or the defaults for a nil Guard: a nil Guard guards
// rather than panics.
func (g *Guard) settings() *Guard {
	if g == nil {
		return &Guard{maxRunes: DefaultMaxRunes, threshold: DefaultThreshold, model: defaultModel}
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
	v := g.assess(raw, content)
	v.Truncated = truncated
	v.Threshold = g.ThresholdFor(label)
	v.Blocked = v.Score >= v.Threshold

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

// assess scores the normalised content of raw with the rules and the
// model. Besides content itself, both read what was decoded from it
// (base64, hex, escapes, rot13), what tag characters or variation
// selectors in raw spell, and content with its HTML markup removed.
// minModelWords is how many words the model must read for its full points.
const minModelWords = 4

func (g *Guard) assess(raw, content string) Verdict {
	sc, views := patterns.detect(content, 0)
	for _, h := range smuggledText(raw) {
		inner, _ := normalize(h, g.maxRunes)
		in, _ := patterns.detect(inner, maxDepth)
		sc.merge(in)
		sc[ruleEncodedPayload] = max(sc[ruleEncodedPayload], encodedScore)
		views = append(views, inner)
	}
	if u := unmarkedForm(content); u != "" {
		in, decoded := patterns.detect(u, 0)
		sc.merge(in)
		views = append(views, u)
		views = append(views, decoded...)
	}

	v := Verdict{Findings: []Finding{}}
	for r, score := range sc {
		if score > 0 {
			v.Findings = append(v.Findings, Finding{Rule: ruleNames[r], Score: score})
			v.RulesScore += score
		}
	}
	v.RulesScore = min(v.RulesScore, MaxScore)
	if g.model != nil {
		p := g.model.Probability(content)
		for _, w := range views {
			p = max(p, g.model.Probability(w))
		}
		v.ModelProbability = p
		pts := g.model.Points(p)
		// A linear model reading one to three words has little evidence
		// ("Anything else?" shares its n-grams with "do anything now"):
		// its points shrink with the words it read, so a terse question is
		// not refused on the model's word alone. Short attacks are the
		// rules' to catch, and they still add up with the model's points.
		if n := len(strings.Fields(content)); n < minModelWords {
			pts = pts * n / minModelWords
		}
		if pts >= modelFloor {
			v.ModelScore = pts
		}
		if v.ModelScore > 0 {
			v.Findings = append(v.Findings, Finding{Rule: RuleModel, Score: v.ModelScore})
		}
	}
	v.Score = combine(v.RulesScore, v.ModelScore)
	v.Threshold = g.threshold
	v.Blocked = v.Score >= v.Threshold
	return v
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

// Join is the verdict of several fields of one input (a proposal's title,
// client and brief): the rules' findings add up across fields, as weak
// signals split across fields add up like signals in one field; the
// model's evidence is the strongest field's, since the model scores each
// text whole and a few points it gives each short name (an unfamiliar word
// says little) must not add up to a refusal. Blocked when any field is (at
// its own threshold), or when the joined score reaches the joined
// threshold: the highest threshold of the fields that contributed a
// finding, so that a field given a higher threshold (a title where a
// product name scores a little) is not refused at a lower one by being
// joined with clean fields, while weak signals spread over several fields
// still add up. threshold stands for a verdict that carries none (zero)
// and is the joined threshold when no field has a finding.
func Join(threshold int, vs ...Verdict) Verdict {
	all := Verdict{Findings: []Finding{}}
	joined := 0
	for _, v := range vs {
		t := v.Threshold
		if t == 0 {
			t = threshold
		}
		if len(v.Findings) > 0 {
			joined = max(joined, t)
		}
		all.Findings = append(all.Findings, v.Findings...)
		all.RulesScore = min(MaxScore, all.RulesScore+v.RulesScore)
		if v.ModelScore > all.ModelScore {
			all.ModelScore = v.ModelScore
		}
		all.ModelProbability = max(all.ModelProbability, v.ModelProbability)
		all.Truncated = all.Truncated || v.Truncated
		all.Blocked = all.Blocked || v.Blocked
	}
	if joined == 0 {
		joined = threshold
	}
	all.Score = combine(all.RulesScore, all.ModelScore)
	all.Threshold = joined
	all.Blocked = all.Blocked || all.Score >= joined
	return all
}
