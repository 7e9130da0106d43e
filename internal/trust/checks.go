package trust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
	"github.com/rampart-dev/rampart/internal/store"
)

// The ids of the controls, as the JSON's "id" and docs/trust-report.md
// name them.
const (
	IDRuntimeRole    = "runtime-role"
	IDRLSAudit       = "rls-audit"
	IDCrossTenant    = "cross-tenant-probe"
	IDAuditChain     = "audit-chain"
	IDKillSwitch     = "kill-switch"
	IDHeaders        = "security-headers"
	IDRateLimits     = "rate-limits"
	IDKeyRings       = "key-rings"
	IDRestoreDrill   = "restore-drill"
	IDGuard          = "prompt-injection-guard"
	IDVersions       = "versions"
	owaspInjection   = "LLM01:2025"
	owaspDisclosure  = "LLM02:2025"
	owaspOutput      = "LLM05:2025"
	owaspAgency      = "LLM06:2025"
	owaspPromptLeak  = "LLM07:2025"
	owaspConsumption = "LLM10:2025"
)

// Checks is the registry: every control the report exercises, in the
// order it prints them. A new control adds one entry.
var Checks = []Check{
	{ID: IDRuntimeRole, Title: "Runtime role cannot bypass tenant isolation",
		OWASP: []string{owaspDisclosure}, SOC2: []string{"CC6.1", "CC6.3"},
		Proves: "the login the process runs as is not superuser, has no BYPASSRLS, CREATEROLE or REPLICATION, owns nothing and reaches no such role",
		Limits: "the catalog as seen now; a role granted after the run is not seen",
		Run:    checkRuntimeRole},
	{ID: IDRLSAudit, Title: "Row-level security forced on every tenant table (rls-audit)",
		OWASP: []string{owaspDisclosure}, SOC2: []string{"CC6.1", "CC7.1"},
		Proves: "every table with organization_id has RLS enabled and forced, tenant-scoped policies per verb, no TRUNCATE or PUBLIC grant, and the read probe sees no row",
		Limits: "policy text is checked for the tenant function, not proved correct: the cross-tenant probe exercises it",
		Run:    checkRLSAudit},
	{ID: IDCrossTenant, Title: "Cross-tenant probe of every tenant table (forged claims, rolled back)",
		OWASP: []string{owaspDisclosure, owaspAgency}, SOC2: []string{"CC6.1", "C1.1"},
		Proves: "as the runtime role through the runtime pool, forged claims (another organization's, none, malformed) read, insert, update and delete no other tenant's row",
		Limits: "an empty table proves nothing for reads, updates and deletes (foreign_rows says how many rows there were to find); venue scoping inside one organization is not probed",
		Run:    checkCrossTenant},
	{ID: IDAuditChain, Title: "Audit log hash chain verifies",
		SOC2:   []string{"CC7.2", "CC7.3", "CC4.1"},
		Proves: "every event's MAC and every seal chain verify (as `rampart audit verify`): no event was changed, deleted or inserted outside the store",
		Limits: "truncating the newest seals with their events is caught only against an anchor file (`audit verify --anchors`)",
		Run:    checkAuditChain},
	{ID: IDKillSwitch, Title: "AI kill switch: state and a timed canary",
		OWASP: []string{owaspAgency, owaspConsumption}, SOC2: []string{"CC7.4"},
		Proves: "the switch state is readable, and a job-level switch on a synthetic job reaches a watcher over LISTEN/NOTIFY and cancels the job, in the measured time",
		Limits: "the canary's notice is sent on the service path, not by the ai_jobs trigger (tests cover the trigger); other processes' watchers are not observed",
		Run:    checkKillSwitch},
	{ID: IDHeaders, Title: "Security headers of a sample response",
		OWASP: []string{owaspOutput}, SOC2: []string{"CC6.6", "CC6.7"},
		Proves: "the real handler, served in-process, answers a page and an API call with a nonce CSP (fresh per response, matching the page), HSTS, nosniff, frame denial, referrer and permissions policies, COOP, no-store on /api",
		Limits: "a proxy in front of Rampart may add, change or strip headers; sample it from outside too",
		Run:    checkHeaders},
	{ID: IDRateLimits, Title: "Rate-limit tiers",
		OWASP: []string{owaspConsumption}, SOC2: []string{"CC6.6", "A1.1"},
		Proves: "every tier has a finite limit and states how far it is from the defaults, and which limiter holds the counts",
		Limits: "settings, not a load test: `make bench` measures refusals",
		Run:    checkRateLimits},
	{ID: IDKeyRings, Title: "Key rings: ids and ages (never keys)",
		OWASP: []string{owaspDisclosure}, SOC2: []string{"CC6.1", "C1.1"},
		Proves: "which keys sign and seal, when each was first and last used, that no data is sealed under a key the ring lacks, and that no signing key is older than the rotation bound",
		Limits: "keys given in the environment carry no creation date: their age is their first use in the data",
		Run:    checkKeyRings},
	{ID: IDRestoreDrill, Title: "Last restore drill",
		SOC2:   []string{"A1.2", "A1.3", "CC7.5"},
		Proves: "the last `rampart restore-drill` passed, how long the restore took and how old it is",
		Limits: "a drill proves the backup it restored, not today's",
		Run:    checkRestoreDrill},
	{ID: IDGuard, Title: "Prompt-injection guard scorecard",
		OWASP: []string{owaspInjection, owaspPromptLeak}, SOC2: []string{"CC7.2"},
		Proves: "the guard of this binary, at the running threshold, on the evaluation sets committed in the repository: recall and false-positive rate against the documented targets",
		Limits: "known attacks only; a novel injection may pass the guard, which is why output is sanitised and agents only propose",
		Run:    checkGuard},
	{ID: IDVersions, Title: "Versions: binary, Go, PostgreSQL, schema",
		SOC2:   []string{"CC8.1"},
		Proves: "the schema is at this binary's migration, on a supported PostgreSQL",
		Limits: "says nothing of the host's patch level",
		Run:    checkVersions},
}

