package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/store"
)

var keysVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarAuditKeys, config.VarFieldKeys}

func keyFilePath(cfg config.Config) string { return filepath.Join(cfg.DataDir, "secrets", "keys.json") }

// loadFieldKeys returns the field-encryption key ring: RAMPART_FIELD_KEYS,
// else (embedded mode only) the key file generated in the data directory.
func loadFieldKeys(cfg config.Config) (*fieldcrypt.Ring, error) {
	if cfg.FieldKeys != "" {
		r, err := fieldcrypt.ParseRing(cfg.FieldKeys)
		if err != nil {
			return nil, fmt.Errorf("invalid RAMPART_FIELD_KEYS (--field-keys): %w", err)
		}
		return r, nil
	}
	if !cfg.Embedded() {
		return nil, errors.New("RAMPART_FIELD_KEYS is required with DATABASE_URL: kid:base64 of 32 random bytes, e.g. f1:$(openssl rand -base64 32) (docs/field-encryption.md)")
	}
	k, err := auth.LoadOrCreateKeyFile(keyFilePath(cfg))
	if err != nil {
		return nil, err
	}
	r, err := fieldcrypt.ParseRing(k.Field)
	if err != nil {
		return nil, fmt.Errorf("key file %s: field_keys: %w", keyFilePath(cfg), err)
	}
	return r, nil
}

// checkFieldKeys warns when the database holds values sealed under a key
// the ring lacks: those values cannot be read until the key is restored
// (each read reports and audits the failure; the rest keeps working).
func checkFieldKeys(ctx context.Context, st *store.Store, ring *fieldcrypt.Ring, w io.Writer) {
	use, err := st.FieldKeys().Status(ctx)
	if err != nil {
		return
	}
	for _, u := range use {
		if !ring.Has(u.KeyID) {
			fmt.Fprintf(w, "WARNING: %d encrypted values are sealed under field key %q, which RAMPART_FIELD_KEYS lacks: they cannot be read until it is restored (`rampart keys status`)\n", u.Values, u.KeyID)
		}
	}
}

func runKeys(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("keys", "keys status|rotate|add|retire [flags]", `
Field encryption keys (BOM unit cost, sourcing and lead time, and crew day
rates are sealed with AES-256-GCM; docs/field-encryption.md). The first key of the ring seals,
every key opens.

  rampart keys status [--json]
      Per key id: whether the ring holds it and how many values it still
      seals. Exit 1 when values are sealed under a key the ring lacks.
  rampart keys add [--id KID]
      Make a new key the newest. Embedded mode: prepended to the key file.
      With RAMPART_FIELD_KEYS: printed, for you to prepend to the variable
      of every process (then restart them).
  rampart keys rotate [--batch N]
      Re-seal every value under the newest key, in committed batches, with
      a progress line (rate and ETA). Safe to interrupt (Ctrl-C, SIGKILL):
      run it again to resume. Start and finish are audited.
  rampart keys retire KID
      Remove a key that seals nothing any more (refused while it does).
      Embedded mode: removed from the key file. With RAMPART_FIELD_KEYS:
      checked, for you to remove from the variable.

These run on the service path: with DATABASE_URL they need
RAMPART_SERVICE_DATABASE_URL, RAMPART_AUDIT_KEYS and RAMPART_FIELD_KEYS.`)
	loader := config.NewLoader(fs, m.Getenv, keysVars...)
	jsonOut := fs.Bool("json", false, "status: print JSON")
	batch := fs.Int("batch", 500, "rotate: rows per committed batch (1-5000)")
	newID := fs.String("id", "", "add: the new key's id (default: the next free f<N>)")
	cfg, code, done := m.load("keys", fs, loader, args, 2)
	if done {
		return code
	}
	if fs.NArg() < 1 {
		fmt.Fprintln(m.Stderr, "rampart keys: usage: rampart keys status|rotate|add|retire (see --help)")
		return exitUsage
	}
	sub := fs.Arg(0)
	if (sub == "retire") != (fs.NArg() == 2) {
		fmt.Fprintln(m.Stderr, "rampart keys: `retire` takes exactly one key id; the others take none")
		return exitUsage
	}
	if *batch < 1 || *batch > 5000 {
		fmt.Fprintf(m.Stderr, "rampart keys: --batch %d must be from 1 to 5000\n", *batch)
		return exitUsage
	}
	ring, err := loadFieldKeys(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart keys: %v\n", err)
		return exitUsage
	}
	switch sub {
	case "status", "rotate", "add", "retire":
	default:
		fmt.Fprintf(m.Stderr, "rampart keys: unknown subcommand %q: use status, rotate, add or retire\n", sub)
		return exitUsage
	}
	if sub == "add" {
		return keysAdd(m, cfg, ring, *newID)
	}
	st, closeStore, err := openServiceStore(ctx, m, cfg, "keys", "rampart keys "+sub)
	if err != nil {
		return m.fail("keys", err)
	}
	defer closeStore()
	switch sub {
	case "status":
		return keysStatus(ctx, m, st, ring, *jsonOut)
	case "rotate":
		return keysRotate(ctx, m, st, ring, *batch)
	default:
		return keysRetire(ctx, m, cfg, st, ring, fs.Arg(1))
	}
}

