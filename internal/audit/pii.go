package audit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/netip"
)

// Schemes of the event MAC (docs/privacy.md, decision 0019).
//
//   - Scheme 1 (events written before migration 021): the MAC covers every
//     field in the clear. Such an event cannot be erased without looking
//     like tampering.
//   - Scheme 2: the personal fields — IP, user agent, before, after,
//     reason, metadata — are committed to by a salted SHA-256 (PIICommit,
//     with a fresh 16-byte PIISalt per event), and the MAC covers the other
//     fields and that commitment. Erasure deletes the personal fields and
//     the salt and keeps the commitment: the MAC still proves every other
//     field, and with the salt gone nobody (not even a key holder) can test
//     a guess of what was erased against what is left.
const (
	Scheme1 = 1
	Scheme2 = 2
)

// SaltSize is the length of an event's personal-field salt.
const SaltSize = 16

// Status is the outcome of checking one event.
type Status int

// The outcomes of Checker.Status.
const (
	// StatusOK: the event verifies as written.
	StatusOK Status = iota
	// StatusErased: a scheme-2 event whose personal fields were erased;
	// everything else verifies against the MAC.
	StatusErased
	// StatusBadMAC: the fields the MAC covers were changed (or the row was
	// inserted without the key).
	StatusBadMAC
	// StatusBadPersonal: the personal fields do not match their commitment
	// (changed while the salt is kept), or an "erased" event still carries
	// personal content.
	StatusBadPersonal
)

