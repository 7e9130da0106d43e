package audit

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func keyring(t testing.TB) *Keyring {
	k, err := NewKeyring([]Key{{ID: "k2", Secret: bytes.Repeat([]byte{2}, 32)}, {ID: "k1", Secret: bytes.Repeat([]byte{1}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sample() Event {
	org := uuid.New()
	return Event{OrganizationID: &org, ActorType: ActorUser, ActorID: "u1", ActorScope: json.RawMessage(`{"role":"admin"}`),
		Action: ActionVenueUpdated, TargetType: "venue", TargetID: "v1", Before: json.RawMessage(`{"name":"a"}`),
		After: json.RawMessage(`{"name":"b"}`), IP: netip.MustParseAddr("::ffff:10.0.0.1"), UserAgent: "ua", RequestID: "r", Reason: "x"}
}

func TestSignAndCheck(t *testing.T) {
	t.Parallel()
	k := keyring(t)
	s := k.Sign(sample(), time.Now())
	if !k.Check(&s) || !k.NewChecker().Check(&s) {
		t.Fatal("fresh event does not verify")
	}
	if s.IP.String() != "10.0.0.1" {
		t.Fatalf("IP not unmapped: %s", s.IP)
	}
	// Every field is covered.
	mutations := map[string]func(*Stored){
		"org":        func(s *Stored) { o := uuid.New(); s.OrganizationID = &o },
		"no org":     func(s *Stored) { s.OrganizationID = nil },
		"time":       func(s *Stored) { s.OccurredAt = s.OccurredAt.Add(time.Microsecond) },
		"actor":      func(s *Stored) { s.ActorID = "u2" },
		"actor type": func(s *Stored) { s.ActorType = ActorSystem },
		"scope":      func(s *Stored) { s.ActorScope = json.RawMessage(`{"role":"viewer"}`) },
		"action":     func(s *Stored) { s.Action = ActionVenueDeleted },
		"target":     func(s *Stored) { s.TargetID = "v2" },
		"before":     func(s *Stored) { s.Before = json.RawMessage(`{"name":"z"}`) },
		"after":      func(s *Stored) { s.After = nil },
		"ip":         func(s *Stored) { s.IP = netip.MustParseAddr("10.0.0.2") },
		"ua":         func(s *Stored) { s.UserAgent = "other" },
		"reason":     func(s *Stored) { s.Reason = "" },
		"metadata":   func(s *Stored) { s.Metadata = json.RawMessage(`{}`) },
		"event key":  func(s *Stored) { s.EventKey = uuid.New() },
		"key id":     func(s *Stored) { s.MACKeyID = "k1" },
		"mac":        func(s *Stored) { s.MAC[0] ^= 1 },
		// Field boundaries are unambiguous: moving a byte between fields changes the MAC.
		"shift": func(s *Stored) { s.TargetType, s.TargetID = "venuev", "1" },
	}
	for name, mut := range mutations {
		c := s
		c.MAC = append([]byte(nil), s.MAC...)
		mut(&c)
		if k.Check(&c) {
			t.Errorf("%s: altered event still verifies", name)
		}
	}
	// Rotation: an event signed with the old key verifies with the new ring.
	old, _ := NewKeyring([]Key{{ID: "k1", Secret: bytes.Repeat([]byte{1}, 32)}})
	o := old.Sign(sample(), time.Now())
	if !k.Check(&o) {
		t.Fatal("an event signed with a retired key no longer verifies")
	}
}

func TestChainVerifier(t *testing.T) {
	t.Parallel()
	k := keyring(t)
	mk := func(id int64) Stored { s := k.Sign(sample(), time.Now()); s.ID = id; return s }
	events := []Stored{mk(1), mk(2), mk(3), mk(4)}
	xacts := []uint64{10, 11, 20, 30}
	seal := func(seq int64, from, to uint64, evs []Stored, prev []byte) Seal {
		d := NewDigest()
		for _, e := range evs {
			d.Add(e.MAC)
		}
		s := Seal{Chain: "c", Seq: seq, Kind: SealKind, FromXID: from, ToXID: to, EventCount: int64(len(evs)), Digest: d.Sum(), SealedAt: time.Now(), PrevMAC: prev}
		k.SignSeal(&s)
		return s
	}
	s1 := seal(1, 0, 15, events[:2], nil)
	s2 := seal(2, 15, 25, events[2:3], s1.MAC)
	run := func(seals []Seal, evs []Stored, xs []uint64) ChainReport {
		v := k.StartChain("c", seals)
		for i := range evs {
			v.Event(&evs[i], xs[i])
		}
		return v.Finish()
	}
	if r := run([]Seal{s1, s2}, events, xacts); !r.OK() || r.Sealed != 3 || r.Pending != 1 {
		t.Fatalf("clean chain: %+v", r)
	}
	// Deleted event in a sealed range.
	r := run([]Seal{s1, s2}, []Stored{events[0], events[2], events[3]}, []uint64{10, 20, 30})
	if r.OK() || !strings.Contains(r.Problems[0].What, "missing") || r.Problems[0].Seal != 1 {
		t.Fatalf("deletion: %+v", r.Problems)
	}
	// Changed event.
	ch := append([]Stored(nil), events...)
	ch[1].Reason = "edited"
	if r := run([]Seal{s1, s2}, ch, xacts); r.OK() || r.Problems[0].EventID != 2 {
		t.Fatalf("change: %+v", r.Problems)
	}
	// Inserted event with a forged MAC inside a sealed range.
	forged := mk(5)
	forged.MAC = bytes.Repeat([]byte{9}, 32)
	ins := []Stored{events[0], forged, events[1], events[2], events[3]}
	if r := run([]Seal{s1, s2}, ins, []uint64{10, 12, 11, 20, 30}); r.OK() || r.Problems[0].EventID != 5 {
		t.Fatalf("insert: %+v", r.Problems)
	}
	// A removed seal breaks the chain.
	if r := run([]Seal{s2}, events, xacts); r.OK() {
		t.Fatal("missing first seal not detected")
	}
	// An edited seal.
	bad := s2
	bad.EventCount = 2
	if r := run([]Seal{s1, bad}, events, xacts); r.OK() {
		t.Fatal("edited seal not detected")
	}
}

func TestCSVRoundTripOfTrickyEvent(t *testing.T) {
	t.Parallel()
	k := keyring(t)
	ev := sample()
	ev.Reason = "He said \"hi\",\nthen =cmd|' /C calc'!A0 \r\n and a lone \r too"
	ev.UserAgent = "@SUM(1+1)"
	ev.ActorID = "-2+3"
	ev.TargetID = "+cmd"
	s := k.Sign(ev, time.Now())
	s.ID = 42
	var buf bytes.Buffer
	w, err := NewCSVWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&s); err != nil || w.Flush() != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\r\n") {
		t.Fatal("rows must end with CRLF (RFC 4180)")
	}
	// The field is written verbatim (encoding/csv's reader, used below,
	// folds CRLF inside fields, so check the bytes first).
	if !strings.Contains(buf.String(), `"`+strings.ReplaceAll(ev.Reason, `"`, `""`)+`"`) {
		t.Fatalf("the reason is not written verbatim:\n%q", buf.String())
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("read back: %v (%d records)", err, len(recs))
	}
	row := map[string]string{}
	for i, h := range CSVHeader {
		row[h] = recs[1][i]
	}
	want := map[string]string{
		"reason":     strings.ReplaceAll(ev.Reason, "\r\n", "\n"), // starts with "He": unchanged (the reader folds CRLF)
		"user_agent": "'@SUM(1+1)",
		"actor_id":   "'-2+3",
		"target_id":  "'+cmd",
		"id":         "42",
	}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("%s = %q, want %q", k, row[k], v)
		}
	}
	for _, cell := range recs[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("cell %q would be evaluated by a spreadsheet", cell)
		}
	}
}

