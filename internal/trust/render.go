package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"

	"github.com/rampart-dev/rampart/internal/audit"
)

// The output formats.
const (
	FormatJSON     = "json"
	FormatMarkdown = "md"
	FormatHTML     = "html"
)

// Formats lists the output formats.
var Formats = []string{FormatMarkdown, FormatHTML, FormatJSON}

// SignatureAlgorithm names the MAC of a signed report.
const SignatureAlgorithm = "HMAC-SHA256"

// Signature is a report's signature: the audit key's id and the MAC (hex)
// of the signed bytes (see Envelope and the trailer of md and html).
type Signature struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id"`
	MAC       string `json:"mac"`
}

// Envelope is the JSON format: the report and its signature. The MAC
// covers the report's compact JSON encoding (json.Compact of "report"), so
// re-indenting the file does not break it and changing any value does.
type Envelope struct {
	Report    json.RawMessage `json:"report"`
	Signature Signature       `json:"signature"`
}

// macKind binds a MAC to the format: a Markdown report's MAC does not
// verify an HTML file with the same bytes.
func macKind(format string) string { return "trust-report." + format }

// trailerRE finds the signature trailer of a Markdown or HTML report: the
// last line of the file.
var trailerRE = regexp.MustCompile(`\n<!-- rampart-signature: v1 alg=HMAC-SHA256 kid=([A-Za-z0-9_-]{1,32}) mac=([0-9a-f]{64}) -->\n?$`)

// Signed is a rendered, signed report.
type Signed struct {
	Bytes  []byte
	Format string
	KeyID  string
	// SHA256 is the hex digest of Bytes: the audit event records it.
	SHA256 string
}

// Render writes the report in format and signs it with keys' signing key.
func Render(rep Report, format string, keys *audit.Keyring) (Signed, error) {
	if keys == nil {
		return Signed{}, errors.New("the audit keys are required to sign the report")
	}
	var out []byte
	var kid string
	switch format {
	case FormatJSON:
		body, err := json.Marshal(rep)
		if err != nil {
			return Signed{}, err
		}
		var mac []byte
		kid, mac = keys.SignDocument(macKind(format), body)
		env := Envelope{Report: body, Signature: Signature{Algorithm: SignatureAlgorithm, KeyID: kid, MAC: hex.EncodeToString(mac)}}
		if out, err = json.MarshalIndent(env, "", "  "); err != nil {
			return Signed{}, err
		}
		out = append(out, '\n')
	case FormatMarkdown, FormatHTML:
		var b bytes.Buffer
		var err error
		if format == FormatMarkdown {
			err = writeMarkdown(&b, rep)
		} else {
			err = writeHTML(&b, rep)
		}
		if err != nil {
			return Signed{}, err
		}
		body := b.Bytes()
		if !bytes.HasSuffix(body, []byte("\n")) {
			body = append(body, '\n')
		}
		var mac []byte
		kid, mac = keys.SignDocument(macKind(format), body)
		out = append(body, fmt.Sprintf("<!-- rampart-signature: v1 alg=%s kid=%s mac=%x -->\n", SignatureAlgorithm, kid, mac)...)
	default:
		return Signed{}, fmt.Errorf("unknown format %q: use md, html or json", format)
	}
	sum := sha256.Sum256(out)
	return Signed{Bytes: out, Format: format, KeyID: kid, SHA256: hex.EncodeToString(sum[:])}, nil
}

// Verified is what Verify found.
type Verified struct {
	Format string
	KeyID  string
	// Report is the report of a JSON file (nil for md and html).
	Report *Report
}

// Verify checks a report file's signature with keys. It returns an error
// naming what is wrong: no signature, an unknown key id, or a MAC that
// does not match (the file was changed after signing).
func Verify(file []byte, keys *audit.Keyring) (Verified, error) {
	if keys == nil {
		return Verified{}, errors.New("the audit keys are required to verify a report")
	}
	if t := bytes.TrimSpace(file); len(t) > 0 && t[0] == '{' {
		var env Envelope
		if err := json.Unmarshal(file, &env); err != nil {
			return Verified{}, fmt.Errorf("not a JSON trust report: %w", err)
		}
		if env.Signature.Algorithm != SignatureAlgorithm || len(env.Report) == 0 {
			return Verified{}, errors.New("the JSON report carries no HMAC-SHA256 signature")
		}
		var body bytes.Buffer
		if err := json.Compact(&body, env.Report); err != nil {
			return Verified{}, fmt.Errorf("the report is not valid JSON: %w", err)
		}
		mac, err := hex.DecodeString(env.Signature.MAC)
		if err != nil {
			return Verified{}, errors.New("the signature's MAC is not hex")
		}
		if err := checkMAC(keys, FormatJSON, env.Signature.KeyID, body.Bytes(), mac); err != nil {
			return Verified{}, err
		}
		var rep Report
		if err := json.Unmarshal(env.Report, &rep); err != nil {
			return Verified{}, fmt.Errorf("the signed report does not decode: %w", err)
		}
		return Verified{Format: FormatJSON, KeyID: env.Signature.KeyID, Report: &rep}, nil
	}
	m := trailerRE.FindSubmatchIndex(file)
	if m == nil {
		return Verified{}, errors.New("no signature trailer (<!-- rampart-signature: … -->) at the end of the file")
	}
	body := file[:m[0]+1] // the signed bytes end with the newline before the trailer
	kid := string(file[m[2]:m[3]])
	mac, _ := hex.DecodeString(string(file[m[4]:m[5]]))
	format := FormatMarkdown
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("<!DOCTYPE html>")) {
		format = FormatHTML
	}
	if err := checkMAC(keys, format, kid, body, mac); err != nil {
		return Verified{}, err
	}
	return Verified{Format: format, KeyID: kid}, nil
}

