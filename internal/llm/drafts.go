package llm

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// The offline provider's answers to the bom_drafter and budget_analyst
// prompts: JSON in the shape those prompts ask for, sized from the brief
// with the same fixed patterns as the proposal (parseBrief). Like the
// proposal, they are a pure function of what the patterns extract, so an
// instruction inside the brief has no effect on them.

type draftLine struct {
	Item     string  `json:"item"`
	Category string  `json:"category"`
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
}

// writeBOMDraft is the offline bill of materials for b.
func writeBOMDraft(b brief) string {
	n := b.attendees
	if n == 0 {
		n = assumedAttendees
	}
	t := tier(n)
	scale := []float64{1, 2, 4, 8}[t]
	days := float64(max(b.days, 1))
	lines := []draftLine{
		{"Main PA system (speakers and amplification)", "audio", 1, "sets"},
		{"Digital mixing console", "audio", 1, "pcs"},
		{"Wireless handheld microphones", "audio", 2 * scale, "pcs"},
		{"Stage wash fixtures", "lighting", 8 * scale, "pcs"},
		{"Lighting console", "lighting", 1, "pcs"},
		{"Projection screen or LED wall", "video", 1, "sets"},
		{"Stage deck", "staging", 12 * scale, "m2"},
		{"Power distribution", "power", 1, "sets"},
		{"Technical crew", "crew", 2 + 2*scale, "days"},
	}
	if b.has("linearray") || t >= 2 {
		lines[0].Item = "Line array PA system"
	}
	if b.has("led") {
		lines[5] = draftLine{"LED wall", "video", 12 * scale, "m2"}
	}
	if b.has("movers") || t >= 2 {
		lines = append(lines, draftLine{"Moving head fixtures", "lighting", 6 * scale, "pcs"})
	}
	if b.has("cameras") || b.has("livestream") {
		lines = append(lines, draftLine{"Camera channels with operators", "video", 2 + scale, "pcs"})
	}
	if b.has("livestream") {
		lines = append(lines, draftLine{"Streaming encoder and uplink", "video", 1, "sets"})
	}
	if b.has("band") {
		lines = append(lines, draftLine{"Backline for the band", "backline", 1, "sets"})
	}
	if b.outdoor {
		lines = append(lines, draftLine{"Generator with fuel", "power", 1, "pcs"}, draftLine{"Weather protection for the stage", "staging", 1, "sets"})
	}
	if t >= 1 {
		lines = append(lines, draftLine{"Rigging points and motors", "rigging", 4 * scale, "pcs"})
	}
	for i := range lines {
		if lines[i].Unit == "days" {
			lines[i].Quantity *= days
		}
	}
	why := fmt.Sprintf("Sized for %d guests", n)
	if b.attendees == 0 {
		why = fmt.Sprintf("Sized for an assumed %d guests (the brief gives no attendance)", n)
	}
	if b.venue != "" {
		why += " at " + b.venue
	}
	why += ". Quantities assume one stage; the venue's in-house equipment, power and rigging limits must be confirmed on a site visit."
	out, _ := json.Marshal(map[string]any{"rationale": why, "lines": lines})
	return string(out)
}

var currencyHints = []struct {
	code string
	re   *regexp.Regexp
}{
	{"USD", regexp.MustCompile(`(?i)\$|\busd\b|\bdollars?\b`)},
	{"GBP", regexp.MustCompile(`(?i)£|\bgbp\b|\bpounds?\b`)},
	{"CHF", regexp.MustCompile(`(?i)\bchf\b|\bfrancs?\b`)},
	{"EUR", regexp.MustCompile(`(?i)€|\beur\b|\beuros?\b`)},
}

// writeBudgetDraft is the offline budget proposal for b, in the currency
// the brief names (EUR when none).
func writeBudgetDraft(b brief, text string) string {
	n := b.attendees
	if n == 0 {
		n = assumedAttendees
	}
	t := tier(n)
	cur := "EUR"
	for _, h := range currencyHints {
		if h.re.MatchString(text) {
			cur = h.code
			break
		}
	}
	base := []int{6000, 15000, 40000, 110000}[t]
	type money struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	}
	type line struct {
		Category    string `json:"category"`
		Description string `json:"description"`
		Planned     money  `json:"planned"`
	}
	share := []struct {
		cat, desc string
		pct       int
	}{
		{"audio", "Audio system, consoles and microphones", 22},
		{"lighting", "Lighting fixtures, control and operators", 18},
		{"video", "Screens, projection and playback", 20},
		{"staging", "Stage, set and scenic elements", 15},
		{"crew", "Technical crew, load-in to load-out", 17},
		{"transport", "Trucking and logistics", 8},
	}
	var lines []line
	for _, s := range share {
		lines = append(lines, line{s.cat, s.desc, money{fmt.Sprintf("%d.00", base*s.pct/100), cur}})
	}
	why := fmt.Sprintf("Estimated for %d guests from typical production costs for an event of this size, in %s. Every line is an estimate for review against supplier quotes.", n, cur)
	out, _ := json.Marshal(map[string]any{"rationale": why, "lines": lines})
	return string(out)
}

// offlineAnswer is the offline provider's answer to req's prompt.
func offlineAnswer(p Prompt, data string) string {
	switch p.name {
	case BOMDrafter.name:
		return writeBOMDraft(parseBrief(data))
	case BudgetAnalyst.name:
		return writeBudgetDraft(parseBrief(data), data)
	}
	return writeProposal(parseBrief(data))
}
