package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// The audit log's maintenance: sealing, retention and verification run on
// the service path; reading and export run in the tenant context (admins
// see their organization's events, row-level security enforces it).

// sealLockKey serialises sealers and purgers across processes.
const sealLockKey = 7261_7572_0001

// From queries/auditlog.sql.
var (
	sqlHorizon            = query("Horizon")
	sqlLastSeals          = query("LastSeals")
	sqlChainMACsOrg       = query("ChainMACsOrg")
	sqlChainMACsPlatform  = query("ChainMACsPlatform")
	sqlInsertSeal         = query("InsertSeal")
	sqlSeals              = query("Seals")
	sqlEventChains        = query("EventChains")
	sqlChains             = query("Chains")
	sqlHeadSeals          = query("HeadSeals")
	sqlOrganizationExists = query("OrganizationExists")
	sqlCountEvents        = query("CountEvents")
	sqlCountOrgEvents     = query("CountOrgEvents")
	sqlSnapshotXmax       = query("SnapshotXmax")
	sqlNewestXact         = query("NewestXact")
	sqlNow                = query("Now")
	sqlSealedChains       = query("SealedChains")
	sqlPurge              = query("Purge")
)

// auditTx runs fn on the service pool with the audit maintenance lock held.
// Its record is the seal or purge rows it writes (and, for a purge, an
// audit event), not a service.invoked event per run.
func (s *Store) auditTx(ctx context.Context, op string, readOnly bool, fn func(context.Context, *txn) error) error {
	pool, err := s.servicePool(op)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	if readOnly {
		// REPEATABLE READ: verification sees one consistent snapshot.
		b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	} else {
		b.Queue(sqlBegin)
	}
	b.Queue(sqlSetSvcRole)
	if !readOnly {
		b.Queue("SELECT pg_advisory_xact_lock($1)", int64(sealLockKey))
	}
	return s.run(ctx, pool, op, b, nil, fn)
}

type chainHead struct {
	seq   int64
	toXID uint64
	mac   []byte
}

func (tx *txn) lastSeals(ctx context.Context) (map[string]chainHead, error) {
	rows, err := tx.query(ctx, sqlLastSeals)
	if err != nil {
		return nil, err
	}
	heads := map[string]chainHead{}
	for rows.Next() {
		var chain string
		var h chainHead
		var to int64
		if err := rows.Scan(&chain, &h.seq, &h.mac, &to); err != nil {
			rows.Close()
			return nil, err
		}
		h.toXID = uint64(to)
		heads[chain] = h
	}
	rows.Close()
	return heads, rows.Err()
}

// Seal seals, per chain, every event written by transactions that
// have all ended, and returns how many events it sealed. Safe to run from
// several processes at once (an advisory lock serialises them).
func (l AuditLog) Seal(ctx context.Context) (int64, error) {
	s := l.s
	const op = "store.SealAudit"
	if s.audit == nil {
		return 0, rampart.Errorf(op, rampart.KindUnavailable, "no audit key configured")
	}
	var sealed int64
	err := s.auditTx(ctx, op, false, func(ctx context.Context, tx *txn) error {
		var horizon int64
		if err := tx.queryRow(ctx, sqlHorizon).Scan(&horizon); err != nil {
			return err
		}
		heads, err := tx.lastSeals(ctx)
		if err != nil {
			return err
		}
		rows, err := tx.query(ctx, sqlEventChains)
		if err != nil {
			return err
		}
		chains, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, chain := range chains {
			head := heads[chain]
			if head.toXID >= uint64(horizon) {
				continue
			}
			n, err := tx.sealChain(ctx, s.audit, chain, head, uint64(horizon))
			if err != nil {
				return fmt.Errorf("seal chain %s: %w", chain, err)
			}
			sealed += n
		}
		return nil
	})
	return sealed, classify(op, err)
}

