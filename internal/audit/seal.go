package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"time"

	"github.com/google/uuid"
)

// Key is one audit MAC key. The first key of a keyring signs; all verify.
// The database never sees a key, so a database superuser cannot forge an
// event or a seal.
type Key struct {
	ID     string
	Secret []byte
}

// Keyring holds the audit keys.
type Keyring struct {
	keys []Key
}

// NewKeyring builds a keyring; keys[0] signs.
func NewKeyring(keys []Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("audit: no MAC keys")
	}
	for _, k := range keys {
		if len(k.Secret) < 32 || k.ID == "" {
			return nil, fmt.Errorf("audit: key %q must have an id and at least 32 bytes", k.ID)
		}
	}
	return &Keyring{keys: keys}, nil
}

// SigningKeyID is the id of the key that signs.
func (k *Keyring) SigningKeyID() string { return k.keys[0].ID }

// IDs returns the key ids, the signing key first (never the keys).
func (k *Keyring) IDs() []string {
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.ID
	}
	return ids
}

func (k *Keyring) key(id string) []byte {
	for _, key := range k.keys {
		if key.ID == id {
			return key.Secret
		}
	}
	return nil
}

// Stored is an event as it is stored: the Event plus the fields that make
// it tamper-evident.
type Stored struct {
	Event
	ID         int64     // database identity, for ordering and cursors
	EventKey   uuid.UUID // chosen by the writer, covered by the MAC
	OccurredAt time.Time // microsecond precision, covered by the MAC
	MACKeyID   string
	MAC        []byte
	// Scheme is the MAC's scheme (Scheme1, Scheme2); PIISalt and PIICommit
	// are scheme 2's salt (nil once erased) and commitment to the personal
	// fields (pii.go).
	Scheme    int
	PIISalt   []byte
	PIICommit []byte
	// RedactionMAC attests an erased scheme-1 event (Keyring.RedactV1).
	RedactionMAC []byte
}

// canon appends the canonical, length-prefixed encoding of the event.
// Version 1. Any change here is a new version: old events keep verifying.
func canon(b []byte, s *Stored) []byte {
	field := func(p []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	str := func(v string) { field([]byte(v)) }
	field([]byte("rampart.audit.v1"))
	field(s.EventKey[:])
	if s.OrganizationID != nil {
		field(s.OrganizationID[:])
	} else {
		field(nil)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(s.OccurredAt.UnixMicro()))
	str(string(s.ActorType))
	str(s.ActorID)
	field(s.ActorScope)
	str(s.Action)
	str(s.TargetType)
	str(s.TargetID)
	field(s.Before)
	field(s.After)
	if s.IP.IsValid() {
		str(s.IP.Unmap().String())
	} else {
		field(nil)
	}
	str(s.UserAgent)
	str(s.RequestID)
	str(s.Reason)
	field(s.Metadata)
	return b
}

// Sign prepares an event for storage: a fresh event key, the time (to the
// microsecond, as PostgreSQL stores it), and the MAC.
func (k *Keyring) Sign(ev Event, now time.Time) Stored {
	s := Stored{Event: ev, EventKey: uuid.Must(uuid.NewV7()), OccurredAt: now.UTC().Truncate(time.Microsecond)}
	if s.IP.IsValid() {
		s.IP = s.IP.Unmap().WithZone("") // stored as inet, which has no zones
	}
	k.signV2(&s)
	return s
}

// SignV1 signs an event under scheme 1, as Rampart did before migration
// 021: for tests that prove such events keep verifying.
func (k *Keyring) SignV1(ev Event, now time.Time) Stored {
	s := Stored{Event: ev, EventKey: uuid.Must(uuid.NewV7()), OccurredAt: now.UTC().Truncate(time.Microsecond), Scheme: Scheme1}
	if s.IP.IsValid() {
		s.IP = s.IP.Unmap().WithZone("")
	}
	s.MACKeyID = k.keys[0].ID
	s.MAC = k.mac(k.keys[0].Secret, &s)
	return s
}

func (k *Keyring) mac(secret []byte, s *Stored) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(canon(make([]byte, 0, 512), s))
	return m.Sum(nil)
}

// Check reports whether a stored event verifies (an erased scheme-2
// event does: what is left is what was signed).
func (k *Keyring) Check(s *Stored) bool {
	if s.Scheme == Scheme2 || s.RedactionMAC != nil {
		r := s.raw()
		st := k.NewChecker().Status(&r)
		return st == StatusOK || st == StatusErased
	}
	secret := k.key(s.MACKeyID)
	if secret == nil || len(s.MAC) != sha256.Size {
		return false
	}
	return hmac.Equal(s.MAC, k.mac(secret, s))
}

// Checker verifies many events with one reusable HMAC state per key
// (verification is the hot loop of `rampart audit verify`).
type Checker struct {
	k    *Keyring
	macs map[string]hash.Hash
	buf  []byte
	sum  []byte
	pbuf []byte // scheme 2's commitment encoding
}

// NewChecker returns a Checker over the keyring.
func (k *Keyring) NewChecker() *Checker {
	return &Checker{k: k, macs: map[string]hash.Hash{}, buf: make([]byte, 0, 1024)}
}

