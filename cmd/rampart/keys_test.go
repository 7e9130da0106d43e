package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/bom"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// The field keys of the key tests: f1 is externalEnv's, f2 the new one.
var (
	keyF1 = "f1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	keyF2 = "f2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
)

// keyStore opens a store on db whose field key ring is spec.
func keyStore(t *testing.T, db *pgtest.DB, spec string) *store.Store {
	t.Helper()
	ring, err := fieldcrypt.ParseRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := audit.NewKeyring([]audit.Key{{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db.AppURL, store.Options{ServiceURL: db.ServiceURL, Audit: keys, FieldKeys: ring, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// seedCostedLines gives proposals n lines in all, 500 each, each line
// with all three sealed fields under st's newest key; it returns the
// producer and the proposals.
func seedCostedLines(t *testing.T, st *store.Store, n int) (rampart.Claims, []rampart.Proposal) {
	t.Helper()
	ctx := context.Background()
	producer := seedProducer(t, st)
	var ps []rampart.Proposal
	err := st.InTenant(ctx, producer, func(ctx context.Context, tx *store.TenantTx) error {
		var p rampart.Proposal
		for i := range n {
			if i%500 == 0 {
				var err error
				if p, err = tx.Proposals().Create(ctx, rampart.Proposal{ProposalSummary: rampart.ProposalSummary{Title: "Rotation"}}); err != nil {
					return err
				}
				ps = append(ps, p)
			}
			lead := i % 300
			cost := rampart.LineCost{UnitCost: &rampart.Money{Minor: int64(100 + i), Currency: "EUR"}, Sourcing: "supplier " + string(rune('a'+i%26)), LeadTimeDays: &lead}
			if _, err := tx.BOMLines().Create(ctx, p.ID, rampart.BOMLine{Item: "item", Category: "audio", Quantity: 1000, Unit: "day"}, nil, cost); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return producer, ps
}

func keyUse(t *testing.T, st *store.Store) map[string]int64 {
	t.Helper()
	use, err := st.FieldKeys().Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, u := range use {
		m[u.KeyID] = u.Values
	}
	return m
}

// Issue 14: `rampart keys rotate` SIGKILLed halfway, then run again,
// leaves every value readable under the newest key alone; retiring the old
// key is refused until then and allowed after; start, resume and finish
// are audited.
func TestKeysRotateSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("real OS processes")
	}
	db := pgtest.New(t)
	ctx := context.Background()
	const lines = 1500
	old := keyStore(t, db, keyF1)
	producer, ps := seedCostedLines(t, old, lines)

	env := externalEnv(db, db.AppURL)
	env["RAMPART_FIELD_KEYS"] = keyF2 + "," + keyF1
	run := func(args ...string) (int, string, string) {
		var out, errOut syncBuffer
		m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
		return m.Run(ctx, args), out.String(), errOut.String()
	}
	if code, _, errOut := run("keys", "retire", "f1"); code != exitFail || !strings.Contains(errOut, "still seals 4500 values") {
		t.Fatalf("retire before rotation: exit %d, %s", code, errOut)
	}

	proc := startOS(t, env, "keys", "rotate", "--batch", "5")
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var resealed int64
		err := admin.QueryRow(ctx, `SELECT coalesce(max(resealed), 0) FROM field_key_rotations`).Scan(&resealed)
		if err != nil {
			t.Fatal(err)
		}
		if resealed >= 600 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotation made no progress:\n%s", proc.output())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := proc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = proc.cmd.Wait()
	mid := keyUse(t, old)
	t.Logf("after SIGKILL: %v", mid)
	if mid["f1"] == 0 || mid["f2"] == 0 || mid["f1"]+mid["f2"] != 3*lines {
		t.Fatalf("SIGKILL was not halfway, or values were lost: %v", mid)
	}

	code, out, errOut := run("keys", "rotate", "--batch", "200")
	if code != exitOK || !strings.Contains(errOut, "resuming rotation") || !strings.Contains(out, "re-sealed") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
	}
	if after := keyUse(t, old); after["f1"] != 0 || after["f2"] != 3*lines {
		t.Fatalf("after the resumed rotation: %v", after)
	}
	// Every value opens under f2 alone, unchanged.
	newOnly := keyStore(t, db, keyF2)
	var sum int64
	read := 0
	for _, p := range ps {
		b, err := bom.GetCosted(ctx, newOnly, producer, p.ID)
		if err != nil || !b.TotalsComplete {
			t.Fatalf("read under f2 alone: complete %v, %v", b.TotalsComplete, err)
		}
		for i, l := range b.Lines {
			if l.CostError != "" || l.Cost.UnitCost == nil || l.Cost.LeadTimeDays == nil || l.Cost.Sourcing == "" {
				t.Fatalf("line %d: %+v", i, l)
			}
			sum += l.Cost.UnitCost.Minor
			read++
		}
	}
	if read != lines {
		t.Fatalf("read %d lines under f2, want %d", read, lines)
	}
	if want := int64(lines*100 + lines*(lines-1)/2); sum != want {
		t.Fatalf("unit costs sum to %d after rotation, want %d", sum, want)
	}
	for action, want := range map[string]int{audit.ActionKeyRotationStarted: 1, audit.ActionKeyRotationResumed: 1, audit.ActionKeyRotationFinished: 1} {
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = $1`, action).Scan(&n); err != nil || n != want {
			t.Errorf("%d %s events (%v), want %d", n, action, err, want)
		}
	}
	code, out, _ = run("keys", "status", "--json")
	var st struct {
		Newest string `json:"newest"`
		Keys   []struct {
			KeyID  string `json:"key_id"`
			State  string `json:"state"`
			Values int64  `json:"values"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != exitOK || err != nil || st.Newest != "f2" || len(st.Keys) != 2 ||
		st.Keys[0].State != "encrypts" || st.Keys[0].Values != 3*lines || st.Keys[1].Values != 0 {
		t.Fatalf("status: exit %d %v %s", code, err, out)
	}
	if code, out, errOut := run("keys", "retire", "f1"); code != exitOK || !strings.Contains(out, "seals nothing") {
		t.Fatalf("retire after rotation: exit %d %s %s", code, out, errOut)
	}
}

// A value that cannot be opened is never lost by rotation: it stays under
// its key, the run says so and fails, status shows it, and retiring its
// key stays refused. A key the ring lacks shows as MISSING.
func TestKeysRotateLeavesUnreadableValues(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	old := keyStore(t, db, keyF1)
	seedCostedLines(t, old, 5)
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// One row's cost moved to another row: it no longer opens there.
	if _, err := admin.Exec(ctx, `UPDATE bom_lines SET unit_cost_enc = (SELECT unit_cost_enc FROM bom_lines ORDER BY id LIMIT 1)
WHERE id = (SELECT id FROM bom_lines ORDER BY id DESC LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	env := externalEnv(db, db.AppURL)
	env["RAMPART_FIELD_KEYS"] = keyF2 + "," + keyF1
	run := func(args ...string) (int, string, string) {
		var out, errOut syncBuffer
		m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
		return m.Run(ctx, args), out.String(), errOut.String()
	}
	code, out, errOut := run("keys", "rotate")
	if code != exitFail || !strings.Contains(out, "3 values could not be opened") {
		t.Fatalf("rotate: exit %d\n%s\n%s", code, out, errOut)
	}
	if use := keyUse(t, old); use["f1"] != 3 || use["f2"] != 12 {
		t.Fatalf("after rotation: %v", use)
	}
	if code, _, errOut := run("keys", "retire", "f1"); code != exitFail || !strings.Contains(errOut, "still seals 3 values") {
		t.Fatalf("retire: exit %d %s", code, errOut)
	}
	env["RAMPART_FIELD_KEYS"] = keyF2
	if code, out, _ := run("keys", "status"); code != exitFail || !strings.Contains(out, "MISSING") {
		t.Fatalf("status without f1: exit %d %s", code, out)
	}
}

// Bad input to `rampart keys`: a precise message and exit 2, nothing done.
func TestKeysUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"keys"}, "usage"},
		{nil, []string{"keys", "spin"}, "unknown subcommand"},
		{nil, []string{"keys", "retire"}, "exactly one key id"},
		{nil, []string{"keys", "status", "f1"}, "exactly one key id"},
		{nil, []string{"keys", "rotate", "--batch", "0"}, "--batch 0"},
		{map[string]string{"RAMPART_FIELD_KEYS": "f1:short"}, []string{"keys", "status"}, "RAMPART_FIELD_KEYS"},
		{map[string]string{"DATABASE_URL": "postgres://x@localhost/db"}, []string{"keys", "status"}, "RAMPART_FIELD_KEYS is required"},
	} {
		env := map[string]string{"RAMPART_DATA_DIR": dir}
		for k, v := range tc.env {
			env[k] = v
		}
		var out, errOut syncBuffer
		m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
		if code := m.Run(context.Background(), tc.args); code != exitUsage || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

// `rampart keys add` in embedded mode prepends a fresh key to the key
// file (which it creates on first use), leaving the old ones to decrypt.
func TestKeysAddEmbedded(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"RAMPART_DATA_DIR": dir}
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
	if code := m.Run(context.Background(), []string{"keys", "add"}); code != exitOK {
		t.Fatalf("add: %d %s", code, errOut.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "secrets", "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		FieldKeys string `json:"field_keys"`
	}
	if err := json.Unmarshal(b, &kf); err != nil {
		t.Fatal(err)
	}
	ring, err := fieldcrypt.ParseRing(kf.FieldKeys)
	if err != nil || ring.Newest() != "f2" || !ring.Has("f1") {
		t.Fatalf("key file after add: %v %v", ring, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "secrets", "keys.json")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o", fi.Mode().Perm())
	}
	out, errOut = syncBuffer{}, syncBuffer{}
	m = &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
	if code := m.Run(context.Background(), []string{"keys", "add", "--id", "f1"}); code != exitUsage || !strings.Contains(errOut.String(), "already") {
		t.Fatalf("adding an existing id: %d %s", code, errOut.String())
	}
}