func keysStatus(ctx context.Context, m *Main, st *store.Store, ring *fieldcrypt.Ring, jsonOut bool) int {
	use, err := st.FieldKeys().Status(ctx)
	if err != nil {
		return m.fail("keys", err)
	}
	type row struct {
		store.KeyUse
		State string `json:"state"`
	}
	var rows []row
	seen := map[string]bool{}
	missing := false
	for _, id := range ring.IDs() {
		r := row{KeyUse: store.KeyUse{KeyID: id}, State: "decrypts"}
		if id == ring.Newest() {
			r.State = "encrypts"
		}
		for _, u := range use {
			if u.KeyID == id {
				r.KeyUse = u
			}
		}
		seen[id] = true
		rows = append(rows, r)
	}
	for _, u := range use {
		if !seen[u.KeyID] {
			missing = true
			rows = append(rows, row{KeyUse: u, State: "MISSING"})
		}
	}
	if jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"newest": ring.Newest(), "keys": rows})
	} else {
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tSTATE\tROWS\tVALUES")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", r.KeyID, r.State, r.Rows, r.Values)
		}
		tw.Flush()
		var old int64
		for _, r := range rows {
			if r.KeyID != ring.Newest() {
				old += r.Values
			}
		}
		if old > 0 {
			fmt.Fprintf(m.Stdout, "%d values are sealed under older keys: `rampart keys rotate` re-seals them under %s.\n", old, ring.Newest())
		}
	}
	if missing {
		fmt.Fprintln(m.Stderr, "rampart keys: values are sealed under a key the ring lacks (MISSING): restore it to RAMPART_FIELD_KEYS")
		return exitFail
	}
	return exitOK
}

// progress draws the rotation's progress line: on a terminal it redraws in
// place, elsewhere it prints a line every few seconds.
type progress struct {
	w        io.Writer
	tty      bool
	start    time.Time
	last     time.Time
	total    int64
	baseDone int64
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) draw(done int64, final bool) {
	now := time.Now()
	if !final && !p.tty && now.Sub(p.last) < 2*time.Second {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done-p.baseDone) / elapsed
	}
	frac := 1.0
	if p.total > 0 {
		frac = min(1, float64(done)/float64(p.total))
	}
	const width = 30
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	eta := "-"
	if rate > 0 && p.total > done {
		eta = (time.Duration(float64(p.total-done)/rate) * time.Second).Round(time.Second).String()
	}
	line := fmt.Sprintf("[%s] %d/%d values %3.0f%%  %.0f values/s  ETA %s", bar, done, p.total, frac*100, rate, eta)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		if final {
			fmt.Fprintln(p.w)
		}
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func keysRotate(ctx context.Context, m *Main, st *store.Store, ring *fieldcrypt.Ring, batch int) int {
	rot, err := st.FieldKeys().StartRotation(ctx, ring)
	if err != nil {
		return m.fail("keys", err)
	}
	verb := "rotating"
	if rot.Resumed {
		verb = fmt.Sprintf("resuming rotation %d (%d values already re-sealed)", rot.ID, rot.Resealed)
	}
	fmt.Fprintf(m.Stderr, "%s to key %s: %d values sealed under older keys\n", verb, rot.Target, rot.Remaining)
	p := &progress{w: m.Stderr, tty: isTerminal(m.Stderr), start: time.Now(), total: rot.Remaining}
	var done, failed int64
	for pass := 1; ; pass++ {
		for {
			n, f, last, err := rot.Next(ctx, batch)
			if err != nil {
				p.draw(done, true)
				if ctx.Err() != nil {
					fmt.Fprintf(m.Stderr, "rampart keys: interrupted after %d values; the batch in flight was rolled back. Run `rampart keys rotate` again to resume.\n", done)
				} else {
					fmt.Fprintf(m.Stderr, "rampart keys: %v (after %d values; run again to resume)\n", err, done)
				}
				return exitFail
			}
			done += int64(n)
			failed += int64(f)
			p.draw(done, last)
			if last {
				break
			}
		}
		use, err := st.FieldKeys().Status(ctx)
		if err != nil {
			return m.fail("keys", err)
		}
		var left int64
		for _, u := range use {
			if u.KeyID != rot.Target {
				left += u.Values
			}
		}
		// Values a concurrent writer held locked were skipped: go round
		// again (a few passes at most; failures stay where they are).
		if left <= failed || pass == 3 {
			break
		}
		rot.Again()
	}
	if err := rot.Finish(ctx); err != nil {
		return m.fail("keys", err)
	}
	fmt.Fprintf(m.Stdout, "re-sealed %d values under %s in %s", done, rot.Target, time.Since(p.start).Round(time.Millisecond))
	if failed > 0 {
		fmt.Fprintf(m.Stdout, "; %d values could not be opened and stay under their key (see the log and `rampart keys status`)\n", failed)
		return exitFail
	}
	fmt.Fprintln(m.Stdout)
	return exitOK
}

