package rlsaudit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Summary returns the report's one-line verdict, e.g.
// "rls-audit: PASS (6 tables, 0 findings)" or "rls-audit: FAIL (2 findings)".
func (r Report) Summary() string {
	if r.OK() {
		return fmt.Sprintf("rls-audit: PASS (%s, %s)", plural(int64(len(r.Tables)), "table"), plural(int64(len(r.Findings)), "finding"))
	}
	return fmt.Sprintf("rls-audit: FAIL (%s)", plural(int64(len(r.Findings)), "finding"))
}

// MarshalJSON encodes the report with its verdict as "ok", so a JSON
// consumer need not re-derive it from the findings.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // drops the method set, so no recursion
	return json.Marshal(struct {
		OK bool `json:"ok"`
		plain
	}{r.OK(), plain(r)})
}

// WriteText prints the report for a terminal: an aligned table of every
// table's status, the findings (each with its fix), the probes that could
// not run and the summary line.
func (r Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	if r.Login != "" || r.Database != "" {
		ew.printf("database %s, runtime login %s\n\n", orDash(r.Database), orDash(r.Login))
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tTENANT\tORG COLUMN\tRLS\tFORCED\tSELECT\tINSERT\tUPDATE\tDELETE\tTRUNCATE\tPUBLIC\tPROBE\tVERDICT")
	for _, t := range r.Tables {
		public := "-"
		if len(t.PublicGrants) > 0 {
			public = strings.Join(t.PublicGrants, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			t.Table, yesNo(t.Tenant), t.OrgColumn, onOff(t.RLS), onOff(t.Forced),
			t.Select, t.Insert, t.Update, t.Delete, t.Truncate, public, orDash(t.Probe), t.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if len(r.Findings) > 0 {
		ew.printf("\nfindings:\n")
		for _, f := range r.Findings {
			ew.printf("  %s %s %s [%s]: %s\n", strings.ToUpper(string(f.Severity)), f.Kind, f.Object, f.Check, f.Message)
		}
	}
	first := true
	for _, t := range r.Tables {
		if t.ProbeSkipped == "" {
			continue
		}
		if first {
			ew.printf("\nprobes that could not run (they prove nothing about these tables):\n")
			first = false
		}
		ew.printf("  %s: %s\n", t.Table, t.ProbeSkipped)
	}
	ew.printf("\n%s\n", r.Summary())
	if ew.err != nil {
		return fmt.Errorf("write report: %w", ew.err)
	}
	return nil
}

// errWriter keeps the first write error so the printing code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(e, format, args...)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