// sealChain seals [head.toXID, horizon) of one chain, if it has events there.
func (tx *txn) sealChain(ctx context.Context, k *audit.Keyring, chain string, head chainHead, horizon uint64) (int64, error) {
	q := sqlChainMACsOrg
	if chain == audit.PlatformChain {
		q = sqlChainMACsPlatform
	}
	rows, err := tx.query(ctx, q, chain, fmt.Sprint(head.toXID), fmt.Sprint(horizon))
	if err != nil {
		return 0, err
	}
	d := audit.NewDigest()
	var n int64
	var maxAt time.Time
	for rows.Next() {
		var mac []byte
		var at time.Time
		if err := rows.Scan(&mac, &at); err != nil {
			rows.Close()
			return 0, err
		}
		d.Add(mac)
		n++
		if at.After(maxAt) {
			maxAt = at
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || n == 0 {
		return 0, err
	}
	seal := audit.Seal{Chain: chain, Seq: head.seq + 1, Kind: audit.SealKind, FromXID: head.toXID, ToXID: horizon,
		EventCount: n, MaxOccurredAt: maxAt, Digest: d.Sum(), SealedAt: time.Now(), PrevMAC: head.mac}
	k.SignSeal(&seal)
	if err := tx.insertSeal(ctx, seal); err != nil {
		return 0, err
	}
	// The head MAC leaves the database in the log: an external anchor
	// against truncation of the newest seals (docs/audit.md). It is not a
	// secret, and its type tells the log scrubber so.
	tx.store.log.Info("audit chain sealed", "chain", chain, "seq", seal.Seq, "events", n, "head_mac", audit.PublicMAC(seal.MAC))
	return n, nil
}

func (tx *txn) insertSeal(ctx context.Context, s audit.Seal) error {
	_, err := tx.exec(ctx, sqlInsertSeal, s.Chain, s.Seq, s.Kind, fmt.Sprint(s.FromXID), fmt.Sprint(s.ToXID), s.EventCount,
		s.MaxOccurredAt, s.Digest, s.PurgedThrough, s.SealedAt, s.PrevMAC, s.MACKeyID, s.MAC)
	return err
}

func (tx *txn) seals(ctx context.Context, chain string) ([]audit.Seal, error) {
	rows, err := tx.query(ctx, sqlSeals, chain)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanSeal)
}

// scanSeal reads a row of sqlSeals' (or sqlHeadSeals') columns.
func scanSeal(r pgx.CollectableRow) (audit.Seal, error) {
	var s audit.Seal
	var from, to int64
	err := r.Scan(&s.Chain, &s.Seq, &s.Kind, &from, &to, &s.EventCount, &s.MaxOccurredAt, &s.Digest,
		&s.PurgedThrough, &s.SealedAt, &s.PrevMAC, &s.MACKeyID, &s.MAC)
	s.FromXID, s.ToXID = uint64(from), uint64(to)
	return s, err
}

// MinAuditRetention is the floor no configuration may go below (the
// database enforces it too, in audit_purge()).
const MinAuditRetention = 12 * 30 * 24 * time.Hour

// PurgeResult says what retention removed from one chain.
type PurgeResult struct {
	Chain       string
	ThroughSeal int64
	Events      int64
}

// Purge deletes, per chain, the events of every sealed range whose
// newest event is older than cutoff (ranges are purged whole, oldest
// first), and leaves a purge record in the chain so verification still
// passes over what remains and reports what was removed.
func (l AuditLog) Purge(ctx context.Context, cutoff time.Time) ([]PurgeResult, error) {
	s := l.s
	const op = "store.PurgeAudit"
	if time.Since(cutoff) < MinAuditRetention {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "retention below the 12-month minimum is refused")
	}
	if _, err := s.Audit().Seal(ctx); err != nil {
		return nil, err
	}
	var out []PurgeResult
	err := s.auditTx(ctx, op, false, func(ctx context.Context, tx *txn) error {
		rows, err := tx.query(ctx, sqlSealedChains)
		if err != nil {
			return err
		}
		chains, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, chain := range chains {
			seals, err := tx.seals(ctx, chain)
			if err != nil {
				return err
			}
			var purged int64
			for _, se := range seals {
				if se.Kind == audit.PurgeKind {
					purged = se.PurgedThrough
				}
			}
			// The newest contiguous run of old seals after what was purged.
			var through *audit.Seal
			for i := range seals {
				se := &seals[i]
				if se.Kind != audit.SealKind || se.Seq <= purged {
					continue
				}
				if !se.MaxOccurredAt.Before(cutoff) {
					break
				}
				through = se
			}
			if through == nil {
				continue
			}
			var n int64
			if err := tx.queryRow(ctx, sqlPurge, chain, fmt.Sprint(through.ToXID)).Scan(&n); err != nil {
				return err
			}
			last := seals[len(seals)-1]
			rec := audit.Seal{Chain: chain, Seq: last.Seq + 1, Kind: audit.PurgeKind, FromXID: 0, ToXID: through.ToXID,
				EventCount: n, MaxOccurredAt: cutoff, Digest: []byte{}, PurgedThrough: through.Seq, SealedAt: time.Now(), PrevMAC: last.MAC}
			tx.store.audit.SignSeal(&rec)
			if err := tx.insertSeal(ctx, rec); err != nil {
				return err
			}
			meta, _ := json.Marshal(map[string]any{"chain": chain, "through_seal": through.Seq, "events": n, "cutoff": cutoff.UTC()})
			ev := audit.Event{ActorType: audit.ActorSystem, ActorID: tx.service, Action: audit.ActionAuditPurged,
				TargetType: "audit_chain", TargetID: chain, Reason: "retention", Metadata: meta}
			if err := tx.recordAudit(ctx, ev); err != nil {
				return err
			}
			out = append(out, PurgeResult{Chain: chain, ThroughSeal: through.Seq, Events: n})
		}
		return nil
	})
	return out, classify(op, err)
}

