package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/rampart"
)

func TestParseBOMDraft(t *testing.T) {
	d, err := Parse(rampart.JobKindBOMDraft, "```json\n"+`{"rationale": "Sized for 300 guests.", "lines": [
		{"item": "Line array PA", "category": "audio", "quantity": 2.5, "unit": "sets"},
		{"item": "Stage deck", "category": "staging", "quantity": 48, "unit": "m2"}]}`+"\n```")
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != rampart.ProposeBOMLines || len(d.Change.BOMLines) != 2 || d.Change.BOMLines[0].Quantity != 2500 || d.Rationale != "Sized for 300 guests." {
		t.Fatalf("draft %+v", d)
	}
}

func TestParseBudgetDraft(t *testing.T) {
	d, err := Parse(rampart.JobKindBudgetAnalysis, `{"rationale": "Typical costs.", "lines": [
		{"category": "audio", "description": "PA", "planned": {"amount": "12500.00", "currency": "EUR"}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Cost.Planned) != 1 || d.Cost.Planned[0].Minor != 1_250_000 || d.Change.BudgetLines[0].Description != "PA" {
		t.Fatalf("draft %+v", d)
	}
}

// A model that does not follow its prompt gets no proposal: each answer
// here is refused with an invalid error that does not quote it.
func TestParseRefusesWhatThePromptForbids(t *testing.T) {
	for name, answer := range map[string]string{
		"prose around":      `Here you go: {"rationale": "r", "lines": []}`,
		"two objects":       `{"rationale": "r", "lines": []} {"x": 1}`,
		"unknown field":     `{"rationale": "r", "lines": [{"item": "PA", "category": "audio", "quantity": 1, "unit": "pcs", "unit_cost": 900}]}`,
		"markup in item":    `{"rationale": "r", "lines": [{"item": "<img src=x onerror=alert(1)>", "category": "audio", "quantity": 1, "unit": "pcs"}]}`,
		"link in rationale": `{"rationale": "see https://evil.example", "lines": [{"item": "PA", "category": "audio", "quantity": 1, "unit": "pcs"}]}`,
		"bad quantity":      `{"rationale": "r", "lines": [{"item": "PA", "category": "audio", "quantity": -3, "unit": "pcs"}]}`,
		"quantity as text":  `{"rationale": "r", "lines": [{"item": "PA", "category": "audio", "quantity": "lots", "unit": "pcs"}]}`,
		"not JSON":          `# Bill of materials`,
		"too large":         `{"rationale": "` + strings.Repeat("a", 300<<10) + `"}`,
	} {
		_, err := Parse(rampart.JobKindBOMDraft, answer)
		if rampart.ErrorKind(err) != rampart.KindInvalid {
			t.Errorf("%s: %v, want an invalid error", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "evil.example") {
			t.Errorf("%s: the error quotes the answer: %v", name, err)
		}
	}
	if _, err := Parse(rampart.JobKindProposalGeneration, `{}`); err == nil {
		t.Error("a proposal generation parsed as a draft")
	}
}

// The offline provider answers the drafting prompts with drafts that
// parse and validate, and the same brief gives the same draft.
func TestOfflineDraftsParse(t *testing.T) {
	p, err := llm.New(llm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(guard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	brief, v := g.Inspect("brief", "A gala for 1,200 guests at the Lisbon Congress Centre with a live band, an LED wall and a livestream; budget in USD.")
	if v.Blocked {
		t.Fatal("benign brief blocked")
	}
	for _, c := range []struct {
		prompt llm.Prompt
		kind   string
	}{{llm.BOMDrafter, rampart.JobKindBOMDraft}, {llm.BudgetAnalyst, rampart.JobKindBudgetAnalysis}} {
		resp, err := p.Stream(context.Background(), llm.Request{Prompt: c.prompt, Data: []guard.Text{brief}}, func(string) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(c.kind, resp.Text)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.kind, err, resp.Text)
		}
		n := rampart.NewAgentProposal{ProposalID: [16]byte{1}, AgentType: "x", Kind: d.Kind, Change: d.Change, Cost: d.Cost, Rationale: d.Rationale, At: testTime}
		if err := rampart.ValidateAgentProposal(n); err != nil {
			t.Errorf("%s: %v", c.kind, err)
		}
		if c.kind == rampart.JobKindBudgetAnalysis && d.Cost.Planned[0].Currency != "USD" {
			t.Errorf("budget currency %s, want the brief's USD", d.Cost.Planned[0].Currency)
		}
		if c.kind == rampart.JobKindBOMDraft && !strings.Contains(resp.Text, "LED wall") {
			t.Errorf("the draft ignores the brief's LED wall: %s", resp.Text)
		}
	}
}

var testTime = mustTime("2026-12-01T09:00:00Z")
