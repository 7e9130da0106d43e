package privacy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/privacy"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// world is two organizations and several people with data: acme's
// producer (the subject, only in acme), acme's executive producer
// (another person, same organization), acme's stakeholder (also a member
// of globex), and globex's producer (another organization).
type world struct {
	*storetest.Fixture
	subject, other, shared, globexProducer rampart.Claims
	subjectEmail                           string
	subjectIP                              string
}

func client(ip, ua string) context.Context {
	return store.WithClient(context.Background(), store.ClientInfo{IP: netip.MustParseAddr(ip), UserAgent: ua, RequestID: uuid.NewString()})
}

func setup(t *testing.T) world {
	t.Helper()
	f := storetest.New(t)
	w := world{Fixture: f, subject: f.Acme.As(rampart.RoleProducer), other: f.Acme.As(rampart.RoleExecutiveProducer),
		shared: f.Acme.As(rampart.RoleStakeholder), globexProducer: f.Globex.As(rampart.RoleProducer),
		subjectEmail: "petra.subject@acme.example", subjectIP: "203.0.113.7"}
	admin := f.Acme.As(rampart.RoleAdmin)
	// acme's stakeholder is a member of globex too.
	err := f.Store.AsService(context.Background(), "privacy test fixture", func(ctx context.Context, tx *store.ServiceTx) error {
		return tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: f.Globex.Organization.ID, UserID: w.shared.UserID, Role: rampart.RoleViewer})
	})
	if err != nil {
		t.Fatal(err)
	}
	w.exec(t, `UPDATE users SET display_name = 'Petra Producer', email = $2 WHERE id = $1`, w.subject.UserID, w.subjectEmail)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(proposal.Create(client(w.subjectIP, "SubjectBrowser/1.0"), f.Store, w.subject, proposal.Input{Title: "Subject's gala", VenueCode: "HALL-A", Brief: "Gala for 200"}))
	must(proposal.Create(client("198.51.100.9", "OtherBrowser/2.0"), f.Store, w.other, proposal.Input{Title: "Other person's launch", VenueCode: "HALL-B"}))
	must(proposal.Create(client("192.0.2.44", "GlobexBrowser/3.0"), f.Store, w.globexProducer, proposal.Input{Title: "Globex summit", VenueCode: "HALL-A"}))
	must(member.Update(client("198.51.100.1", "AdminBrowser/1.0"), f.Store, admin, w.subject.UserID, member.Grant{Role: rampart.RoleProducer}, store.ClientInfo{}))
	must(member.Update(client("198.51.100.1", "AdminBrowser/1.0"), f.Store, admin, w.shared.UserID, member.Grant{Role: rampart.RoleStakeholder}, store.ClientInfo{}))
	must(member.Update(client("192.0.2.1", "GlobexAdmin/1.0"), f.Store, f.Globex.As(rampart.RoleAdmin), w.shared.UserID, member.Grant{Role: rampart.RoleViewer}, store.ClientInfo{}))
	w.exec(t, `INSERT INTO sessions (user_id, active_organization_id, expires_at, ip, user_agent) VALUES ($1, $2, now() + interval '1 hour', $3, 'SubjectBrowser/1.0')`,
		w.subject.UserID, f.Acme.Organization.ID, w.subjectIP)
	w.exec(t, `INSERT INTO sessions (user_id, active_organization_id, expires_at, ip, user_agent) VALUES ($1, $2, now() + interval '1 hour', '198.51.100.9', 'OtherBrowser/2.0')`,
		w.other.UserID, f.Acme.Organization.ID)
	return w
}

// exec runs a statement as the superuser (fixtures and tampering only).
func (f world) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	execAdmin(t, f.Fixture, sql, args...)
}

func execAdmin(t *testing.T, f *storetest.Fixture, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.DB.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func unzip(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = string(data)
	}
	return out
}

