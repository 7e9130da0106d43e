package console

import (
	"net/url"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestCrewPatchNeverErasesARate: an edit form that does not ask for a
// rate change — the form of a role without full cost access has no rate
// fields at all, a cost role's may leave the amount empty or unchanged —
// yields a patch that does not touch the rate, whatever rate is stored
// (or unreadable); only a typed rate or clear_day_rate=1 does.
func TestCrewPatchNeverErasesARate(t *testing.T) {
	t.Parallel()
	rate := &rampart.Money{Minor: 98765, Currency: "EUR"}
	for _, c := range []struct {
		form    url.Values
		current *rampart.Money
		touches bool
	}{
		{url.Values{"name": {"Sam"}, "skills": {"rigging"}, "certifications": {""}, "availability": {""}}, nil, false},
		{url.Values{"name": {"Sam"}, "skills": {"rigging"}, "certifications": {""}, "availability": {""}}, rate, false},
		{url.Values{"name": {"Sam"}, "day_rate": {""}, "currency": {"EUR"}}, rate, false},
		{url.Values{"name": {"Sam"}, "day_rate": {"   "}, "currency": {""}}, nil, false},
		{url.Values{"name": {"Sam"}, "day_rate": {"987.65"}, "currency": {"eur"}}, rate, false},
		{url.Values{"name": {"Sam"}, "clear_day_rate": {"0"}}, rate, false},
		{url.Values{"name": {"Sam"}, "day_rate": {"987.66"}, "currency": {"EUR"}}, rate, true},
		{url.Values{"name": {"Sam"}, "day_rate": {"987.65"}, "currency": {"EUR"}}, nil, true},
		{url.Values{"clear_day_rate": {"1"}}, rate, true},
	} {
		p, _, err := crewPatch(c.form, c.current)
		if err != nil {
			t.Errorf("%v: %v", c.form, err)
			continue
		}
		if p.TouchesCost() != c.touches {
			t.Errorf("%v (stored %v): the patch touches the rate: %v, want %v", c.form, c.current, p.TouchesCost(), c.touches)
		}
		if _, ok := c.form["skills"]; !ok && p.Skills != nil {
			t.Errorf("%v: a field the form did not carry is replaced", c.form)
		}
	}
}