// Check reports whether s verifies (see Keyring.Check).
func (c *Checker) Check(s *Stored) bool {
	if s.Scheme == Scheme2 || s.RedactionMAC != nil {
		r := s.raw()
		st := c.Status(&r)
		return st == StatusOK || st == StatusErased
	}
	m, ok := c.macs[s.MACKeyID]
	if !ok {
		secret := c.k.key(s.MACKeyID)
		if secret == nil {
			return false
		}
		m = hmac.New(sha256.New, secret)
		c.macs[s.MACKeyID] = m
	}
	m.Reset()
	c.buf = canon(c.buf[:0], s)
	m.Write(c.buf)
	c.sum = m.Sum(c.sum[:0])
	return len(s.MAC) == sha256.Size && hmac.Equal(s.MAC, c.sum)
}

// Seal kinds.
const (
	SealKind  = "seal"
	PurgeKind = "purge"
)

// Seal is one link of a chain's checkpoint chain. A "seal" covers every
// event of the chain whose transaction id is in [FromXID, ToXID): the
// transactions that had all finished when the seal was made, so no event
// can join a sealed range later. Digest is SHA-256 over the MACs of those
// events in (xact_id, id) order. A "purge" records that the events of the
// seals up to PurgedThrough were deleted by retention.
type Seal struct {
	Chain          string // organization id, or "platform"
	Seq            int64  // 1, 2, … without gaps
	Kind           string
	FromXID, ToXID uint64
	EventCount     int64
	MaxOccurredAt  time.Time // newest event in the range (retention decides on it)
	Digest         []byte
	PurgedThrough  int64 // purge: the last purged seal's seq
	SealedAt       time.Time
	PrevMAC        []byte
	MACKeyID       string
	MAC            []byte
}

// PlatformChain names the chain of events without an organization.
const PlatformChain = "platform"

// ChainOf names the chain an organization's events belong to.
func ChainOf(org *uuid.UUID) string {
	if org == nil {
		return PlatformChain
	}
	return org.String()
}

func sealCanon(s *Seal) []byte {
	b := make([]byte, 0, 256)
	field := func(p []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	u64 := func(v uint64) { b = binary.BigEndian.AppendUint64(b, v) }
	field([]byte("rampart.audit.seal.v1"))
	field([]byte(s.Chain))
	u64(uint64(s.Seq))
	field([]byte(s.Kind))
	u64(s.FromXID)
	u64(s.ToXID)
	u64(uint64(s.EventCount))
	u64(uint64(s.MaxOccurredAt.UnixMicro()))
	field(s.Digest)
	u64(uint64(s.PurgedThrough))
	u64(uint64(s.SealedAt.UnixMicro()))
	field(s.PrevMAC)
	return b
}

// SignSeal sets the seal's key id and MAC (over every field and PrevMAC).
func (k *Keyring) SignSeal(s *Seal) {
	s.SealedAt = s.SealedAt.UTC().Truncate(time.Microsecond)
	s.MaxOccurredAt = s.MaxOccurredAt.UTC().Truncate(time.Microsecond)
	s.MACKeyID = k.keys[0].ID
	m := hmac.New(sha256.New, k.keys[0].Secret)
	m.Write(sealCanon(s))
	s.MAC = m.Sum(nil)
}

// CheckSeal reports whether a seal's MAC is valid.
func (k *Keyring) CheckSeal(s *Seal) bool {
	secret := k.key(s.MACKeyID)
	if secret == nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(sealCanon(s))
	return hmac.Equal(s.MAC, m.Sum(nil))
}

// Digest accumulates the MACs of a seal's events, in order.
type Digest struct{ h hash.Hash }

// NewDigest starts a seal digest.
func NewDigest() *Digest { return &Digest{h: sha256.New()} }

// Add adds one event's MAC.
func (d *Digest) Add(mac []byte) { d.h.Write(mac) }

// Sum returns the digest.
func (d *Digest) Sum() []byte { return d.h.Sum(nil) }

// normalizeIP is used by readers: inet values round-trip through netip.
func normalizeIP(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// ParseIP turns a stored inet text into the address the MAC covered.
func ParseIP(s string) netip.Addr { return normalizeIP(s) }

// documentDomain separates the MAC of a signed document (a trust report)
// from an event's or a seal's under the same key: the canonical encodings
// start with different labels, so no MAC of one verifies as another.
const documentDomain = "rampart.document.v1"

// SignDocument returns the MAC of doc under the signing key, bound to kind
// (e.g. "trust-report"), and that key's id. The key itself never leaves
// the keyring.
func (k *Keyring) SignDocument(kind string, doc []byte) (keyID string, mac []byte) {
	return k.keys[0].ID, documentMAC(k.keys[0].Secret, kind, doc)
}

// CheckDocument reports whether mac is doc's MAC of kind under key keyID.
func (k *Keyring) CheckDocument(kind, keyID string, doc, mac []byte) bool {
	secret := k.key(keyID)
	if secret == nil || len(mac) != sha256.Size {
		return false
	}
	return hmac.Equal(mac, documentMAC(secret, kind, doc))
}

func documentMAC(secret []byte, kind string, doc []byte) []byte {
	m := hmac.New(sha256.New, secret)
	var b []byte
	for _, p := range [][]byte{[]byte(documentDomain), []byte(kind), doc} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		m.Write(b)
		m.Write(p)
		b = b[:0]
	}
	return m.Sum(nil)
}
