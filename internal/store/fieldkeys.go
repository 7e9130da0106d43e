package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/boms.sql.
var (
	sqlFieldKeyCounts   = query("FieldKeyCounts")
	sqlStaleSealedRows  = query("StaleSealedRows")
	sqlResealRow        = query("ResealRow")
	sqlOpenRotation     = query("OpenRotation")
	sqlStartRotation    = query("StartRotation")
	sqlCountRotation    = query("CountRotation")
	sqlFinishRotation   = query("FinishRotation")
	sqlCrewKeyCounts    = query("CrewFieldKeyCounts")
	sqlStaleSealedCrew  = query("StaleSealedCrew")
	sqlResealCrew       = query("ResealCrew")
	maxRotationBatch    = 5000
	defaultRotationSize = 500
)

// FieldKeys is the operator's view of the encrypted fields across
// tenants: how many values each key still seals, and rotation to the
// newest key (rampart keys status / rotate). It runs on the service path.
type FieldKeys struct{ s *Store }

// FieldKeys returns the field-key operations.
func (s *Store) FieldKeys() FieldKeys { return FieldKeys{s} }

// KeyUse is how many rows and values one key seals.
type KeyUse struct {
	KeyID  string `json:"key_id"`
	Rows   int64  `json:"rows"`
	Values int64  `json:"values"`
}

// Status counts the sealed values per key id, in key id order, over every
// sealed column (bill-of-materials lines and crew day rates). It is a
// read-only look at the service path (no audit event: it changes nothing).
func (f FieldKeys) Status(ctx context.Context) ([]KeyUse, error) {
	const op = "store.FieldKeyStatus"
	byKey := map[string]*KeyUse{}
	var out []KeyUse
	err := f.s.readOnlyService(ctx, op, func(ctx context.Context, tx *txn) error {
		for _, q := range []string{sqlFieldKeyCounts, sqlCrewKeyCounts} {
			rows, err := tx.query(ctx, q)
			if err != nil {
				return err
			}
			use, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (KeyUse, error) {
				var u KeyUse
				return u, r.Scan(&u.KeyID, &u.Rows, &u.Values)
			})
			if err != nil {
				return err
			}
			for _, u := range use {
				if k, ok := byKey[u.KeyID]; ok {
					k.Rows += u.Rows
					k.Values += u.Values
					continue
				}
				byKey[u.KeyID] = &u
			}
		}
		return nil
	})
	for _, u := range byKey {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b KeyUse) int { return strings.Compare(a.KeyID, b.KeyID) })
	return out, classify(op, err)
}

// readOnlyService runs fn in a read-only transaction as rampart_service.
func (s *Store) readOnlyService(ctx context.Context, op string, fn func(context.Context, *txn) error) error {
	pool, err := s.servicePool(op)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	b.Queue(sqlSetSvcRole)
	return s.run(ctx, pool, op, b, nil, fn)
}

// Rotation is one run of re-sealing values under the newest key. A run
// interrupted (Ctrl-C, SIGKILL) leaves its row unfinished; the next run to
// the same key resumes it: every batch is its own committed transaction,
// so what was re-sealed stays re-sealed.
type Rotation struct {
	ID        int64
	Target    string
	Resumed   bool
	StartedAt time.Time
	// Resealed and Failed count values over the whole rotation, earlier
	// interrupted runs included.
	Resealed, Failed int64
	// Remaining is how many values were sealed under another key when
	// this run began.
	Remaining int64

	f      FieldKeys
	ring   *fieldcrypt.Ring
	cursor struct{ org, id uuid.UUID }
	// table is the sealed table being walked: 0 bom_lines, 1 crew_members.
	table int
	done  bool
}