// VerifyReport is the result of verifying the audit log.
type VerifyReport struct {
	Chains []audit.ChainReport `json:"chains"`
	Events int64               `json:"events"`
}

// OK reports whether every chain verified.
func (r VerifyReport) OK() bool {
	for _, c := range r.Chains {
		if !c.OK() {
			return false
		}
	}
	return true
}

// From queries/auditlog.sql.
var (
	sqlChainEventsOrg      = query("ChainEventsOrg")
	sqlChainEventsPlatform = query("ChainEventsPlatform")
)

// Verify recomputes every event's MAC and every seal of the chains
// (all, or only org's chain) in one consistent snapshot. progress, when
// not nil, is called with the running event count and the total.
//
// It cannot tell that the newest seals of a chain were deleted together
// with their events (what is left is a valid, shorter chain): that takes
// anchors kept outside the database, see VerifyAuditAnchored.
func (l AuditLog) Verify(ctx context.Context, org *uuid.UUID, progress func(done, total int64)) (VerifyReport, error) {
	s := l.s
	return s.Audit().VerifyAnchored(ctx, org, nil, progress)
}

// VerifyAnchored is VerifyAudit that also checks every chain against
// its head in anchors (when not nil): a chain that no longer holds its
// anchored seal gets a problem naming the chain and the seal. Chains newer
// than the anchors are verified as usual. Errors: invalid when an anchor
// names a chain this database has never had (no seals, no events, no
// organization: the wrong file, or the wrong database), or when org is
// given and anchors has no head for its chain; not found when org's chain
// has no events and no seals and is not anchored.
func (l AuditLog) VerifyAnchored(ctx context.Context, org *uuid.UUID, anchors *audit.Anchors, progress func(done, total int64)) (VerifyReport, error) {
	s := l.s
	const op = "store.VerifyAudit"
	var rep VerifyReport
	if s.audit == nil {
		return rep, rampart.Errorf(op, rampart.KindUnavailable, "no audit key configured")
	}
	if org != nil && anchors != nil {
		if _, ok := anchors.For(org.String()); !ok {
			return rep, rampart.Errorf(op, rampart.KindInvalid, "the anchor file has no head for chain %s", org)
		}
	}
	var total int64
	err := s.auditTx(ctx, op, true, func(ctx context.Context, tx *txn) error {
		if progress != nil {
			var err error
			if org != nil {
				err = tx.queryRow(ctx, sqlCountOrgEvents, *org).Scan(&total)
			} else {
				err = tx.queryRow(ctx, sqlCountEvents).Scan(&total)
			}
			if err != nil {
				return err
			}
		}
		var xmax int64
		if err := tx.queryRow(ctx, sqlSnapshotXmax).Scan(&xmax); err != nil {
			return err
		}
		var chains []string
		if org != nil {
			chains = []string{org.String()}
		} else {
			rows, err := tx.query(ctx, sqlChains)
			if err != nil {
				return err
			}
			if chains, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
			// An anchored chain with nothing left in the database is
			// verified too: its anchor then reports it.
			if anchors != nil {
				for _, a := range anchors.Chains {
					if !slices.Contains(chains, a.Chain) {
						chains = append(chains, a.Chain)
					}
				}
			}
		}
		for _, chain := range chains {
			seals, err := tx.seals(ctx, chain)
			if err != nil {
				return err
			}
			v := s.audit.StartChain(chain, seals)
			v.LimitXact(uint64(xmax))
			if err := tx.streamEvents(ctx, chain, v, func() {
				rep.Events++
				if progress != nil && rep.Events%50000 == 0 {
					progress(rep.Events, total)
				}
			}); err != nil {
				return err
			}
			var anchored bool
			if anchors != nil {
				var a audit.Anchor
				if a, anchored = anchors.For(chain); anchored {
					v.CheckAnchor(a)
				}
			}
			cr := v.Finish()
			if cr.Events == 0 && cr.Seals == 0 {
				switch {
				case anchored:
					known, err := tx.chainKnown(ctx, chain)
					if err != nil {
						return err
					}
					if !known {
						return rampart.Errorf(op, rampart.KindInvalid, "the anchor file names unknown chain %s: this database has no organization, events or seals for it "+
							"(an anchor file of another database? if the organization existed here, it was erased together with its audit log)", chain)
					}
				case org != nil:
					return rampart.Errorf(op, rampart.KindNotFound, "the audit log has no events and no seals for organization %s", org)
				}
			}
			rep.Chains = append(rep.Chains, cr)
		}
		return nil
	})
	if progress != nil && err == nil {
		progress(rep.Events, total)
	}
	return rep, classify(op, err)
}