// CheckIDs lists the ids of Checks, in order.
func CheckIDs() []string {
	ids := make([]string, len(Checks))
	for i, c := range Checks {
		ids[i] = c.ID
	}
	return ids
}

func checkRuntimeRole(ctx context.Context, env *Env) Result {
	snap, err := env.snapshot(ctx)
	if err != nil {
		return failed("read the catalog", err)
	}
	rep := rlsaudit.Evaluate(snap)
	var findings []rlsaudit.Finding
	for _, f := range rep.Findings {
		if f.Kind == rlsaudit.KindRole {
			findings = append(findings, f)
		}
	}
	var ev []string
	for _, r := range snap.Roles {
		via := "the login"
		if len(r.GrantedVia) > 0 {
			via = "via " + strings.Join(r.GrantedVia, ", ")
		}
		ev = append(ev, fmt.Sprintf("%s (%s): superuser %t, bypassrls %t, createrole %t, replication %t, owns %d objects",
			r.Name, via, r.Superuser, r.BypassRLS, r.CreateRole, r.Replication, r.OwnedObjects))
	}
	for _, f := range findings {
		ev = append(ev, "FINDING "+string(f.Check)+" on "+f.Object+": "+f.Message)
	}
	if len(findings) > 0 {
		return Result{Status: NotMet, Summary: fmt.Sprintf("runtime login %s: %d findings", snap.Login, len(findings)), Evidence: ev, Data: findings}
	}
	return Result{Status: Met, Summary: fmt.Sprintf("runtime login %s in database %s: not superuser, no BYPASSRLS, owns nothing, member of %s only through safe roles",
		snap.Login, snap.Database, rlsaudit.AppRole), Evidence: ev}
}

func checkRLSAudit(ctx context.Context, env *Env) Result {
	snap, err := env.snapshot(ctx)
	if err != nil {
		return failed("read the catalog", err)
	}
	rep := rlsaudit.Evaluate(snap)
	var findings []rlsaudit.Finding
	for _, f := range rep.Findings {
		if f.Kind != rlsaudit.KindRole {
			findings = append(findings, f)
		}
	}
	tenant := 0
	var ev []string
	for _, t := range rep.Tables {
		if !t.Tenant {
			continue
		}
		tenant++
		ev = append(ev, fmt.Sprintf("%s: rls %s, forced %s, select %s, insert %s, update %s, delete %s, probe %s → %s",
			t.Table, onOff(t.RLS), onOff(t.Forced), t.Select, t.Insert, t.Update, t.Delete, t.Probe, t.Verdict))
	}
	for _, f := range findings {
		ev = append(ev, "FINDING "+string(f.Check)+" on "+f.Object+": "+f.Message)
	}
	data := map[string]any{"tables": rep.Tables, "findings": nonNilFindings(findings)}
	if len(findings) > 0 {
		var objs []string
		for _, f := range findings {
			objs = append(objs, f.Object+" ("+string(f.Check)+")")
		}
		return Result{Status: NotMet, Summary: fmt.Sprintf("%d findings: %s", len(findings), strings.Join(objs, ", ")), Evidence: ev, Data: data}
	}
	return Result{Status: Met, Summary: fmt.Sprintf("%d tenant tables of %d audited: RLS enabled and forced, policies for every granted verb, read probe saw no row",
		tenant, len(rep.Tables)), Evidence: ev, Data: data}
}

