package agent

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// maxAnswerBytes bounds the answer an agent parses.
const maxAnswerBytes = 256 << 10

// Draft is what an agent proposes from one answer: the change, its
// amounts and the rationale.
type Draft struct {
	Kind      rampart.AgentProposalKind
	Change    rampart.AgentChange
	Cost      rampart.AgentChangeCost
	Rationale string
}

// ProposalKind is the kind of change an agent's job ends in; ok is false
// for a job kind that ends in something else (the proposal writer's body).
func ProposalKind(jobKind string) (rampart.AgentProposalKind, bool) {
	switch jobKind {
	case rampart.JobKindBOMDraft:
		return rampart.ProposeBOMLines, true
	case rampart.JobKindBudgetAnalysis:
		return rampart.ProposeBudgetLines, true
	}
	return "", false
}

// Parse reads a model's answer for a job of jobKind into a draft. A
// malformed answer is a KindInvalid error naming what is wrong (never
// quoting the answer).
func Parse(jobKind, answer string) (Draft, error) {
	const op = "agent.Parse"
	kind, ok := ProposalKind(jobKind)
	if !ok {
		return Draft{}, rampart.Errorf(op, rampart.KindInvalid, "job kind %q does not propose", jobKind)
	}
	body, err := jsonObject(answer)
	if err != nil {
		return Draft{}, err
	}
	d := Draft{Kind: kind}
	switch kind {
	case rampart.ProposeBOMLines:
		var in struct {
			Rationale string `json:"rationale"`
			Lines     []struct {
				Item     string          `json:"item"`
				Category string          `json:"category"`
				Quantity json.RawMessage `json:"quantity"`
				Unit     string          `json:"unit"`
			} `json:"lines"`
		}
		if err := strictDecode(body, &in); err != nil {
			return Draft{}, err
		}
		d.Rationale = in.Rationale
		for _, l := range in.Lines {
			q, err := rampart.ParseQuantity("quantity", strings.TrimSpace(string(l.Quantity)))
			if err != nil {
				return Draft{}, err
			}
			d.Change.BOMLines = append(d.Change.BOMLines, rampart.ProposedBOMLine{Item: strings.TrimSpace(l.Item),
				Category: rampart.BOMCategory(l.Category), Quantity: q, Unit: strings.TrimSpace(l.Unit)})
		}
	case rampart.ProposeBudgetLines:
		var in struct {
			Rationale string `json:"rationale"`
			Lines     []struct {
				Category    string `json:"category"`
				Description string `json:"description"`
				Planned     struct {
					Amount   string `json:"amount"`
					Currency string `json:"currency"`
				} `json:"planned"`
			} `json:"lines"`
		}
		if err := strictDecode(body, &in); err != nil {
			return Draft{}, err
		}
		d.Rationale = in.Rationale
		for _, l := range in.Lines {
			m, err := rampart.ParseMoney("planned", l.Planned.Amount, l.Planned.Currency)
			if err != nil {
				return Draft{}, err
			}
			d.Change.BudgetLines = append(d.Change.BudgetLines, rampart.ProposedBudgetLine{Category: rampart.BOMCategory(l.Category),
				Description: strings.TrimSpace(l.Description)})
			d.Cost.Planned = append(d.Cost.Planned, m)
		}
	}
	d.Rationale = strings.TrimSpace(d.Rationale)
	if err := plainText(d); err != nil {
		return Draft{}, err
	}
	return d, nil
}

// jsonObject is the answer's one JSON object. Models sometimes wrap it in
// a code fence despite the prompt; the fence is tolerated, any other text
// around the object is not.
func jsonObject(answer string) ([]byte, error) {
	const op = "agent.Parse"
	if len(answer) > maxAnswerBytes || !utf8.ValidString(answer) {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "the answer is not UTF-8 text of at most %d bytes", maxAnswerBytes)
	}
	s := strings.TrimSpace(answer)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "```json"), "```")
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
	}
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "the answer is not one JSON object")
	}
	return []byte(s), nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return rampart.Errorf("agent.Parse", rampart.KindInvalid, "the answer does not have the requested shape")
	}
	if dec.More() {
		return rampart.Errorf("agent.Parse", rampart.KindInvalid, "the answer has text after its JSON object")
	}
	return nil
}

// plainText refuses markup in any string of the draft: the strings are
// stored and shown as text, and a model that answers with tags is not
// following its prompt.
func plainText(d Draft) error {
	check := func(field, s string) error {
		if strings.ContainsAny(s, "<>") || strings.Contains(s, "](") || strings.Contains(s, "://") {
			return rampart.FieldError("agent.Parse", field, "must be plain text (no markup or links)")
		}
		return nil
	}
	if err := check("rationale", d.Rationale); err != nil {
		return err
	}
	for _, l := range d.Change.BOMLines {
		if err := check("item", l.Item); err != nil {
			return err
		}
		if err := check("unit", l.Unit); err != nil {
			return err
		}
	}
	for _, l := range d.Change.BudgetLines {
		if err := check("description", l.Description); err != nil {
			return err
		}
	}
	return nil
}