func keysAdd(m *Main, cfg config.Config, ring *fieldcrypt.Ring, id string) int {
	if id == "" {
		for n := len(ring.IDs()) + 1; ; n++ {
			if c := fmt.Sprintf("f%d", n); !ring.Has(c) {
				id = c
				break
			}
		}
	}
	if ring.Has(id) {
		fmt.Fprintf(m.Stderr, "rampart keys: the ring already has a key %q\n", id)
		return exitUsage
	}
	spec, err := fieldcrypt.NewKey(id)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart keys: %v\n", err)
		return exitUsage
	}
	if cfg.FieldKeys != "" {
		fmt.Fprintf(m.Stdout, "%s\n", spec)
		fmt.Fprintf(m.Stderr, "Prepend this key to RAMPART_FIELD_KEYS of every process (it then encrypts; the others still decrypt), restart them, then run `rampart keys rotate`.\n")
		return exitOK
	}
	err = auth.UpdateFieldKeys(keyFilePath(cfg), func(cur string) (string, error) {
		if _, err := fieldcrypt.ParseRing(spec + "," + cur); err != nil {
			return "", err
		}
		return spec + "," + cur, nil
	})
	if err != nil {
		return m.fail("keys", err)
	}
	fmt.Fprintf(m.Stdout, "key %s added to %s and now encrypts. Restart serve and workers, then run `rampart keys rotate`.\n", id, keyFilePath(cfg))
	return exitOK
}

func keysRetire(ctx context.Context, m *Main, cfg config.Config, st *store.Store, ring *fieldcrypt.Ring, id string) int {
	if !ring.Has(id) {
		fmt.Fprintf(m.Stderr, "rampart keys: the ring has no key %q\n", id)
		return exitUsage
	}
	if id == ring.Newest() {
		fmt.Fprintf(m.Stderr, "rampart keys: refusing to retire %s: it is the newest key, the one that encrypts (add a new key first)\n", id)
		return exitFail
	}
	use, err := st.FieldKeys().Status(ctx)
	if err != nil {
		return m.fail("keys", err)
	}
	for _, u := range use {
		if u.KeyID == id && u.Values > 0 {
			fmt.Fprintf(m.Stderr, "rampart keys: refusing to retire %s: it still seals %d values (run `rampart keys rotate` first)\n", id, u.Values)
			return exitFail
		}
	}
	if cfg.FieldKeys != "" {
		fmt.Fprintf(m.Stdout, "key %s seals nothing: remove it from RAMPART_FIELD_KEYS of every process.\n", id)
		return exitOK
	}
	err = auth.UpdateFieldKeys(keyFilePath(cfg), func(cur string) (string, error) {
		var keep []string
		for _, part := range strings.Split(cur, ",") {
			if kid, _, _ := strings.Cut(strings.TrimSpace(part), ":"); kid != id {
				keep = append(keep, strings.TrimSpace(part))
			}
		}
		spec := strings.Join(keep, ",")
		if _, err := fieldcrypt.ParseRing(spec); err != nil {
			return "", err
		}
		return spec, nil
	})
	if err != nil {
		return m.fail("keys", err)
	}
	fmt.Fprintf(m.Stdout, "key %s retired from %s.\n", id, keyFilePath(cfg))
	return exitOK
}