func checkMAC(keys *audit.Keyring, format, kid string, body, mac []byte) error {
	known := false
	for _, id := range keys.IDs() {
		known = known || id == kid
	}
	if !known {
		return fmt.Errorf("signed with audit key %q, which the keyring does not hold", kid)
	}
	if !keys.CheckDocument(macKind(format), kid, body, mac) {
		return errors.New("the signature does not match: the report was changed after it was signed")
	}
	return nil
}

func statusMark(s Status) string {
	switch s {
	case Met:
		return "✅ met"
	case NotMet:
		return "❌ not met"
	}
	return "➖ not configured"
}

// mdEscape keeps a value from breaking a Markdown table cell or line.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

func writeMarkdown(w io.Writer, rep Report) error {
	ew := &errWriter{w: w}
	ew.printf("# Rampart trust report\n\n")
	ew.printf("Report `%s`, generated %s in %.1f s by rampart %s against database `%s` (runtime login `%s`).\n\n",
		rep.ID, rep.GeneratedAt.Format("2006-01-02 15:04:05 MST"), rep.Seconds, mdEscape(orDash(rep.Binary)), mdEscape(orDash(rep.Database)), mdEscape(orDash(rep.Login)))
	ew.printf("**%d met, %d not met, %d not configured.**\n\n", rep.Summary.Met, rep.Summary.NotMet, rep.Summary.NotConfigured)
	ew.printf("| control | status | OWASP LLM 2025 | SOC 2 | summary |\n|---|---|---|---|---|\n")
	for _, c := range rep.Controls {
		ew.printf("| %s | %s | %s | %s | %s |\n", mdEscape(c.Title), statusMark(c.Status), strings.Join(c.OWASP, ", "), strings.Join(c.SOC2, ", "), mdEscape(c.Summary))
	}
	for _, c := range rep.Controls {
		ew.printf("\n## %s — %s\n\n`%s` · %.3f s\n\n%s\n\n", mdEscape(c.Title), statusMark(c.Status), c.ID, c.Seconds, mdEscape(c.Summary))
		for _, e := range c.Evidence {
			ew.printf("- %s\n", mdEscape(e))
		}
	}
	ew.printf("\nThe JSON form (`--format json`) carries the structured evidence of every control. Check this file with `rampart trust-report verify FILE`.\n")
	return ew.err
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"join": strings.Join, "mark": statusMark,
	"class": func(s Status) string { return strings.ReplaceAll(string(s), " ", "-") },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Rampart trust report {{.ID}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}.met{color:#075e07}.not-met{color:#a00;font-weight:bold}.not-configured{color:#666}li{font-family:ui-monospace,monospace;font-size:.85rem}</style>
</head><body>
<h1>Rampart trust report</h1>
<p>Report <code>{{.ID}}</code>, generated {{.GeneratedAt.Format "2006-01-02 15:04:05 MST"}} by rampart {{.Binary}} against database <code>{{.Database}}</code> (runtime login <code>{{.Login}}</code>).</p>
<p><strong>{{.Summary.Met}} met, {{.Summary.NotMet}} not met, {{.Summary.NotConfigured}} not configured.</strong></p>
<table><tr><th>control</th><th>status</th><th>OWASP LLM 2025</th><th>SOC 2</th><th>summary</th></tr>
{{range .Controls}}<tr><td><a href="#{{.ID}}">{{.Title}}</a></td><td class="{{class .Status}}">{{mark .Status}}</td><td>{{join .OWASP ", "}}</td><td>{{join .SOC2 ", "}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>
{{range .Controls}}<h2 id="{{.ID}}">{{.Title}} — <span class="{{class .Status}}">{{mark .Status}}</span></h2>
<p><code>{{.ID}}</code> · {{printf "%.3f" .Seconds}} s</p><p>{{.Summary}}</p>
<ul>{{range .Evidence}}<li>{{.}}</li>{{end}}</ul>
{{end}}<p>Check this file with <code>rampart trust-report verify FILE</code>.</p>
</body></html>
`))

func writeHTML(w io.Writer, rep Report) error { return htmlReport.Execute(w, rep) }

// errWriter keeps the first write error so the printing code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}
