package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

var auditVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarAuditKeys, config.VarAuditRetain}

func runAudit(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("audit", "audit verify|export|seal|purge|anchor [flags]", `
  rampart audit verify [--org ORG] [--anchors FILE] [--json]
      Recompute every event's MAC and the seal chain of every organization
      (or one); exit 1 naming the first changed, deleted or inserted event.
      With --anchors, also check that every anchored chain still holds its
      anchored head: deleting the newest seals with their events
      (truncation) leaves a valid, shorter chain that only this detects.
  rampart audit anchor [--out FILE]
      Write the current head (newest seal) of every chain, per organization
      and the platform chain, as JSON to stdout or FILE (replaced
      atomically). Keep it outside the database host; head MACs are not
      secret. Run "rampart audit seal" first to cover the newest events.
  rampart audit export --org ORG [--since T] [--until T] [--actor ID] [--action A] [-o FILE]
      Write the organization's events as CSV (RFC 4180, formula-safe) to
      stdout or FILE. Times are RFC 3339 (2026-01-31T00:00:00Z) or dates.
  rampart audit seal
      Seal every event committed so far into the hash chain (serve does
      this every RAMPART_AUDIT_SEAL_INTERVAL).
  rampart audit purge
      Run retention now: delete sealed events older than
      RAMPART_AUDIT_RETENTION_MONTHS, leaving a checkpoint (serve runs it daily).

ORG is an organization's id or its slug. Exit codes: 0 ok, 1 failed
(verification found a problem), 2 usage (bad flags, unknown organization,
unreadable or invalid anchor file).

These run on the service path: with DATABASE_URL they need
RAMPART_SERVICE_DATABASE_URL and RAMPART_AUDIT_KEYS.`)
	loader := config.NewLoader(fs, m.Getenv, auditVars...)
	orgFlag := fs.String("org", "", "verify, export: the organization's id or slug")
	jsonOut := fs.Bool("json", false, "verify: print the report as JSON")
	anchorsFile := fs.String("anchors", "", "verify: check the chains against this anchor file (from `rampart audit anchor`)")
	since := fs.String("since", "", "export: events at or after this time")
	until := fs.String("until", "", "export: events before this time")
	actor := fs.String("actor", "", "export: only this actor id")
	action := fs.String("action", "", "export: only this action")
	var output string
	fs.StringVar(&output, "o", "", "export, anchor: write to this file instead of stdout")
	fs.StringVar(&output, "out", "", "the same as -o")
	cfg, code, done := m.load("audit", fs, loader, args, 1)
	if done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(m.Stderr, "rampart audit: usage: rampart audit verify|export|seal|purge|anchor (see --help)")
		return exitUsage
	}
	sub := fs.Arg(0)
	// Flags apply to some subcommands only: refuse the others rather than
	// ignore them (`seal --org acme` does not seal one organization).
	allowed := map[string][]string{
		"verify": {"org", "json", "anchors"},
		"export": {"org", "since", "until", "actor", "action", "o", "out"},
		"anchor": {"o", "out"},
		"seal":   {},
		"purge":  {},
	}
	flags, known := allowed[sub]
	if !known {
		fmt.Fprintf(m.Stderr, "rampart audit: unknown subcommand %q: use verify, export, seal, purge or anchor\n", sub)
		return exitUsage
	}
	var misplaced string
	fs.Visit(func(f *flag.Flag) {
		if misplaced == "" && !slices.Contains(flags, f.Name) && !loaderFlag(f.Name) {
			misplaced = f.Name
		}
	})
	if misplaced != "" {
		fmt.Fprintf(m.Stderr, "rampart audit %s: --%s does not apply to %s\n", sub, misplaced, sub)
		return exitUsage
	}
	var f store.AuditFilter
	var anchors *audit.Anchors
	switch sub {
	case "verify":
		if *anchorsFile != "" {
			a, err := readAnchors(*anchorsFile)
			if err != nil {
				fmt.Fprintf(m.Stderr, "rampart audit verify: --anchors %s: %v\n", *anchorsFile, err)
				return exitUsage
			}
			anchors = &a
		}
	case "export":
		if *orgFlag == "" {
			fmt.Fprintln(m.Stderr, "rampart audit export: --org is required")
			return exitUsage
		}
		var err error
		if f.Since, err = parseTime(*since); err != nil {
			fmt.Fprintf(m.Stderr, "rampart audit export: --since: %v\n", err)
			return exitUsage
		}
		if f.Until, err = parseTime(*until); err != nil {
			fmt.Fprintf(m.Stderr, "rampart audit export: --until: %v\n", err)
			return exitUsage
		}
		if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
			fmt.Fprintln(m.Stderr, "rampart audit export: --since must be before --until")
			return exitUsage
		}
		f.ActorID, f.Action = *actor, *action
		if f.Action != "" && !validAction(f.Action) {
			fmt.Fprintf(m.Stderr, "rampart audit export: --action %q is not an audit action\n", f.Action)
			return exitUsage
		}
	}

	st, closeStore, err := openServiceStore(ctx, m, cfg, "audit", "rampart audit "+sub)
	if err != nil {
		return m.fail("audit", err)
	}
	defer closeStore()

	var org *uuid.UUID
	if *orgFlag != "" {
		o, err := resolveOrg(ctx, st, *orgFlag)
		switch {
		case err == nil:
			org = &o.ID
		case sub == "verify" && rampart.ErrorKind(err) == rampart.KindNotFound && isUUID(*orgFlag):
			// The trail outlives its organization: an organization that is
			// gone can still have its chain verified by id.
			id := uuid.MustParse(*orgFlag)
			org = &id
		default:
			return m.orgFail("audit "+sub, err)
		}
	}

	switch sub {
	case "seal":
		// A transaction left open anywhere in the cluster holds the seal
		// horizon back: give up after two minutes and say why.
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		n, err := st.Audit().SealNow(sctx)
		if err != nil {
			return m.fail("audit seal", err)
		}
		fmt.Fprintf(m.Stdout, "sealed %d events\n", n)
	case "purge":
		res, err := st.Audit().Purge(ctx, time.Now().AddDate(0, -cfg.AuditRetentionMonths, 0))
		if err != nil {
			return m.fail("audit purge", err)
		}
		for _, r := range res {
			fmt.Fprintf(m.Stdout, "purged %d events of chain %s (through seal %d)\n", r.Events, r.Chain, r.ThroughSeal)
		}
		if len(res) == 0 {
			fmt.Fprintf(m.Stdout, "nothing older than %d months to purge\n", cfg.AuditRetentionMonths)
		}
	case "anchor":
		return m.auditAnchor(ctx, st, output)
	case "export":
		return m.auditExport(ctx, st, *org, f, output)
	case "verify":
		return m.auditVerify(ctx, st, org, anchors, *anchorsFile, *jsonOut)
	}
	return exitOK
}