// StartRotation begins (or resumes) rotating every sealed value to ring's
// newest key, auditing the start. ring must hold every key still in use.
func (f FieldKeys) StartRotation(ctx context.Context, ring *fieldcrypt.Ring) (*Rotation, error) {
	const op = "store.StartRotation"
	if ring == nil {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "no field key ring")
	}
	use, err := f.Status(ctx)
	if err != nil {
		return nil, err
	}
	r := &Rotation{Target: ring.Newest(), f: f, ring: ring}
	for _, u := range use {
		if u.KeyID != r.Target {
			r.Remaining += u.Values
		}
	}
	err = f.s.asService(ctx, "start or resume rotating encrypted fields to key "+r.Target, func(ctx context.Context, tx *txn) error {
		err := tx.queryRow(ctx, sqlOpenRotation, r.Target).Scan(&r.ID, &r.Resealed, &r.Failed, &r.StartedAt)
		action := audit.ActionKeyRotationResumed
		if err == pgx.ErrNoRows {
			action = audit.ActionKeyRotationStarted
			err = tx.queryRow(ctx, sqlStartRotation, r.Target).Scan(&r.ID, &r.StartedAt)
		} else if err == nil {
			r.Resumed = true
		}
		if err != nil {
			return err
		}
		return tx.recordAudit(ctx, audit.Event{ActorType: audit.ActorService, ActorID: f.s.actor, Action: action,
			TargetType: "field_key", TargetID: r.Target,
			Metadata: snapshot(map[string]any{"rotation": r.ID, "values_to_reseal": r.Remaining, "keys_in_ring": ring.IDs()})})
	})
	return r, classify(op, err)
}

// Next re-seals one batch of values (batch rows; 0 = 500) in its own
// committed transaction, bill-of-materials lines first, then crew day
// rates, and reports how many values it re-sealed and how
// many failed to open (left as they are, counted, and logged: a value
// that fails is never lost, and `keys status` keeps showing its key).
// done is true when no row sealed under another key remains ahead.
func (r *Rotation) Next(ctx context.Context, batch int) (resealed, failed int, done bool, err error) {
	const op = "store.RotateBatch"
	if r.done {
		return 0, 0, true, nil
	}
	if batch <= 0 {
		batch = defaultRotationSize
	}
	batch = min(batch, maxRotationBatch)
	if r.table == 1 {
		return r.nextCrew(ctx, batch)
	}
	s := r.f.s
	err = s.asService(ctx, fmt.Sprintf("re-seal a batch of encrypted fields under key %s (rotation %d)", r.Target, r.ID), func(ctx context.Context, tx *txn) error {
		resealed, failed = 0, 0
		rows, err := tx.query(ctx, sqlStaleSealedRows, r.Target, r.cursor.org, r.cursor.id, batch)
		if err != nil {
			return err
		}
		type stale struct {
			org, id                      uuid.UUID
			unitCost, sourcing, leadTime []byte
			kid                          string
		}
		list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (stale, error) {
			var x stale
			return x, row.Scan(&x.org, &x.id, &x.unitCost, &x.sourcing, &x.leadTime, &x.kid)
		})
		if err != nil {
			return err
		}
		if len(list) < batch {
			r.done = true
		}
		for _, x := range list {
			r.cursor.org, r.cursor.id = x.org, x.id
			line := rampart.BOMLine{OrganizationID: x.org, ID: x.id}
			envs := [sealedColCount]*[]byte{&x.unitCost, &x.sourcing, &x.leadTime}
			cols := [sealedColCount]string{colUnitCost, colSourcing, colLeadTime}
			ok, n := true, 0
			for i, env := range envs {
				if *env == nil {
					continue
				}
				pt, _, err := r.ring.Open(binding(line, cols[i]), *env)
				if err == nil {
					*env, err = r.ring.Seal(binding(line, cols[i]), pt)
				}
				if err != nil {
					s.log.Error("rotation: sealed field unreadable; left under its key", "table", tableBOMLines, "column", cols[i], "row", x.id, "key_id", x.kid, "err", err)
					ok = false
					break
				}
				n++
			}
			if !ok {
				failed += countSealed(x.unitCost, x.sourcing, x.leadTime)
				continue
			}
			if _, err := tx.exec(ctx, sqlResealRow, x.org, x.id, x.unitCost, x.sourcing, x.leadTime, r.Target, x.kid); err != nil {
				return err
			}
			resealed += n
		}
		_, err = tx.exec(ctx, sqlCountRotation, r.ID, resealed, failed)
		return err
	})
	if err != nil {
		r.done = false
		return 0, 0, false, classify(op, err)
	}
	r.Resealed += int64(resealed)
	r.Failed += int64(failed)
	if r.done {
		// The bill-of-materials lines are done: the crew day rates next.
		r.done, r.table = false, 1
		r.cursor.org, r.cursor.id = uuid.Nil, uuid.Nil
	}
	return resealed, failed, false, nil
}

