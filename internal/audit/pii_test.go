package audit

import (
	"crypto/sha256"
	"encoding/json"
	"net/netip"
	"testing"
	"time"
)

// rawOf is the row as the database returns it (IP as inet text).
func rawOf(s Stored) RawEvent { return s.raw() }

// TestSchemeTwoErasure: an erased event verifies as erased; changing any
// field the MAC covers, the commitment, or the personal fields of an event
// that is not erased, is caught; a scheme-1 event cannot be erased.
func TestSchemeTwoErasure(t *testing.T) {
	t.Parallel()
	k := keyring(t)
	ev := sample()
	ev.Metadata = json.RawMessage(`{"email":"ada@example.test"}`)
	s := k.Sign(ev, time.Now())
	if s.Scheme != Scheme2 || len(s.PIISalt) != SaltSize || len(s.PIICommit) != 32 {
		t.Fatalf("Sign did not use scheme 2: %+v", s)
	}
	c := k.NewChecker()
	r := rawOf(s)
	if st := c.Status(&r); st != StatusOK {
		t.Fatalf("fresh event: status %d", st)
	}
	if !k.Check(&s) {
		t.Fatal("Keyring.Check rejects a fresh scheme-2 event")
	}
	erased := Erase(s)
	r = rawOf(erased)
	if st := c.Status(&r); st != StatusErased {
		t.Fatalf("erased event: status %d, want erased", st)
	}
	if !k.Check(&erased) {
		t.Fatal("an erased event must still verify")
	}

	// Tampering, before and after erasure.
	cases := map[string]struct {
		from Stored
		mut  func(*Stored)
		want Status
	}{
		"erased, actor changed":       {erased, func(s *Stored) { s.ActorID = "u2" }, StatusBadMAC},
		"erased, action changed":      {erased, func(s *Stored) { s.Action = ActionVenueDeleted }, StatusBadMAC},
		"erased, target changed":      {erased, func(s *Stored) { s.TargetID = "v9" }, StatusBadMAC},
		"erased, time changed":        {erased, func(s *Stored) { s.OccurredAt = s.OccurredAt.Add(time.Second) }, StatusBadMAC},
		"erased, request id changed":  {erased, func(s *Stored) { s.RequestID = "other" }, StatusBadMAC},
		"erased, commitment changed":  {erased, func(s *Stored) { s.PIICommit = append([]byte{s.PIICommit[0] ^ 1}, s.PIICommit[1:]...) }, StatusBadMAC},
		"erased, content put back":    {erased, func(s *Stored) { s.UserAgent = "forged" }, StatusBadPersonal},
		"kept, ip changed":            {s, func(s *Stored) { s.IP = netip.MustParseAddr("10.9.9.9") }, StatusBadPersonal},
		"kept, metadata changed":      {s, func(s *Stored) { s.Metadata = json.RawMessage(`{"email":"eve@example.test"}`) }, StatusBadPersonal},
		"kept, salt changed":          {s, func(s *Stored) { s.PIISalt = make([]byte, SaltSize) }, StatusBadPersonal},
		"kept, commitment recomputed": {s, func(s *Stored) { s.UserAgent = "x"; r := s.raw(); s.PIICommit = piiCommitOf(s.PIISalt, &r) }, StatusBadMAC},
	}
	for name, tc := range cases {
		m := tc.from
		m.PIICommit = append([]byte(nil), m.PIICommit...)
		tc.mut(&m)
		r := rawOf(m)
		if st := c.Status(&r); st != tc.want {
			t.Errorf("%s: status %d, want %d", name, st, tc.want)
		}
	}

	// Scheme 1: erasing the personal fields breaks the MAC (reported as a change).
	v1 := k.SignV1(ev, time.Now())
	r = rawOf(v1)
	r.Scheme = Scheme1
	if st := c.Status(&r); st != StatusOK {
		t.Fatalf("scheme-1 event: status %d", st)
	}
	e1 := Erase(v1)
	r = rawOf(e1)
	r.Scheme = Scheme1
	if st := c.Status(&r); st != StatusBadMAC {
		t.Fatalf("erased scheme-1 event: status %d, want a bad MAC", st)
	}
}

// TestSchemeOneRedaction: a scheme-1 event erased with an attestation
// verifies as erased; changing what the attestation covers, or putting
// content back, is caught; a tampered event is not attested.
func TestSchemeOneRedaction(t *testing.T) {
	t.Parallel()
	k := keyring(t)
	c := k.NewChecker()
	v1 := k.SignV1(sample(), time.Now())
	rmac, ok := k.RedactV1(&v1)
	if !ok {
		t.Fatal("a valid scheme-1 event was not attested")
	}
	e := Erase(v1)
	e.RedactionMAC = rmac
	r := rawOf(e)
	if st := c.Status(&r); st != StatusErased {
		t.Fatalf("redacted scheme-1 event: status %d", st)
	}
	for name, tc := range map[string]struct {
		mut  func(*Stored)
		want Status
	}{
		"actor changed":        {func(s *Stored) { s.ActorID = "u9" }, StatusBadMAC},
		"original mac changed": {func(s *Stored) { s.MAC = append([]byte{s.MAC[0] ^ 1}, s.MAC[1:]...) }, StatusBadMAC},
		"content put back":     {func(s *Stored) { s.Reason = "planted" }, StatusBadPersonal},
		"attestation dropped":  {func(s *Stored) { s.RedactionMAC = nil }, StatusBadMAC},
	} {
		m := e
		tc.mut(&m)
		r := rawOf(m)
		if m.RedactionMAC == nil {
			r.Scheme = Scheme1
		}
		if st := c.Status(&r); st != tc.want {
			t.Errorf("%s: status %d, want %d", name, st, tc.want)
		}
	}
	bad := v1
	bad.Reason = "changed before erasure"
	if _, ok := k.RedactV1(&bad); ok {
		t.Fatal("a tampered scheme-1 event was attested")
	}
}

func piiCommitOf(salt []byte, r *RawEvent) []byte {
	sum := sha256.Sum256(piiCanon(nil, salt, r))
	return sum[:]
}

// BenchmarkSign compares the writer's cost of signing one event under
// scheme 1 and scheme 2 (a fresh salt and one more SHA-256).
func BenchmarkSign(b *testing.B) {
	k := keyring(b)
	ev := sample()
	ev.Metadata = json.RawMessage(`{"email":"ada@example.test","role":"producer"}`)
	now := time.Now()
	b.Run("scheme=1", func(b *testing.B) {
		for b.Loop() {
			_ = k.SignV1(ev, now)
		}
	})
	b.Run("scheme=2", func(b *testing.B) {
		for b.Loop() {
			_ = k.Sign(ev, now)
		}
	})
}

// BenchmarkCheckRaw compares verify's per-event cost under the two schemes.
func BenchmarkCheckRaw(b *testing.B) {
	k := keyring(b)
	ev := sample()
	c := k.NewChecker()
	v1 := k.SignV1(ev, time.Now())
	r1 := rawOf(v1)
	r1.Scheme = Scheme1
	v2 := k.Sign(ev, time.Now())
	r2 := rawOf(v2)
	b.Run("scheme=1", func(b *testing.B) {
		for b.Loop() {
			if c.Status(&r1) != StatusOK {
				b.Fatal("bad")
			}
		}
	})
	b.Run("scheme=2", func(b *testing.B) {
		for b.Loop() {
			if c.Status(&r2) != StatusOK {
				b.Fatal("bad")
			}
		}
	})
}