// TestCanonRawMatchesCanon: the allocation-free encoding used by verify is
// byte-for-byte the one Sign uses.
func TestCanonRawMatchesCanon(t *testing.T) {
	t.Parallel()
	k := keyring(t)
	for _, ev := range []Event{sample(), {ActorType: ActorSystem, Action: ActionAuditPurged}, func() Event {
		e := sample()
		e.IP = netip.MustParseAddr("2001:db8::1")
		e.Before, e.After = nil, json.RawMessage(`[]`)
		return e
	}()} {
		s := k.SignV1(ev, time.Now())
		r := RawEvent{EventKey: s.EventKey[:], OccurredAtUS: s.OccurredAt.UnixMicro(), ActorType: []byte(s.ActorType), ActorID: []byte(s.ActorID),
			ActorScope: s.ActorScope, Action: []byte(s.Action), TargetType: []byte(s.TargetType), TargetID: []byte(s.TargetID),
			Before: s.Before, After: s.After, UserAgent: []byte(s.UserAgent), RequestID: []byte(s.RequestID), Reason: []byte(s.Reason),
			Metadata: s.Metadata, MACKeyID: []byte(s.MACKeyID), MAC: s.MAC}
		if s.OrganizationID != nil {
			r.OrganizationID = s.OrganizationID[:]
		}
		if s.IP.IsValid() {
			r.IP = []byte(s.IP.String())
		}
		if !bytes.Equal(canon(nil, &s), canonRaw(nil, &r)) {
			t.Fatalf("encodings differ for %+v", ev)
		}
		if !k.NewChecker().CheckRaw(&r) {
			t.Fatal("CheckRaw rejects a valid event")
		}
		r.Reason = []byte("changed")
		if k.NewChecker().CheckRaw(&r) {
			t.Fatal("CheckRaw accepts a changed event")
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	in := []byte(`{"name":"x","token":"abc","token_hash":"\\x00","nested":{"password":"p","api_key":"k","tokens_count":3},"list":[{"secret":"s"}],"macro":"ok"}`)
	out := string(Redact(in))
	for _, leak := range []string{"abc", `"p"`, `"k"`, `"s"`, `\\x00`} {
		if strings.Contains(out, leak) {
			t.Errorf("secret %s survived: %s", leak, out)
		}
	}
	for _, keep := range []string{`"name":"x"`, `"tokens_count":3`, `"macro":"ok"`} {
		if !strings.Contains(out, keep) {
			t.Errorf("%s lost: %s", keep, out)
		}
	}
	plain := []byte(`{"a": 1}`)
	if string(Redact(plain)) != string(plain) {
		t.Error("a snapshot without secrets must be returned byte for byte")
	}
}