// chainKnown reports whether the database knows a chain that has no events
// and no seals: the platform chain always, an organization's while the
// organization exists.
func (tx *txn) chainKnown(ctx context.Context, chain string) (bool, error) {
	if chain == audit.PlatformChain {
		return true, nil
	}
	id, err := uuid.Parse(chain)
	if err != nil {
		return false, nil
	}
	var exists bool
	err = tx.queryRow(ctx, sqlOrganizationExists, id).Scan(&exists)
	return exists, err
}

// Anchors reads the head of every chain (its newest seal or
// retention checkpoint) in one snapshot, for `rampart audit anchor`. Each
// head's MAC is checked first: a head that does not verify is not worth
// anchoring (conflict: run `rampart audit verify`). unsealed lists the
// chains that have events but no seal yet, which the anchors cannot cover.
// Events after a chain's newest seal are not covered either: seal first.
func (l AuditLog) Anchors(ctx context.Context) (anchors audit.Anchors, unsealed []string, err error) {
	s := l.s
	const op = "store.AuditAnchors"
	if s.audit == nil {
		return anchors, nil, rampart.Errorf(op, rampart.KindUnavailable, "no audit key configured")
	}
	var heads []audit.Anchor
	var at time.Time
	err = s.auditTx(ctx, op, true, func(ctx context.Context, tx *txn) error {
		if err := tx.queryRow(ctx, sqlNow).Scan(&at); err != nil {
			return err
		}
		rows, err := tx.query(ctx, sqlHeadSeals)
		if err != nil {
			return err
		}
		seals, err := pgx.CollectRows(rows, scanSeal)
		if err != nil {
			return err
		}
		for i := range seals {
			if !s.audit.CheckSeal(&seals[i]) {
				return rampart.Errorf(op, rampart.KindConflict, "chain %s: its newest seal (%d) does not match its MAC; run `rampart audit verify`", seals[i].Chain, seals[i].Seq)
			}
			heads = append(heads, audit.AnchorOf(seals[i]))
		}
		rows, err = tx.query(ctx, sqlChains)
		if err != nil {
			return err
		}
		chains, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, c := range chains {
			if !slices.ContainsFunc(heads, func(h audit.Anchor) bool { return h.Chain == c }) {
				unsealed = append(unsealed, c)
			}
		}
		return nil
	})
	if err != nil {
		return anchors, nil, classify(op, err)
	}
	return audit.NewAnchors(heads, at), unsealed, nil
}

