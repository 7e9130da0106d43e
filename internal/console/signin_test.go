package console

import "testing"

func TestMaskEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"alice@acme.example": "a•••@acme.example",
		"a@acme.example":     "a•••@acme.example",
		"élodie@x.example":   "é•••@x.example",
		"nonsense":           "•••",
	} {
		if got := maskEmail(in); got != want {
			t.Errorf("maskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