// resolveOrg is the one reading of every --org flag (audit, killswitch):
// an organization's id or its slug (store.Tx.ResolveOrganization). Its
// errors name the value.
func resolveOrg(ctx context.Context, st *store.Store, ref string) (rampart.Organization, error) {
	org, err := st.ResolveOrganization(ctx, ref)
	if err != nil {
		return org, fmt.Errorf("--org %q: %w", ref, err)
	}
	return org, nil
}

// orgFail reports a resolveOrg error: an organization that does not exist
// (or is ambiguous) is a usage error, anything else a failure.
func (m *Main) orgFail(cmd string, err error) int {
	switch rampart.ErrorKind(err) {
	case rampart.KindNotFound, rampart.KindInvalid, rampart.KindConflict:
		fmt.Fprintf(m.Stderr, "rampart %s: %v\n", cmd, err)
		return exitUsage
	}
	return m.fail(cmd, err)
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

// loaderFlag reports whether a flag is a configuration flag (shared by
// every subcommand) rather than one of the audit command's own.
func loaderFlag(name string) bool {
	for _, v := range auditVars {
		if v.Flag == name {
			return true
		}
	}
	return false
}

// readAnchors reads and checks an anchor file.
func readAnchors(path string) (audit.Anchors, error) {
	f, err := os.Open(path)
	if err != nil {
		return audit.Anchors{}, err
	}
	defer f.Close()
	return audit.ParseAnchors(f)
}

// auditAnchor writes every chain's head to output (atomically) or stdout.
func (m *Main) auditAnchor(ctx context.Context, st *store.Store, output string) int {
	anchors, unsealed, err := st.Audit().Anchors(ctx)
	if err != nil {
		return m.fail("audit anchor", err)
	}
	if output == "" {
		if err := anchors.Encode(m.Stdout); err != nil {
			return m.fail("audit anchor", err)
		}
	} else if err := writeFileAtomic(output, 0o644, anchors.Encode); err != nil {
		return m.fail("audit anchor", err)
	}
	fmt.Fprintf(m.Stderr, "anchored %d chains at %s\n", len(anchors.Chains), anchors.CreatedAt.Format(time.RFC3339))
	for _, c := range unsealed {
		fmt.Fprintf(m.Stderr, "  chain %s has no seal yet and is not anchored (run `rampart audit seal` first)\n", c)
	}
	return exitOK
}

// writeFileAtomic writes path through a temporary file in the same
// directory, synced and renamed at the end: readers see the old file or
// the whole new one, and a failure leaves no partial file.
func writeFileAtomic(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rampart-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (m *Main) auditVerify(ctx context.Context, st *store.Store, org *uuid.UUID, anchors *audit.Anchors, anchorsFile string, jsonOut bool) int {
	shown := false
	progress := func(done, total int64) {
		if total < 100_000 {
			return
		}
		shown = true
		fmt.Fprintf(m.Stderr, "\rverifying audit log: %d/%d events (%d%%)", done, total, done*100/max(total, 1))
	}
	start := time.Now()
	rep, err := st.Audit().VerifyAnchored(ctx, org, anchors, progress)
	if shown {
		fmt.Fprintln(m.Stderr)
	}
	if err != nil {
		if anchors != nil && rampart.ErrorKind(err) == rampart.KindInvalid {
			// The anchor file does not fit this database.
			fmt.Fprintf(m.Stderr, "rampart audit verify: --anchors %s: %v\n", anchorsFile, err)
			return exitUsage
		}
		return m.fail("audit verify", err)
	}
	elapsed := time.Since(start)
	if jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"ok": rep.OK(), "events": rep.Events, "chains": rep.Chains, "seconds": elapsed.Seconds()})
	} else {
		for _, c := range rep.Chains {
			status := "ok"
			if !c.OK() {
				status = "BROKEN"
			}
			anchored := ""
			switch {
			case c.AnchoredSeal != 0:
				anchored = fmt.Sprintf(", anchored at seal %d", c.AnchoredSeal)
			case anchors != nil:
				anchored = ", not anchored (newer than the anchor file)"
			}
			fmt.Fprintf(m.Stdout, "%-36s %-6s %d events (%d sealed in %d seals, %d pending), head %x%s\n",
				c.Chain, status, c.Events, c.Sealed, c.Seals, c.Pending, []byte(c.HeadMAC), anchored)
			for _, p := range c.Purges {
				fmt.Fprintf(m.Stdout, "  retention purged %d events (seals ≤ %d, older than %s) at %s\n",
					p.Events, p.ThroughSeal, p.Before.Format(time.RFC3339), p.At.Format(time.RFC3339))
			}
			if c.Erased > 0 {
				// Data subject erasure (docs/privacy.md): not a problem.
				more := ""
				if int64(len(c.ErasedIDs)) < c.Erased {
					more = ", …"
				}
				fmt.Fprintf(m.Stdout, "  erased: %d events had their personal fields erased on request; everything else in them verified (events %s%s)\n",
					c.Erased, joinIDs(c.ErasedIDs), more)
			}
		}
		rate := float64(rep.Events) / max(elapsed.Seconds(), 1e-9)
		fmt.Fprintf(m.Stdout, "verified %d events in %d chains in %s (%.0f events/s)\n", rep.Events, len(rep.Chains), elapsed.Round(time.Millisecond), rate)
	}
	if !rep.OK() {
		var all []string
		for _, c := range rep.Chains {
			for _, p := range c.Problems {
				all = append(all, p.String())
			}
		}
		fmt.Fprintf(m.Stderr, "rampart audit verify: FAILED: first problem: %s\n", all[0])
		if len(all) > 1 {
			fmt.Fprintf(m.Stderr, "  and %d more:\n    %s\n", len(all)-1, strings.Join(all[1:], "\n    "))
		}
		return exitFail
	}
	return exitOK
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