func nonNilFindings(f []rlsaudit.Finding) []rlsaudit.Finding {
	if f == nil {
		return []rlsaudit.Finding{}
	}
	return f
}

// Identities returns the forged identities of the cross-tenant probe.
// attacker is a real organization when the install has one (its claims
// try to reach every other organization's rows); unknown-org-admin names
// an organization that does not exist, so every row of the install is
// another tenant's to it, even on an install with one organization.
func Identities(attacker uuid.UUID) ([]store.ForgedClaims, error) {
	sub, unknown := uuid.New(), uuid.New()
	enc := func(m map[string]any) (string, error) {
		b, err := json.Marshal(m)
		return string(b), err
	}
	type spec struct {
		name     string
		set      bool
		claims   map[string]any
		raw      string
		attacker bool
		unknown  bool
	}
	specs := []spec{
		{name: "no-claims"}, // first: before anything is set in the transaction
		{name: "empty-claims", set: true, raw: ""},
		{name: "other-org-admin", set: true, attacker: true, claims: map[string]any{
			"organization_id": attacker, "sub": sub, "role": rampart.RoleAdmin, "venue_codes": []string{}}},
		{name: "other-org-venue-manager", set: true, attacker: true, claims: map[string]any{
			"organization_id": attacker, "sub": sub, "role": rampart.RoleVenueManager, "venue_codes": []string{"HALL-A", "MAIN"}}},
		{name: "unknown-org-admin", set: true, unknown: true, claims: map[string]any{
			"organization_id": unknown, "sub": sub, "role": rampart.RoleAdmin, "venue_codes": []string{}}},
		{name: "no-organization", set: true, claims: map[string]any{"sub": sub, "role": rampart.RoleAdmin}},
		{name: "organization-null", set: true, claims: map[string]any{"organization_id": nil, "sub": sub, "role": rampart.RoleAdmin}},
		{name: "organization-not-uuid", set: true, claims: map[string]any{"organization_id": "' OR true --", "sub": sub, "role": rampart.RoleAdmin}},
		{name: "org-under-another-name", set: true, claims: map[string]any{"org_id": attacker, "sub": sub, "role": rampart.RoleAdmin}},
		{name: "not-json", set: true, raw: `{"organization_id": "`},
	}
	out := make([]store.ForgedClaims, 0, len(specs))
	for _, s := range specs {
		f := store.ForgedClaims{Name: s.name, Set: s.set, Claims: s.raw}
		if s.claims != nil {
			var err error
			if f.Claims, err = enc(s.claims); err != nil {
				return nil, err
			}
		}
		switch {
		case s.attacker:
			a := attacker
			f.Attacker = &a
		case s.unknown:
			u := unknown
			f.Attacker = &u
		}
		out = append(out, f)
	}
	return out, nil
}

// Verdicts of one probe statement.
const (
	outcomeSealed       = "sealed"
	outcomeLeak         = "LEAK"
	outcomeInconclusive = "inconclusive"
)

// judge classifies one statement's outcome. A row seen, changed or
// inserted is a leak; so is an integrity error (class 23), which the
// server raises only after row-level security let the row through (the
// WITH CHECK of an INSERT runs before constraints; a DELETE's foreign-key
// error means it reached a row). insufficient_privilege (42501: a policy's
// WITH CHECK or a missing grant) and data exceptions (class 22: the claims
// could not be read, the tenant function failed closed) are refusals.
// Anything else (a trigger raising first) proves nothing either way.
func judge(o store.ProbeOutcome) string {
	switch {
	case o.Skipped != "":
		return outcomeSealed
	case o.SQLState == "":
		if o.Rows == 0 {
			return outcomeSealed
		}
		return outcomeLeak
	case o.SQLState == "42501" || strings.HasPrefix(o.SQLState, "22"):
		return outcomeSealed
	case strings.HasPrefix(o.SQLState, "23"):
		return outcomeLeak
	case o.Verb == store.VerbSelect:
		return outcomeSealed // an error shows no row
	}
	return outcomeInconclusive
}

// ProbeTable is one table's line of the cross-tenant probe (the check's Data).
type ProbeTable struct {
	store.TableProbe
	Verdict string `json:"verdict"` // sealed, LEAK or inconclusive
}