// piiCanon appends the encoding the commitment hashes: a tag, the salt
// and the personal fields, each length-prefixed.
func piiCanon(b, salt []byte, r *RawEvent) []byte {
	field := func(p []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	field([]byte("rampart.audit.pii.v1"))
	field(salt)
	field(canonIP(r.IP))
	field(r.UserAgent)
	field(r.Before)
	field(r.After)
	field(r.Reason)
	field(r.Metadata)
	return b
}

// canonIP is the signed form of an inet text: IPv4 text as it is, other
// addresses through netip (unmapped); empty for NULL.
func canonIP(ip []byte) []byte {
	if len(ip) == 0 || ipv4Text(ip) {
		return ip
	}
	a, err := netip.ParseAddr(string(ip))
	if err != nil {
		return ip
	}
	return []byte(a.Unmap().String())
}

// canonV2 is the scheme-2 encoding: every field but the personal ones,
// and the commitment to those.
func canonV2(b []byte, r *RawEvent) []byte {
	field := func(p []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	field([]byte("rampart.audit.v2"))
	field(r.EventKey)
	field(r.OrganizationID)
	b = binary.BigEndian.AppendUint64(b, uint64(r.OccurredAtUS))
	field(r.ActorType)
	field(r.ActorID)
	field(r.ActorScope)
	field(r.Action)
	field(r.TargetType)
	field(r.TargetID)
	field(r.RequestID)
	field(r.PIICommit)
	return b
}

// canonV1R is the encoding a scheme-1 event's redaction MAC covers: the
// fields scheme 2 keeps in the clear, and the event's original MAC (which
// the seals digest, so it must stay).
func canonV1R(b []byte, r *RawEvent) []byte {
	field := func(p []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	field([]byte("rampart.audit.v1.redacted"))
	field(r.EventKey)
	field(r.OrganizationID)
	b = binary.BigEndian.AppendUint64(b, uint64(r.OccurredAtUS))
	field(r.ActorType)
	field(r.ActorID)
	field(r.ActorScope)
	field(r.Action)
	field(r.TargetType)
	field(r.TargetID)
	field(r.RequestID)
	field(r.MAC)
	return b
}

// RedactV1 attests a scheme-1 event for erasure: when its MAC verifies,
// it returns the redaction MAC over its remaining fields and that MAC
// (signing key). An event that does not verify is not attested: erasing
// it would launder a tamper.
func (k *Keyring) RedactV1(s *Stored) ([]byte, bool) {
	if s.Scheme == Scheme2 || !k.Check(s) {
		return nil, false
	}
	r := s.raw()
	m := hmac.New(sha256.New, k.keys[0].Secret)
	m.Write(canonV1R(make([]byte, 0, 256), &r))
	return m.Sum(nil), true
}

// checkRedaction verifies a redacted scheme-1 event's redaction MAC under
// any key of the ring (the row records the original MAC's key only).
func (c *Checker) checkRedaction(r *RawEvent) bool {
	if len(r.RedactionMAC) != sha256.Size {
		return false
	}
	c.buf = canonV1R(c.buf[:0], r)
	for _, key := range c.k.keys {
		m := c.hmacFor([]byte(key.ID))
		m.Reset()
		m.Write(c.buf)
		c.sum = m.Sum(c.sum[:0])
		if hmac.Equal(c.sum, r.RedactionMAC) {
			return true
		}
	}
	return false
}

// personalEmpty reports whether an event's personal fields are erased.
func (r *RawEvent) personalEmpty() bool {
	return len(r.IP) == 0 && len(r.UserAgent) == 0 && r.Before == nil && r.After == nil && len(r.Reason) == 0 && r.Metadata == nil
}

// raw views a Stored event as a RawEvent (for the scheme-2 encodings).
func (s *Stored) raw() RawEvent {
	r := RawEvent{EventKey: s.EventKey[:], OccurredAtUS: s.OccurredAt.UnixMicro(), ActorType: []byte(s.ActorType), ActorID: []byte(s.ActorID),
		ActorScope: s.ActorScope, Action: []byte(s.Action), TargetType: []byte(s.TargetType), TargetID: []byte(s.TargetID),
		Before: s.Before, After: s.After, UserAgent: []byte(s.UserAgent), RequestID: []byte(s.RequestID), Reason: []byte(s.Reason),
		Metadata: s.Metadata, MACKeyID: []byte(s.MACKeyID), MAC: s.MAC, Scheme: s.Scheme, PIISalt: s.PIISalt, PIICommit: s.PIICommit,
		RedactionMAC: s.RedactionMAC}
	if s.OrganizationID != nil {
		r.OrganizationID = s.OrganizationID[:]
	}
	if s.IP.IsValid() {
		r.IP = []byte(s.IP.Unmap().String())
	}
	return r
}

// signV2 sets a fresh salt, the commitment and the scheme-2 MAC.
func (k *Keyring) signV2(s *Stored) {
	s.Scheme = Scheme2
	s.PIISalt = make([]byte, SaltSize)
	_, _ = rand.Read(s.PIISalt) // crypto/rand.Read never fails (Go 1.24+)
	r := s.raw()
	sum := sha256.Sum256(piiCanon(make([]byte, 0, 256), s.PIISalt, &r))
	s.PIICommit = sum[:]
	r.PIICommit = s.PIICommit
	s.MACKeyID = k.keys[0].ID
	m := hmac.New(sha256.New, k.keys[0].Secret)
	m.Write(canonV2(make([]byte, 0, 256), &r))
	s.MAC = m.Sum(nil)
}

// Status checks a raw event under its scheme.
func (c *Checker) Status(r *RawEvent) Status {
	if r.Scheme != Scheme2 && r.RedactionMAC != nil {
		switch {
		case !c.checkRedaction(r):
			return StatusBadMAC
		case !r.personalEmpty():
			return StatusBadPersonal
		}
		return StatusErased
	}
	if r.Scheme != Scheme2 {
		if c.CheckRaw(r) {
			return StatusOK
		}
		return StatusBadMAC
	}
	m := c.hmacFor(r.MACKeyID)
	if m == nil || len(r.PIICommit) != sha256.Size {
		return StatusBadMAC
	}
	m.Reset()
	c.buf = canonV2(c.buf[:0], r)
	m.Write(c.buf)
	c.sum = m.Sum(c.sum[:0])
	if len(r.MAC) != sha256.Size || !hmac.Equal(r.MAC, c.sum) {
		return StatusBadMAC
	}
	if r.PIISalt == nil {
		if !r.personalEmpty() {
			return StatusBadPersonal
		}
		return StatusErased
	}
	c.pbuf = piiCanon(c.pbuf[:0], r.PIISalt, r)
	if sum := sha256.Sum256(c.pbuf); !hmac.Equal(sum[:], r.PIICommit) {
		return StatusBadPersonal
	}
	return StatusOK
}

func (c *Checker) hmacFor(keyID []byte) hash.Hash {
	m, ok := c.macs[string(keyID)]
	if !ok {
		secret := c.k.key(string(keyID))
		if secret == nil {
			return nil
		}
		m = hmac.New(sha256.New, secret)
		c.macs[string(keyID)] = m
	}
	return m
}

// Erase returns s with its personal fields and salt removed, as the
// database's audit_erase() leaves it (a scheme-1 event also needs its
// redaction MAC, from RedactV1).
func Erase(s Stored) Stored {
	s.IP, s.UserAgent, s.Before, s.After, s.Reason, s.Metadata, s.PIISalt = netip.Addr{}, "", nil, nil, "", nil, nil
	return s
}
