package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// Anchors are the heads of the audit chains, written down outside the
// database (`rampart audit anchor`). A seal chain proves that nothing was
// changed behind its newest seal, but not that the newest seals are still
// there: a database superuser can delete the last seals and their events,
// and the sealer re-seals what is left. A head MAC kept elsewhere closes
// that gap: `rampart audit verify --anchors FILE` fails when a chain no
// longer holds the anchored seal.
//
// Head MACs are not secrets. A MAC reveals nothing about the key, and
// without the key nobody can make a seal that matches one.

// AnchorFormat and AnchorVersion identify the anchor file format. Version
// 1 is documented in docs/audit.md; a change that older readers would
// misread is a new version.
const (
	AnchorFormat  = "rampart.audit.anchors"
	AnchorVersion = 1
)

// Anchors is an anchor file: every chain's head when it was taken.
type Anchors struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Chains    []Anchor  `json:"chains"` // sorted by chain
}

// Anchor is one chain's head: the newest row of its seal chain (a seal,
// or a retention checkpoint). Only Chain, Seq and HeadMAC are checked; Kind
// and SealedAt are there for people.
type Anchor struct {
	Chain    string    `json:"chain"`
	Seq      int64     `json:"seq"`
	Kind     string    `json:"kind"`
	SealedAt time.Time `json:"sealed_at"`
	HeadMAC  PublicMAC `json:"head_mac"`
}

// AnchorOf returns the anchor of a chain whose newest seal is s.
func AnchorOf(s Seal) Anchor {
	return Anchor{Chain: s.Chain, Seq: s.Seq, Kind: s.Kind, SealedAt: s.SealedAt.UTC(), HeadMAC: slices.Clone(s.MAC)}
}

// PublicMAC is a MAC that is not a secret: a seal's MAC, the head of a
// chain. It is written as lower-case hex in JSON, in text and in logs (the
// log scrubber keeps it, see observe's publicLogValuer), so the head MACs
// in the log, in `verify`'s report and in anchor files compare by eye.
type PublicMAC []byte

// MarshalText writes the MAC as lower-case hex (JSON uses it too).
func (m PublicMAC) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(m)), nil }

// UnmarshalText reads the hex form back.
func (m *PublicMAC) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("a MAC is hex digits: %w", err)
	}
	*m = v
	return nil
}

// PublicLogValue marks the MAC as published on purpose: the log scrubber
// keeps a value of this shape (64 hex digits) instead of redacting it as
// a random secret.
func (m PublicMAC) PublicLogValue() string { return hex.EncodeToString(m) }

// NewAnchors builds an anchor file from chain heads taken at time at.
func NewAnchors(heads []Anchor, at time.Time) Anchors {
	return Anchors{Format: AnchorFormat, Version: AnchorVersion, CreatedAt: at.UTC().Truncate(time.Microsecond), Chains: heads}
}

