package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Problem is one verification failure, named precisely.
type Problem struct {
	Chain   string `json:"chain"`
	EventID int64  `json:"event_id,omitempty"`
	Seal    int64  `json:"seal,omitempty"`
	What    string `json:"what"`
}

func (p Problem) String() string {
	switch {
	case p.EventID != 0:
		return fmt.Sprintf("chain %s, event %d: %s", p.Chain, p.EventID, p.What)
	case p.Seal != 0:
		return fmt.Sprintf("chain %s, seal %d: %s", p.Chain, p.Seal, p.What)
	}
	return fmt.Sprintf("chain %s: %s", p.Chain, p.What)
}

// PurgeInfo says what retention removed from a chain.
type PurgeInfo struct {
	ThroughSeal int64     `json:"through_seal"`
	Events      int64     `json:"events"`
	Before      time.Time `json:"events_before"` // newest purged event was older than this
	At          time.Time `json:"purged_at"`
}

// ChainReport is the verification result of one chain.
type ChainReport struct {
	Chain   string `json:"chain"`
	Events  int64  `json:"events"`  // events read
	Sealed  int64  `json:"sealed"`  // of which in sealed ranges
	Pending int64  `json:"pending"` // after the last seal (MAC-checked only)
	// Erased counts the events whose personal fields were erased (data
	// subject erasure): what is left of them verified. ErasedIDs names the
	// first 100 of them.
	Erased       int64       `json:"erased,omitempty"`
	ErasedIDs    []int64     `json:"erased_event_ids,omitempty"`
	Seals        int64       `json:"seals"`
	Purges       []PurgeInfo `json:"purges,omitempty"`
	HeadSeq      int64       `json:"head_seq,omitempty"`      // the newest seal (or retention checkpoint)
	HeadMAC      PublicMAC   `json:"head_mac,omitempty"`      // its MAC, in hex: what `rampart audit anchor` writes down
	AnchoredSeal int64       `json:"anchored_seal,omitempty"` // the seal an anchor file named (0: not checked against one)
	Problems     []Problem   `json:"problems,omitempty"`
}

// OK reports whether the chain verified.
func (r ChainReport) OK() bool { return len(r.Problems) == 0 }

// ChainVerifier checks one chain: the seal chain first (Start), then the
// events in (xact_id, id) order (Event), then the end (Finish).
type ChainVerifier struct {
	rep     ChainReport
	checker *Checker
	seals   []Seal // kind "seal", in order
	all     []Seal // every row of the seal chain, as read (for CheckAnchor)
	purged  int64  // seals up to this seq were purged
	cur     int    // index into seals of the range being read
	count   int64
	digest  *Digest
	lastID  int64  // last event id read in the current range
	prevID  int64  // last event id of the previous range
	xmax    uint64 // first transaction id not yet assigned when verification began (0: unknown)
	// declared is how many of the chain's events its verified
	// privacy.erasure.completed events say they erased.
	declared int64
}

// declareErasure adds what a verified erasure event says it erased.
func (v *ChainVerifier) declareErasure(meta []byte) {
	var m struct {
		N int64 `json:"audit_events_erased"`
	}
	if json.Unmarshal(meta, &m) == nil && m.N > 0 {
		v.declared += m.N
	}
}

// LimitXact makes the verifier flag events whose transaction id had not
// been assigned when verification began: xact_id is not covered by the
// MAC, and pushing it into the future would keep an event "pending"
// (never sealed) forever.
func (v *ChainVerifier) LimitXact(xmax uint64) { v.xmax = xmax }

// StartChain verifies the seal chain and prepares to read events.
func (k *Keyring) StartChain(chain string, seals []Seal) *ChainVerifier {
	v := &ChainVerifier{rep: ChainReport{Chain: chain, Seals: int64(len(seals))}, checker: k.NewChecker(), all: seals}
	var prevMAC []byte
	var from uint64
	for i := range seals {
		s := &seals[i]
		switch {
		case s.Seq != int64(i+1):
			v.problem(0, s.Seq, fmt.Sprintf("seal %d is missing (found seal %d next)", i+1, s.Seq))
		case !k.CheckSeal(s):
			v.problem(0, s.Seq, "seal content does not match its MAC (changed or forged)")
		case !bytes.Equal(s.PrevMAC, prevMAC):
			v.problem(0, s.Seq, "seal does not link to the previous seal (chain broken)")
		}
		switch s.Kind {
		case SealKind:
			if s.FromXID != from {
				v.problem(0, s.Seq, fmt.Sprintf("seal starts at transaction %d, the previous one ended at %d", s.FromXID, from))
			}
			from = s.ToXID
			v.seals = append(v.seals, *s)
		case PurgeKind:
			v.purged = s.PurgedThrough
			v.rep.Purges = append(v.rep.Purges, PurgeInfo{ThroughSeal: s.PurgedThrough, Events: s.EventCount, Before: s.MaxOccurredAt, At: s.SealedAt})
		}
		prevMAC = s.MAC
	}
	v.rep.HeadMAC = prevMAC
	if len(seals) > 0 {
		v.rep.HeadSeq = seals[len(seals)-1].Seq
	}
	v.digest = NewDigest()
	return v
}