// nextCrew re-seals one batch of crew day rates (crew_members.day_rate_enc)
// like Next does for bill-of-materials lines.
func (r *Rotation) nextCrew(ctx context.Context, batch int) (resealed, failed int, done bool, err error) {
	const op = "store.RotateBatch"
	s := r.f.s
	err = s.asService(ctx, fmt.Sprintf("re-seal a batch of crew day rates under key %s (rotation %d)", r.Target, r.ID), func(ctx context.Context, tx *txn) error {
		resealed, failed = 0, 0
		rows, err := tx.query(ctx, sqlStaleSealedCrew, r.Target, r.cursor.org, r.cursor.id, batch)
		if err != nil {
			return err
		}
		type stale struct {
			org, id uuid.UUID
			rate    []byte
			kid     string
		}
		list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (stale, error) {
			var x stale
			return x, row.Scan(&x.org, &x.id, &x.rate, &x.kid)
		})
		if err != nil {
			return err
		}
		if len(list) < batch {
			r.done = true
		}
		for _, x := range list {
			r.cursor.org, r.cursor.id = x.org, x.id
			b := crewBinding(x.org, x.id)
			pt, _, err := r.ring.Open(b, x.rate)
			var env []byte
			if err == nil {
				env, err = r.ring.Seal(b, pt)
			}
			if err != nil {
				s.log.Error("rotation: sealed field unreadable; left under its key", "table", tableCrewMembers, "column", colDayRate, "row", x.id, "key_id", x.kid, "err", err)
				failed++
				continue
			}
			if _, err := tx.exec(ctx, sqlResealCrew, x.org, x.id, env, r.Target, x.kid); err != nil {
				return err
			}
			resealed++
		}
		_, err = tx.exec(ctx, sqlCountRotation, r.ID, resealed, failed)
		return err
	})
	if err != nil {
		r.done = false
		return 0, 0, false, classify(op, err)
	}
	r.Resealed += int64(resealed)
	r.Failed += int64(failed)
	return resealed, failed, r.done, nil
}

// Again starts another pass from the beginning: for values a concurrent
// transaction held locked (skipped, not waited for) during this one.
func (r *Rotation) Again() {
	r.done, r.table = false, 0
	r.cursor.org, r.cursor.id = uuid.Nil, uuid.Nil
}

func countSealed(envs ...[]byte) int {
	n := 0
	for _, e := range envs {
		if e != nil {
			n++
		}
	}
	return n
}

// Finish closes the rotation and audits its totals.
func (r *Rotation) Finish(ctx context.Context) error {
	const op = "store.FinishRotation"
	s := r.f.s
	err := s.asService(ctx, fmt.Sprintf("finish rotating encrypted fields to key %s (rotation %d)", r.Target, r.ID), func(ctx context.Context, tx *txn) error {
		if err := tx.queryRow(ctx, sqlFinishRotation, r.ID).Scan(&r.Resealed, &r.Failed); err != nil {
			return err
		}
		return tx.recordAudit(ctx, audit.Event{ActorType: audit.ActorService, ActorID: s.actor, Action: audit.ActionKeyRotationFinished,
			TargetType: "field_key", TargetID: r.Target,
			Metadata: snapshot(map[string]any{"rotation": r.ID, "values_resealed": r.Resealed, "values_failed": r.Failed,
				"seconds": time.Since(r.StartedAt).Seconds()})})
	})
	return classify(op, err)
}