// Encode writes the anchor file: indented JSON, chains sorted by name (the
// same heads always give the same file), one trailing newline.
func (a Anchors) Encode(w io.Writer) error {
	a.Format, a.Version = AnchorFormat, AnchorVersion
	a.Chains = slices.Clone(a.Chains)
	slices.SortFunc(a.Chains, func(x, y Anchor) int { return strings.Compare(x.Chain, y.Chain) })
	if a.Chains == nil {
		a.Chains = []Anchor{}
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// For returns the anchor of chain, if the file has one.
func (a Anchors) For(chain string) (Anchor, bool) {
	for _, c := range a.Chains {
		if c.Chain == chain {
			return c, true
		}
	}
	return Anchor{}, false
}

// chainRE is a chain name: "platform" or an organization id as PostgreSQL
// prints it (the audit_seals CHECK constraint).
var chainRE = regexp.MustCompile(`^(platform|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// ParseAnchors reads an anchor file. Anything but a well-formed version 1
// file is an invalid error that says what is wrong.
func ParseAnchors(r io.Reader) (Anchors, error) {
	const op = "audit.ParseAnchors"
	b, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return Anchors{}, rampart.Wrap(op, rampart.KindInvalid, err)
	}
	// The format and version first: a file from a newer release says so,
	// rather than failing on a field this release does not know.
	var head struct {
		Format  *string `json:"format"`
		Version int     `json:"version"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&head); err != nil {
		return Anchors{}, rampart.Errorf(op, rampart.KindInvalid, "not JSON (an anchor file is the JSON object `rampart audit anchor` writes): %v", err)
	}
	if head.Format == nil || *head.Format != AnchorFormat {
		return Anchors{}, rampart.Errorf(op, rampart.KindInvalid, "not a rampart audit anchor file (its \"format\" is not %q)", AnchorFormat)
	}
	if head.Version != AnchorVersion {
		return Anchors{}, rampart.Errorf(op, rampart.KindInvalid, "anchor file version %d is not supported (this release reads version %d)", head.Version, AnchorVersion)
	}
	var f struct {
		Format    string    `json:"format"`
		Version   int       `json:"version"`
		CreatedAt time.Time `json:"created_at"`
		Chains    []struct {
			Chain    string    `json:"chain"`
			Seq      int64     `json:"seq"`
			Kind     string    `json:"kind"`
			SealedAt time.Time `json:"sealed_at"`
			HeadMAC  string    `json:"head_mac"`
		} `json:"chains"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Anchors{}, rampart.Errorf(op, rampart.KindInvalid, "malformed anchor file: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Anchors{}, rampart.Errorf(op, rampart.KindInvalid, "malformed anchor file: data after the anchor object")
	}
	a := Anchors{Format: f.Format, Version: f.Version, CreatedAt: f.CreatedAt, Chains: make([]Anchor, 0, len(f.Chains))}
	seen := map[string]bool{}
	for i, c := range f.Chains {
		mac, err := hex.DecodeString(c.HeadMAC)
		switch {
		case !chainRE.MatchString(c.Chain):
			return Anchors{}, rampart.Errorf(op, rampart.KindInvalid, "chains[%d]: unknown chain %q (a chain is \"platform\" or an organization id)", i, c.Chain)
		case seen[c.Chain]:
			return Anchors{}, rampart.Errorf(op, rampart.KindInvalid, "chains[%d]: chain %q is anchored twice", i, c.Chain)
		case c.Seq < 1:
			return Anchors{}, rampart.Errorf(op, rampart.KindInvalid, "chains[%d] (chain %s): seq must be 1 or more", i, c.Chain)
		case err != nil || len(mac) != 32:
			return Anchors{}, rampart.Errorf(op, rampart.KindInvalid, "chains[%d] (chain %s): head_mac must be 64 hex digits", i, c.Chain)
		}
		seen[c.Chain] = true
		a.Chains = append(a.Chains, Anchor{Chain: c.Chain, Seq: c.Seq, Kind: c.Kind, SealedAt: c.SealedAt, HeadMAC: mac})
	}
	return a, nil
}

// CheckAnchor checks that the chain still holds its anchored head: the
// seal with the anchored sequence number carries the anchored MAC. With
// StartChain's checks (every seal's MAC and its link to the one before),
// that proves the chain extends the anchor. Retention never removes seal
// rows, only the events of old ranges (it appends a checkpoint), so an
// anchor on a purged seal, or on a checkpoint, still passes.
func (v *ChainVerifier) CheckAnchor(a Anchor) {
	v.rep.AnchoredSeal = a.Seq
	short := fmt.Sprintf("%x", a.HeadMAC)
	if len(short) > 16 {
		short = short[:16] + "…"
	}
	var last int64
	for _, s := range v.all {
		if s.Seq == a.Seq {
			if !bytes.Equal(s.MAC, a.HeadMAC) {
				v.problem(0, a.Seq, fmt.Sprintf("seal does not match the anchored head (anchored head_mac %s, found %x…): the chain was cut back and re-sealed after the anchor was taken", short, s.MAC[:min(8, len(s.MAC))]))
			}
			return
		}
		last = max(last, s.Seq)
	}
	if last == 0 {
		v.problem(0, a.Seq, fmt.Sprintf("anchored seal is missing (head_mac %s): the chain has no seals; its seals were deleted", short))
		return
	}
	v.problem(0, a.Seq, fmt.Sprintf("anchored seal is missing (head_mac %s): the chain ends at seal %d; the newest seals were deleted (truncation)", short, last))
}