func (v *ChainVerifier) problem(event, seal int64, what string) {
	v.rep.Problems = append(v.rep.Problems, Problem{Chain: v.rep.Chain, EventID: event, Seal: seal, What: what})
}

// closeRange compares the events read for seal v.cur with what it recorded.
func (v *ChainVerifier) closeRange() {
	s := &v.seals[v.cur]
	if s.Seq <= v.purged {
		if v.count > 0 {
			v.problem(v.lastID, s.Seq, fmt.Sprintf("%d event(s) remain in a range that retention purged", v.count))
		}
	} else if v.count != s.EventCount || !bytes.Equal(v.digest.Sum(), s.Digest) {
		switch {
		case v.count < s.EventCount:
			v.problem(0, s.Seq, fmt.Sprintf("%d event(s) missing from the sealed range (after event %d, up to event %d): deleted out of band",
				s.EventCount-v.count, v.prevID, v.lastID))
		case v.count > s.EventCount:
			v.problem(v.lastID, s.Seq, fmt.Sprintf("%d event(s) more than were sealed: inserted out of band", v.count-s.EventCount))
		default:
			v.problem(0, s.Seq, fmt.Sprintf("the events of the sealed range (after event %d, up to event %d) differ from what was sealed", v.prevID, v.lastID))
		}
	}
	v.prevID = v.lastID
	v.cur++
	v.count = 0
	v.digest = NewDigest()
}

// Event checks the next event (in xact_id, id order) of the chain.
func (v *ChainVerifier) Event(s *Stored, xact uint64) {
	if s.Scheme == Scheme2 && s.Action == ActionPrivacyErasureFinished && v.checker.Check(s) && s.PIISalt != nil {
		v.declareErasure(s.Metadata)
	}
	r := s.raw()
	if s.Scheme != Scheme2 && s.RedactionMAC == nil {
		r.Scheme = Scheme1
		st := StatusBadMAC
		if v.checker.Check(s) {
			st = StatusOK
		}
		v.eventStatus(s.ID, st, s.MAC, xact)
		return
	}
	v.eventStatus(s.ID, v.checker.Status(&r), s.MAC, xact)
}

func (v *ChainVerifier) eventStatus(id int64, st Status, mac []byte, xact uint64) {
	v.rep.Events++
	switch st {
	case StatusBadMAC:
		v.problem(id, 0, "content does not match its MAC (changed, or inserted without the key)")
	case StatusBadPersonal:
		v.problem(id, 0, "content does not match its MAC: its personal fields differ from their signed commitment (changed; or marked erased while still holding personal content)")
	case StatusErased:
		v.rep.Erased++
		if len(v.rep.ErasedIDs) < 100 {
			v.rep.ErasedIDs = append(v.rep.ErasedIDs, id)
		}
	}
	if v.xmax != 0 && xact >= v.xmax {
		v.problem(id, 0, fmt.Sprintf("its transaction id %d had not been assigned yet (xact_id altered to keep it unsealed)", xact))
	}
	for v.cur < len(v.seals) && xact >= v.seals[v.cur].ToXID {
		v.closeRange()
	}
	if v.cur >= len(v.seals) {
		v.rep.Pending++
		return
	}
	v.rep.Sealed++
	v.count++
	v.digest.Add(mac)
	v.lastID = id
}

// Finish closes the remaining ranges and returns the report.
//
// An organization's chain may hold no more erased events than its
// verified erasure records account for: blanking personal fields outside a
// data subject erasure (which an attacker with write access to the
// database can do without the key) is reported as a problem. The platform
// chain's erasures are recorded in the organizations' chains, so they are
// reported, not counted.
func (v *ChainVerifier) Finish() ChainReport {
	for v.cur < len(v.seals) {
		v.closeRange()
	}
	if v.rep.Chain != PlatformChain && v.rep.Erased > v.declared {
		v.problem(0, 0, fmt.Sprintf("%d event(s) have erased personal fields but the chain's erasure records (privacy.erasure.completed) account for %d: "+
			"personal fields were blanked outside a data subject erasure (erased events: %v)", v.rep.Erased, v.declared, v.rep.ErasedIDs))
	}
	return v.rep
}
