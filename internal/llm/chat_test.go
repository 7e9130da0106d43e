package llm

import (
	"context"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/guard"
)

// TestProposalChatPromptReproduces: a passage of the chat's instructions,
// however re-cased or re-spaced, counts as reproduced; an ordinary answer
// does not; the zero Prompt reproduces nothing.
func TestProposalChatPromptReproduces(t *testing.T) {
	passage := proposalChatText[200:320]
	for _, text := range []string{passage, strings.ToUpper(passage), "Sure: **" + strings.ReplaceAll(passage, " ", "\n  ") + "**"} {
		if !ProposalChat.Reproduces(text) {
			t.Errorf("not caught: %q", text)
		}
	}
	for _, text := range []string{"", "The plan has two follow spots and one LED wall.", "Answer only from the data given."} {
		if ProposalChat.Reproduces(text) {
			t.Errorf("an ordinary answer counts as a leak: %q", text)
		}
	}
	if (Prompt{}).Reproduces(passage) {
		t.Error("the zero Prompt reproduces text")
	}
}

// TestOfflineChatAnswersFromTheProposalOnly: the offline provider answers
// the chat prompt with what its patterns find in the proposal's data, and
// never echoes the question.
func TestOfflineChatAnswersFromTheProposalOnly(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(guard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := g.Inspect("question", "Is the Secret Ballroom booked for 900 guests?")
	b, _ := g.Inspect("brief", "An awards gala for 400 guests at the Grand Hall in Oslo.")
	resp, err := p.Stream(context.Background(), Request{Prompt: ProposalChat, Data: []guard.Text{q, b}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Text, "400") || !strings.Contains(resp.Text, "Grand Hall") {
		t.Fatalf("the answer does not report the proposal: %q", resp.Text)
	}
	if strings.Contains(resp.Text, "Secret Ballroom") || strings.Contains(resp.Text, "900") || strings.Contains(resp.Text, "## Production plan") {
		t.Fatalf("the answer echoes the question or is a proposal: %q", resp.Text)
	}
}