func checkCrossTenant(ctx context.Context, env *Env) Result {
	snap, err := env.snapshot(ctx)
	if err != nil {
		return failed("read the catalog", err)
	}
	attacker, victim, real, err := env.Store.CrossTenantOrgs(ctx)
	if err != nil {
		return failed("pick the probe's organizations", err)
	}
	ids, err := Identities(attacker)
	if err != nil {
		return failed("build the forged claims", err)
	}
	probes, err := env.Store.CrossTenantProbe(ctx, snap.Tables, ids, victim)
	if err != nil {
		return failed("run the probe", err)
	}
	var names []string
	for _, id := range ids {
		names = append(names, id.Name)
	}
	ev := []string{
		fmt.Sprintf("identities: %s", strings.Join(names, ", ")),
		fmt.Sprintf("attacker organization %s, victim %s (%d of 2 are real organizations of this install)", attacker, victim, real),
		"every statement ran as " + rlsaudit.AppRole + " through the runtime pool, in one transaction that was rolled back",
	}
	var leaks, unsure, empty, ownOnly []string
	holding := 0
	statements := 0
	data := make([]ProbeTable, len(probes))
	for i, p := range probes {
		data[i] = ProbeTable{TableProbe: p, Verdict: outcomeSealed}
		for _, o := range p.Outcomes {
			statements++
			switch judge(o) {
			case outcomeLeak:
				data[i].Verdict = outcomeLeak
				leaks = append(leaks, fmt.Sprintf("%s: %s as %s reached %d rows%s", p.Table, o.Verb, o.Claims, o.Rows, sqlErr(o)))
			case outcomeInconclusive:
				if data[i].Verdict != outcomeLeak {
					data[i].Verdict = outcomeInconclusive
				}
				unsure = append(unsure, fmt.Sprintf("%s: %s as %s: %s", p.Table, o.Verb, o.Claims, strings.TrimPrefix(sqlErr(o), ", ")))
			}
		}
		switch {
		case p.Rows == 0:
			empty = append(empty, p.Table)
		case p.ForeignRows == 0:
			ownOnly = append(ownOnly, p.Table)
			holding++
		case p.Rows > 0:
			holding++
		}
	}
	for _, l := range leaks {
		ev = append(ev, "LEAK "+l)
	}
	for _, u := range unsure {
		ev = append(ev, "INCONCLUSIVE "+u)
	}
	if len(empty) > 0 {
		ev = append(ev, fmt.Sprintf("%d tables are empty (reads, updates and deletes there prove nothing; inserts still do): %s", len(empty), strings.Join(empty, ", ")))
	}
	if len(ownOnly) > 0 {
		ev = append(ev, fmt.Sprintf("%d tables hold only the attacker organization's rows (only the identities without it had targets there): %s", len(ownOnly), strings.Join(ownOnly, ", ")))
	}
	switch {
	case len(leaks) > 0:
		return Result{Status: NotMet, Summary: fmt.Sprintf("%d of %d statements reached another tenant's rows", len(leaks), statements), Evidence: ev, Data: data}
	case len(unsure) > 0:
		return Result{Status: NotMet, Summary: fmt.Sprintf("%d of %d statements were inconclusive (see evidence)", len(unsure), statements), Evidence: ev, Data: data}
	}
	return Result{Status: Met, Summary: fmt.Sprintf("%d tables (%d holding rows) × %d forged identities × 4 verbs: %d statements, none reached another tenant's row; all rolled back",
		len(probes), holding, len(ids), statements), Evidence: ev, Data: data}
}

func sqlErr(o store.ProbeOutcome) string {
	if o.SQLState == "" {
		return ""
	}
	return fmt.Sprintf(", SQLSTATE %s %s", o.SQLState, o.Error)
}

func checkAuditChain(ctx context.Context, env *Env) Result {
	rep, err := env.Store.Audit().Verify(ctx, nil, nil)
	if err != nil {
		if rampart.ErrorKind(err) == rampart.KindUnavailable {
			return Result{Status: NotConfigured, Summary: "the service path is not configured: " + err.Error()}
		}
		return failed("verify the audit log", err)
	}
	var ev []string
	var problems []string
	for _, c := range rep.Chains {
		status := "ok"
		if !c.OK() {
			status = "BROKEN"
		}
		head := "none yet"
		if len(c.HeadMAC) > 0 {
			head = fmt.Sprintf("%x", []byte(c.HeadMAC))
		}
		ev = append(ev, fmt.Sprintf("chain %s: %s, %d events (%d sealed in %d seals, %d pending), head seal MAC %s",
			c.Chain, status, c.Events, c.Sealed, c.Seals, c.Pending, head))
		for _, p := range c.Problems {
			problems = append(problems, p.String())
		}
	}
	for _, p := range problems {
		ev = append(ev, "PROBLEM "+p)
	}
	if !rep.OK() {
		first := "unknown"
		if len(problems) > 0 {
			first = problems[0]
		}
		return Result{Status: NotMet, Summary: fmt.Sprintf("%d problems; first: %s", len(problems), first), Evidence: ev}
	}
	return Result{Status: Met, Summary: fmt.Sprintf("%d events in %d chains verify (MACs and seal chains)", rep.Events, len(rep.Chains)), Evidence: ev}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// errorsAs is errors.As for a target type (a small helper for the checks).
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