func (m *Main) auditExport(ctx context.Context, st *store.Store, org uuid.UUID, f store.AuditFilter, output string) int {
	n := 0
	write := func(w io.Writer) error {
		cw, err := audit.NewCSVWriter(w)
		if err != nil {
			return err
		}
		err = st.Audit().Export(ctx, org, f, "audit export (CLI)", func(s *audit.Stored) error {
			n++
			return cw.Write(s)
		})
		if err != nil {
			return err
		}
		return cw.Flush()
	}
	var err error
	if output == "" {
		err = write(m.Stdout)
	} else {
		// No half file on failure; the events are the organization's, so
		// the file is the operator's alone.
		err = writeFileAtomic(output, 0o600, write)
	}
	if err != nil {
		return m.fail("audit export", err)
	}
	fmt.Fprintf(m.Stderr, "exported %d events\n", n)
	return exitOK
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (2026-01-31T00:00:00Z) or a date (2026-01-31)", s)
}

func validAction(a string) bool {
	for _, x := range audit.Actions {
		if x == a {
			return true
		}
	}
	return false
}

// loadAuditKeys returns the audit keyring from RAMPART_AUDIT_KEYS or, in
// embedded mode, the generated key file.
func loadAuditKeys(cfg config.Config) (*audit.Keyring, error) {
	var keys auth.Keys
	switch {
	case cfg.AuditKeys != "":
		k, err := auth.ParseSessionKeys(cfg.AuditKeys)
		if err != nil {
			return nil, fmt.Errorf("invalid RAMPART_AUDIT_KEYS (--audit-keys): %w", err)
		}
		keys.Audit = k
	case cfg.Embedded():
		var err error
		if keys, err = auth.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "secrets", "keys.json")); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("RAMPART_AUDIT_KEYS is required with DATABASE_URL")
	}
	return auditKeyring(keys)
}