// parseUint reads an xid8 sent as text (decimal) or binary (8 bytes).
func parseUint(b []byte, format int16) (uint64, bool) {
	if format == pgx.BinaryFormatCode {
		if len(b) != 8 {
			return 0, false
		}
		return binary.BigEndian.Uint64(b), true
	}
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// inetText appends the text form of a binary inet value (family, bits,
// is_cidr, length, address) the way the writer signed it: netip's
// canonical form. Empty input (NULL) appends nothing.
func inetText(dst, b []byte) []byte {
	if len(b) < 4 || int(b[3]) != len(b)-4 {
		return dst
	}
	if a, ok := netip.AddrFromSlice(b[4:]); ok {
		return a.Unmap().AppendTo(dst)
	}
	return dst
}

// pgEpochMicros is 2000-01-01 (PostgreSQL's timestamp epoch) in Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

// streamEvents feeds a chain's events, in (xact_id, id) order, to the
// verifier straight from the wire (binary int8, uuid, timestamptz and
// bytea; text for the rest) without allocating per row.
func (tx *txn) streamEvents(ctx context.Context, chain string, v *audit.ChainVerifier, count func()) error {
	q := sqlChainEventsOrg
	if chain == audit.PlatformChain {
		q = sqlChainEventsPlatform
	}
	rows, err := tx.query(ctx, q, chain)
	if err != nil {
		return err
	}
	defer rows.Close()
	// Binary: int8, uuid, timestamptz, inet, bytea. Text: text and json
	// (their binary form is the text), and xid8 (parsed here).
	fds := rows.FieldDescriptions()
	for _, i := range []int{0, 1, 2, 3, 12, 19, 20, 21, 22, 23} {
		if fds[i].Format != pgx.BinaryFormatCode {
			return fmt.Errorf("audit verify: column %s arrived in text format", fds[i].Name)
		}
	}
	var r audit.RawEvent
	var ipText []byte
	for rows.Next() {
		c := rows.RawValues()
		if len(c) != 24 || len(c[0]) != 8 || len(c[1]) != 16 || len(c[3]) != 8 || len(c[20]) != 2 {
			return errors.New("audit verify: unexpected row shape")
		}
		xact, ok := parseUint(c[17], fds[17].Format)
		if !ok {
			return errors.New("audit verify: unreadable xact_id")
		}
		id := int64(binary.BigEndian.Uint64(c[0]))
		ipText = inetText(ipText[:0], c[12])
		r = audit.RawEvent{EventKey: c[1], OrganizationID: c[2], OccurredAtUS: int64(binary.BigEndian.Uint64(c[3])) + pgEpochMicros,
			ActorType: c[4], ActorID: c[5], ActorScope: c[6], Action: c[7], TargetType: c[8], TargetID: c[9],
			Before: c[10], After: c[11], IP: ipText, UserAgent: c[13], RequestID: c[14], Reason: c[15], Metadata: c[16],
			MACKeyID: c[18], MAC: c[19], Scheme: int(binary.BigEndian.Uint16(c[20])), PIISalt: c[21], PIICommit: c[22],
			RedactionMAC: c[23]}
		if len(c[12]) == 0 {
			r.IP = nil
		}
		v.EventRaw(id, &r, xact)
		count()
	}
	return rows.Err()
}

func raw(s *string) json.RawMessage {
	if s == nil {
		return nil
	}
	return json.RawMessage(*s)
}

// AuditFilter selects events for the viewer and the export.
type AuditFilter struct {
	Since, Until time.Time // zero = open
	ActorID      string
	Action       string
	Before       int64 // cursor: events with id < Before (0 = newest); ids are bigint
	Limit        int
}

// sqlAuditPage is in queries/auditlog.sql.
var sqlAuditPage = query("AuditPage")

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// Events pages through the tenant's events, newest first.
func (tx AuditReadTx) Events(ctx context.Context, f AuditFilter) ([]audit.Stored, error) {
	return auditPage(ctx, tx.txn, tx.tc.OrganizationID, f)
}

func auditPage(ctx context.Context, tx *txn, orgID uuid.UUID, f AuditFilter) ([]audit.Stored, error) {
	const op = "store.AuditEvents"
	if f.Limit <= 0 || f.Limit > 500 {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "limit must be between 1 and 500")
	}
	if f.Before < 0 {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "cursor must be a positive event id")
	}
	var out []audit.Stored
	err := tx.eachEvent(ctx, orgID, f, func(st *audit.Stored) error {
		out = append(out, *st)
		return nil
	})
	return out, classify(op, err)
}