// TestExportHoldsTheSubjectsRowsOnly: the archive holds the subject's rows
// (and a README, a manifest, a file per table) and none of another
// person's or organization's; it downloads once, by its requester, and
// another organization's admin reaches none of it.
func TestExportHoldsTheSubjectsRowsOnly(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	admin, globexAdmin := w.Acme.As(rampart.RoleAdmin), w.Globex.As(rampart.RoleAdmin)

	p, err := privacy.Request(ctx, w.Store, admin, privacy.Input{Kind: rampart.PrivacyExport, Email: w.subjectEmail})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != rampart.PrivacyPending || p.SubjectUserID != w.subject.UserID {
		t.Fatalf("new export: %+v", p)
	}
	_, err = privacy.IssueLink(ctx, w.Store, admin, p.ID)
	storetest.Kind(t, "link before the archive is built", err, rampart.KindConflict)

	n, err := privacy.BuildPending(ctx, w.Store, 10)
	if err != nil || n != 1 {
		t.Fatalf("BuildPending: %d, %v", n, err)
	}
	if got, err := privacy.Get(ctx, w.Store, admin, p.ID); err != nil || got.Status != rampart.PrivacyReady || got.ArchiveBytes == nil {
		t.Fatalf("after the worker: %+v, %v", got, err)
	}

	// Another organization: not found, for the request, its link and the subject.
	_, err = privacy.Get(ctx, w.Store, globexAdmin, p.ID)
	storetest.Kind(t, "globex admin reads acme's request", err, rampart.KindNotFound)
	_, err = privacy.IssueLink(ctx, w.Store, globexAdmin, p.ID)
	storetest.Kind(t, "globex admin links acme's export", err, rampart.KindNotFound)
	for _, in := range []privacy.Input{{Kind: rampart.PrivacyExport, UserID: &w.subject.UserID}, {Kind: rampart.PrivacyExport, Email: w.subjectEmail},
		{Kind: rampart.PrivacyErasure, UserID: &w.subject.UserID}} {
		_, err = privacy.Request(ctx, w.Store, globexAdmin, in)
		storetest.Kind(t, fmt.Sprintf("globex admin asks about acme's member (%+v)", in), err, rampart.KindNotFound)
	}
	_, err = privacy.Request(ctx, w.Store, w.other, privacy.Input{Kind: rampart.PrivacyExport, Email: w.subjectEmail})
	storetest.Kind(t, "a non-admin asks", err, rampart.KindForbidden)

	link, err := privacy.IssueLink(ctx, w.Store, admin, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = privacy.Download(ctx, w.Store, globexAdmin, link.Token)
	storetest.Kind(t, "globex admin downloads with acme's token", err, rampart.KindNotFound)
	_, _, err = privacy.Download(ctx, w.Store, admin, link.Token[:42]+"x")
	storetest.Kind(t, "a wrong token", err, rampart.KindNotFound)
	id, archive, err := privacy.Download(ctx, w.Store, admin, link.Token)
	if err != nil || id != p.ID {
		t.Fatalf("download: %v, %v", id, err)
	}
	_, _, err = privacy.Download(ctx, w.Store, admin, link.Token)
	storetest.Kind(t, "second download", err, rampart.KindNotFound)
	if n := w.Count(t, `SELECT count(*)::int FROM privacy_requests WHERE id = $1 AND archive IS NULL AND status = 'downloaded' AND link_token_hash IS NULL`, p.ID); n != 1 {
		t.Fatal("the archive must be deleted by its download")
	}

	files := unzip(t, archive)
	for _, want := range append([]string{"README.md", "manifest.json"}, func() []string {
		var names []string
		for _, n := range store.ExportTableNames() {
			names = append(names, n+".json")
		}
		return names
	}()...) {
		if _, ok := files[want]; !ok {
			t.Errorf("archive has no %s", want)
		}
	}
	var man privacy.Manifest
	if err := json.Unmarshal([]byte(files["manifest.json"]), &man); err != nil {
		t.Fatal(err)
	}
	if man.SubjectUserID != w.subject.UserID || man.OrganizationID != w.Acme.Organization.ID || man.Rows["user"] != 1 ||
		man.Rows["memberships"] != 1 || man.Rows["sessions"] != 1 || man.Rows["proposals"] != 1 || man.Rows["audit_events"] < 2 {
		t.Errorf("manifest: %+v", man)
	}
	var all strings.Builder
	for _, body := range files {
		all.WriteString(body)
	}
	text := all.String()
	for _, want := range []string{w.subjectEmail, "Petra Producer", "Subject's gala", w.subjectIP, "SubjectBrowser/1.0", w.subject.UserID.String()} {
		if !strings.Contains(text, want) {
			t.Errorf("the export lacks the subject's %q", want)
		}
	}
	for _, leak := range []string{"executive_producer@acme.example", "Other person's launch", "198.51.100.9", "OtherBrowser",
		"198.51.100.1", "AdminBrowser", w.other.UserID.String(), w.shared.UserID.String(),
		"globex", w.Globex.Organization.ID.String(), "Globex summit", "192.0.2.", w.globexProducer.UserID.String()} {
		if strings.Contains(text, leak) {
			t.Errorf("the export holds another person's or organization's data: %q", leak)
		}
	}
}

// TestRequestValidation: bad input names the field; nothing is written.
func TestRequestValidation(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	admin := w.Acme.As(rampart.RoleAdmin)
	nobody := uuid.New()
	for _, tc := range []struct {
		in    privacy.Input
		field string
		kind  rampart.Kind
	}{
		{privacy.Input{Kind: "delete", Email: w.subjectEmail}, "kind", rampart.KindInvalid},
		{privacy.Input{Kind: rampart.PrivacyExport}, "user_id or email", rampart.KindInvalid},
		{privacy.Input{Kind: rampart.PrivacyExport, UserID: &w.subject.UserID, Email: w.subjectEmail}, "user_id or email", rampart.KindInvalid},
		{privacy.Input{Kind: rampart.PrivacyExport, Email: "not an address"}, "email", rampart.KindInvalid},
		{privacy.Input{Kind: rampart.PrivacyExport, UserID: &nobody}, "", rampart.KindNotFound},
		{privacy.Input{Kind: rampart.PrivacyErasure, UserID: &admin.UserID}, "user_id", rampart.KindConflict},
	} {
		_, err := privacy.Request(ctx, w.Store, admin, tc.in)
		storetest.Kind(t, fmt.Sprintf("%+v", tc.in), err, tc.kind)
		if err != nil && tc.field != "" && !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: %v does not name %q", tc.in, err, tc.field)
		}
	}
	if n := w.Count(t, `SELECT count(*)::int FROM privacy_requests`); n != 0 {
		t.Fatalf("%d requests written by refused input", n)
	}
}

