package trust_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/trust"
)

func sampleReport() trust.Report {
	return trust.Report{Format: trust.FormatVersion, ID: "r1", GeneratedAt: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC), Binary: "test",
		Summary: trust.Summary{Met: 1, NotMet: 1},
		Controls: []trust.Result{
			{ID: "a", Title: "A <b>", Status: trust.Met, Summary: "fine | really", Evidence: []string{"x"}, OWASP: []string{}, SOC2: []string{"CC6.1"}},
			{ID: "b", Title: "B", Status: trust.NotMet, Summary: "broken", Evidence: []string{"<script>alert(1)</script>"}, OWASP: []string{"LLM01:2025"}, SOC2: []string{"CC7.2"}},
		}}
}

// TestSignedReportVerifiesAndTamperingIsCaught: every format verifies as
// written; one changed byte, a re-signing under an unknown key or a
// missing signature does not; the JSON form survives re-indentation.
func TestSignedReportVerifiesAndTamperingIsCaught(t *testing.T) {
	keys := testKeys(t)
	other, err := audit.NewKeyring([]audit.Key{{ID: "other", Secret: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range trust.Formats {
		t.Run(format, func(t *testing.T) {
			s, err := trust.Render(sampleReport(), format, keys)
			if err != nil {
				t.Fatal(err)
			}
			if s.KeyID != "test" || len(s.SHA256) != 64 {
				t.Errorf("signed: key %q, digest %q", s.KeyID, s.SHA256)
			}
			v, err := trust.Verify(s.Bytes, keys)
			if err != nil || v.Format != format || v.KeyID != "test" {
				t.Fatalf("verify as written: %+v, %v", v, err)
			}
			if format == trust.FormatJSON && (v.Report == nil || v.Report.ID != "r1") {
				t.Errorf("verified JSON report = %+v", v.Report)
			}
			if format == trust.FormatHTML && strings.Contains(string(s.Bytes), "<script>alert") {
				t.Error("HTML report does not escape evidence")
			}
			tampered := bytes.Replace(s.Bytes, []byte("broken"), []byte("fine!!"), 1)
			if bytes.Equal(tampered, s.Bytes) {
				t.Fatal("nothing to tamper with")
			}
			if _, err := trust.Verify(tampered, keys); err == nil || !strings.Contains(err.Error(), "changed after it was signed") {
				t.Errorf("tampered report: %v", err)
			}
			if _, err := trust.Verify(s.Bytes, other); err == nil || !strings.Contains(err.Error(), `"test"`) {
				t.Errorf("verify with a keyring without the key: %v", err)
			}
			if format != trust.FormatJSON {
				body := s.Bytes[:bytes.LastIndex(s.Bytes, []byte("<!-- rampart-signature"))]
				if _, err := trust.Verify(body, keys); err == nil {
					t.Error("a report without its trailer verifies")
				}
			}
		})
	}
	// Re-indenting the JSON keeps it valid; changing a status does not.
	s, _ := trust.Render(sampleReport(), trust.FormatJSON, keys)
	compact := bytes.ReplaceAll(bytes.ReplaceAll(s.Bytes, []byte("\n  "), []byte("\n")), []byte("\n"), nil)
	if _, err := trust.Verify(compact, keys); err != nil {
		t.Errorf("re-indented JSON: %v", err)
	}
	flipped := bytes.Replace(s.Bytes, []byte(`\"status\":\"not met\"`), []byte(`\"status\":\"met\"`), 1)
	flipped = bytes.Replace(flipped, []byte(`"status": "not met"`), []byte(`"status": "met"`), 1)
	if bytes.Equal(flipped, s.Bytes) {
		t.Fatal("status not found in the JSON")
	}
	if _, err := trust.Verify(flipped, keys); err == nil {
		t.Error("a JSON report whose status was flipped verifies")
	}
}