// Each streams the tenant's events matching f (newest first, no limit
// when f.Limit is 0) to fn, for the CSV export.
func (tx AuditReadTx) Each(ctx context.Context, f AuditFilter, fn func(*audit.Stored) error) error {
	return eachAuditEvent(ctx, tx.txn, tx.tc.OrganizationID, f, fn)
}

func eachAuditEvent(ctx context.Context, tx *txn, orgID uuid.UUID, f AuditFilter, fn func(*audit.Stored) error) error {
	if f.Limit == 0 {
		f.Limit = 1 << 62
	}
	return classify("store.EachAuditEvent", tx.eachEvent(ctx, orgID, f, fn))
}

func (tx *txn) eachEvent(ctx context.Context, orgID uuid.UUID, f AuditFilter, fn func(*audit.Stored) error) error {
	rows, err := tx.query(ctx, sqlAuditPage, orgID, nullTime(f.Since), nullTime(f.Until), f.ActorID, f.Action, f.Before, f.Limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	var actorType string
	var scope, before, after, meta, ip *string
	var xact int64
	for rows.Next() {
		var st audit.Stored
		if err := rows.Scan(&st.ID, &st.EventKey, &st.OrganizationID, &st.OccurredAt, &actorType, &st.ActorID, &scope, &st.Action,
			&st.TargetType, &st.TargetID, &before, &after, &ip, &st.UserAgent, &st.RequestID, &st.Reason, &meta,
			&xact, &st.MACKeyID, &st.MAC); err != nil {
			return err
		}
		st.ActorType = audit.ActorType(actorType)
		st.ActorScope, st.Before, st.After, st.Metadata = raw(scope), raw(before), raw(after), raw(meta)
		if ip != nil {
			st.IP = audit.ParseIP(*ip)
		}
		if err := fn(&st); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Export streams an organization's events on the service path (the
// CLI export, which has no tenant session) and records the export.
func (l AuditLog) Export(ctx context.Context, orgID uuid.UUID, f AuditFilter, reason string, fn func(*audit.Stored) error) error {
	s := l.s
	meta, _ := json.Marshal(map[string]any{"since": nullTime(f.Since), "until": nullTime(f.Until), "actor": f.ActorID, "action": f.Action})
	// Recorded first, in its own transaction: an export cut short still leaves its trace.
	err := s.asService(ctx, reason, func(ctx context.Context, tx *txn) error {
		var exists bool
		if err := tx.queryRow(ctx, sqlOrganizationExists, orgID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return rampart.Errorf("store.ExportAudit", rampart.KindNotFound, "no organization %s", orgID)
		}
		return tx.recordAudit(ctx, audit.Event{OrganizationID: &orgID, ActorType: audit.ActorService, ActorID: tx.service,
			Action: audit.ActionAuditExported, TargetType: "audit_log", Reason: reason, Metadata: meta})
	})
	if err != nil {
		return err
	}
	return s.asService(ctx, reason, func(ctx context.Context, tx *txn) error {
		return eachAuditEvent(ctx, tx, orgID, f, fn)
	})
}

// SealNow seals every event committed before the call: it waits until
// every transaction that could still add an older event has ended (the
// seal horizon is cluster-wide, so a long transaction anywhere delays it),
// then seals. It returns how many events it sealed.
func (l AuditLog) SealNow(ctx context.Context) (int64, error) {
	s := l.s
	const op = "store.SealAuditNow"
	var target int64
	err := s.auditTx(ctx, op, true, func(ctx context.Context, tx *txn) error {
		return tx.queryRow(ctx, sqlNewestXact).Scan(&target)
	})
	if err != nil {
		return 0, classify(op, err)
	}
	for {
		var horizon int64
		err := s.auditTx(ctx, op, true, func(ctx context.Context, tx *txn) error {
			return tx.queryRow(ctx, sqlHorizon).Scan(&horizon)
		})
		if err != nil {
			return 0, classify(op, err)
		}
		if horizon > target {
			return s.Audit().Seal(ctx)
		}
		select {
		case <-ctx.Done():
			return 0, rampart.Errorf(op, rampart.KindUnavailable, "a long-running transaction keeps the seal horizon below the newest event; try again later")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// AuditEvents pages through orgID's events, newest first (operators).
func (tx *ServiceTx) AuditEvents(ctx context.Context, orgID uuid.UUID, f AuditFilter) ([]audit.Stored, error) {
	return auditPage(ctx, tx.txn, orgID, f)
}