// personalTrace counts, over every table of the schema, the rows whose
// text form holds s (case-insensitive): the "no table holds it" check.
func personalTrace(t *testing.T, f *storetest.Fixture, s string) map[string]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.DB.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
WHERE table_schema IN ('public', 'river') AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, tbl := range tables {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*)::int FROM "+tbl+" t WHERE strpos(lower(t::text), lower($1)) > 0", s).Scan(&n); err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		if n > 0 {
			out[tbl] = n
		}
	}
	return out
}

func verify(t *testing.T, st *store.Store, org uuid.UUID) audit.ChainReport {
	t.Helper()
	rep, err := st.Audit().Verify(context.Background(), &org, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Chains[0]
}

// TestErasureKeepsTheAuditLogVerifiable: after erasing a member of one
// organization, no table holds their email or name, verify passes and
// reports the erasure as such (also over ranges sealed before it), an
// event written before scheme 2 keeps verifying, and a real tamper after
// the erasure — a field the MAC covers, a commitment, content put back —
// is still caught, naming the event.
func TestErasureKeepsTheAuditLogVerifiable(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	admin := w.Acme.As(rampart.RoleAdmin)
	org := w.Acme.Organization.ID

	// An event as Rampart wrote it before migration 021 (scheme 1).
	k, err := audit.NewKeyring([]audit.Key{{ID: "test", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	v1 := k.SignV1(audit.Event{OrganizationID: &org, ActorType: audit.ActorUser, ActorID: admin.UserID.String(), Action: audit.ActionVenueUpdated,
		TargetType: "venue", TargetID: "HALL-A", IP: netip.MustParseAddr("198.51.100.1"), UserAgent: "OldBrowser", Reason: "old"}, time.Now())
	w.exec(t, `INSERT INTO audit_events (event_key, organization_id, occurred_at, actor_type, actor_id, action, target_type, target_id, ip, user_agent, reason, mac_key_id, mac)
VALUES ($1, $2, $3, 'user', $4, 'venue.updated', 'venue', 'HALL-A', '198.51.100.1', 'OldBrowser', 'old', $5, $6)`,
		v1.EventKey, org, v1.OccurredAt, v1.ActorID, v1.MACKeyID, v1.MAC)
	// And one by the subject, with their IP and user agent: erasure must
	// attest it and erase it.
	v1s := k.SignV1(audit.Event{OrganizationID: &org, ActorType: audit.ActorUser, ActorID: w.subject.UserID.String(), Action: audit.ActionProposalUpdated,
		TargetType: "proposal", TargetID: "old-proposal", IP: netip.MustParseAddr(w.subjectIP), UserAgent: "SubjectBrowser/0.9", Reason: "old edit"}, time.Now())
	w.exec(t, `INSERT INTO audit_events (event_key, organization_id, occurred_at, actor_type, actor_id, action, target_type, target_id, ip, user_agent, reason, mac_key_id, mac)
VALUES ($1, $2, $3, 'user', $4, 'proposal.updated', 'proposal', 'old-proposal', $5, 'SubjectBrowser/0.9', 'old edit', $6, $7)`,
		v1s.EventKey, org, v1s.OccurredAt, v1s.ActorID, w.subjectIP, v1s.MACKeyID, v1s.MAC)

	// An export of the subject, built and not downloaded: erasure must take it.
	if _, err := privacy.Request(ctx, w.Store, admin, privacy.Input{Kind: rampart.PrivacyExport, UserID: &w.subject.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := privacy.BuildPending(ctx, w.Store, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Store.Audit().SealNow(ctx); err != nil {
		t.Fatal(err)
	}
	before := verify(t, w.Store, org)
	if !before.OK() || before.Erased != 0 {
		t.Fatalf("before erasure: %+v", before)
	}
	if traces := personalTrace(t, w.Fixture, w.subjectEmail); len(traces) == 0 {
		t.Fatal("the fixture holds no trace of the subject: the test could not fail")
	}

	p, err := privacy.Request(ctx, w.Store, admin, privacy.Input{Kind: rampart.PrivacyErasure, Email: w.subjectEmail})
	if err != nil {
		t.Fatal(err)
	}
	var outcome map[string]any
	if err := json.Unmarshal(p.Outcome, &outcome); err != nil {
		t.Fatal(err)
	}
	if p.Status != rampart.PrivacyCompleted || outcome["user_erased"] != true || outcome["audit_events_erased"].(float64) < 3 ||
		outcome["sessions_deleted"].(float64) != 1 || outcome["audit_events_kept_scheme1"].(float64) != 0 {
		t.Fatalf("erasure: %+v %s", p, p.Outcome)
	}

	for _, s := range []string{w.subjectEmail, "Petra Producer", w.subjectIP, "SubjectBrowser"} {
		if traces := personalTrace(t, w.Fixture, s); len(traces) > 0 {
			t.Errorf("after erasure, %q is still in %v", s, traces)
		}
	}
	// The other people's data is untouched.
	for _, s := range []string{"executive_producer@acme.example", "198.51.100.9", "Other person's launch", "GlobexBrowser"} {
		if traces := personalTrace(t, w.Fixture, s); len(traces) == 0 {
			t.Errorf("erasure removed another person's %q", s)
		}
	}

	after := verify(t, w.Store, org)
	if !after.OK() {
		t.Fatalf("verify after erasure: %v", after.Problems)
	}
	if after.Erased < 2 || after.Events <= before.Events || after.Sealed < before.Sealed {
		t.Fatalf("verify must report the erasure as such: %+v (before %+v)", after, before)
	}

	// Blanking another event's personal fields the way the database allows
	// (as the eraser role), with no erasure record for it: flagged.
	w.exec(t, fmt.Sprintf(`SET ROLE rampart_audit_eraser; UPDATE audit_events SET ip = NULL, user_agent = '', before = NULL, after = NULL, reason = '',
metadata = NULL, pii_salt = NULL, erased_at = now() WHERE id = (SELECT min(id) FROM audit_events WHERE organization_id = '%s' AND scheme = 2 AND erased_at IS NULL)`, org))
	unrecorded := verify(t, w.Store, org)
	if len(unrecorded.Problems) != 1 || !strings.Contains(unrecorded.Problems[0].What, "blanked outside a data subject erasure") {
		t.Fatalf("an erasure without a record: %v", unrecorded.Problems)
	}

	// Real tampering after the erasure is still caught, event by event.
	var erased []int64
	func() {
		conn, err := pgx.Connect(ctx, w.DB.AdminURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT id FROM audit_events WHERE organization_id = $1 AND erased_at IS NOT NULL ORDER BY id LIMIT 3`, org)
		if err != nil {
			t.Fatal(err)
		}
		if erased, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil || len(erased) < 2 {
			t.Fatalf("erased events: %v, %v", erased, err)
		}
	}()
	w.exec(t, `SET session_replication_role = replica`)
	var v1Erased int64
	func() {
		conn, err := pgx.Connect(ctx, w.DB.AdminURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, `SELECT id FROM audit_events WHERE event_key = $1 AND redaction_mac IS NOT NULL AND ip IS NULL`, v1s.EventKey).Scan(&v1Erased); err != nil {
			t.Fatalf("the scheme-1 event about the subject was not erased: %v", err)
		}
	}()
	erased = append(erased[:min(len(erased), 3)], v1Erased)
	tampers := []string{
		fmt.Sprintf(`UPDATE audit_events SET target_id = 'someone-else' WHERE id = %d`, erased[0]),
		fmt.Sprintf(`UPDATE audit_events SET pii_commit = sha256(pii_commit) WHERE id = %d`, erased[1]),
	}
	if len(erased) > 3 {
		tampers = append(tampers, fmt.Sprintf(`UPDATE audit_events SET user_agent = 'planted' WHERE id = %d`, erased[2]))
	}
	tampers = append(tampers, fmt.Sprintf(`UPDATE audit_events SET action = 'venue.deleted' WHERE id = %d`, v1Erased))
	for _, sql := range tampers {
		w.exec(t, "SET session_replication_role = replica; "+sql)
	}
	tampered := verify(t, w.Store, org)
	tamperedIDs := append(append([]int64{}, erased[:len(tampers)-1]...), v1Erased)
	for _, id := range tamperedIDs {
		found := false
		for _, pr := range tampered.Problems {
			if pr.EventID == id && strings.Contains(pr.What, "does not match its MAC") {
				found = true
			}
		}
		if !found {
			t.Errorf("tampering with erased event %d was not caught: %v", id, tampered.Problems)
		}
	}
}

// TestErasureInOneOrganizationKeepsTheOther: a person in two
// organizations erased by one keeps their membership, user row and
// events in the other; the erasing organization keeps none of it.
func TestErasureInOneOrganizationKeepsTheOther(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	globexChain := w.Globex.Organization.ID
	globexEventsAbout := `SELECT count(*)::int FROM audit_events WHERE organization_id = $1 AND target_id = $2 AND after IS NOT NULL AND erased_at IS NULL`
	keptBefore := w.Count(t, globexEventsAbout, globexChain, w.shared.UserID.String())
	if keptBefore == 0 {
		t.Fatal("the fixture has no globex event about the shared member")
	}
	p, err := privacy.Request(ctx, w.Store, w.Acme.As(rampart.RoleAdmin), privacy.Input{Kind: rampart.PrivacyErasure, UserID: &w.shared.UserID})
	if err != nil {
		t.Fatal(err)
	}
	var outcome map[string]any
	_ = json.Unmarshal(p.Outcome, &outcome)
	if outcome["user_erased"] != false || outcome["other_memberships"].(float64) != 1 {
		t.Fatalf("outcome: %s", p.Outcome)
	}
	checks := []struct {
		what string
		sql  string
		want int
	}{
		{"acme membership", `SELECT count(*)::int FROM memberships WHERE organization_id = $1 AND user_id = $2 AND $3::uuid IS NOT NULL`, 0},
		{"globex membership", `SELECT count(*)::int FROM memberships WHERE organization_id = $3 AND user_id = $2 AND $1::uuid IS NOT NULL`, 1},
		{"user row", `SELECT count(*)::int FROM users WHERE id = $2 AND $1::uuid IS NOT NULL AND $3::uuid IS NOT NULL`, 1},
		{"acme events about them with personal content", `SELECT count(*)::int FROM audit_events WHERE organization_id = $1 AND target_id = $2::text AND erased_at IS NULL AND action NOT LIKE 'privacy.%' AND $3::uuid IS NOT NULL`, 0},
	}
	for _, c := range checks {
		if n := w.Count(t, c.sql, w.Acme.Organization.ID, w.shared.UserID, w.Globex.Organization.ID); n != c.want {
			t.Errorf("%s: %d, want %d", c.what, n, c.want)
		}
	}
	if n := w.Count(t, globexEventsAbout, globexChain, w.shared.UserID.String()); n != keptBefore {
		t.Errorf("globex's events about them: %d, want %d untouched", n, keptBefore)
	}
	for _, chain := range []uuid.UUID{w.Acme.Organization.ID, globexChain} {
		if rep := verify(t, w.Store, chain); !rep.OK() {
			t.Errorf("chain %s: %v", chain, rep.Problems)
		}
	}
	// They are no longer acme's: a second request is not found, and
	// globex still finds them.
	_, err = privacy.Request(ctx, w.Store, w.Acme.As(rampart.RoleAdmin), privacy.Input{Kind: rampart.PrivacyExport, UserID: &w.shared.UserID})
	storetest.Kind(t, "export of an erased former member", err, rampart.KindNotFound)
	if _, err := privacy.Request(ctx, w.Store, w.Globex.As(rampart.RoleAdmin), privacy.Input{Kind: rampart.PrivacyExport, UserID: &w.shared.UserID}); err != nil {
		t.Fatalf("globex export of its member: %v", err)
	}
}

// TestDownloadIsSingleUseUnderRace: eight concurrent downloads with the
// same link: exactly one gets the archive, the others are not found.
func TestDownloadIsSingleUseUnderRace(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	admin := w.Acme.As(rampart.RoleAdmin)
	p, err := privacy.Request(ctx, w.Store, admin, privacy.Input{Kind: rampart.PrivacyExport, UserID: &w.subject.UserID})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := privacy.BuildPending(ctx, w.Store, 10); err != nil || n != 1 {
		t.Fatalf("BuildPending: %d, %v", n, err)
	}
	link, err := privacy.IssueLink(ctx, w.Store, admin, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	results := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			_, archive, err := privacy.Download(ctx, w.Store, admin, link.Token)
			if err == nil && len(archive) == 0 {
				err = fmt.Errorf("empty archive")
			}
			results <- err
		}()
	}
	close(start)
	ok := 0
	for range n {
		err := <-results
		switch {
		case err == nil:
			ok++
		case rampart.ErrorKind(err) != rampart.KindNotFound:
			t.Errorf("a losing download: %v (want not found)", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d downloads succeeded, want exactly 1", ok)
	}
	if got := w.Count(t, `SELECT count(*)::int FROM audit_events WHERE action = 'privacy.export.downloaded'`); got != 1 {
		t.Fatalf("%d download events, want 1", got)
	}
}
