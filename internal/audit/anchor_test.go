package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestAnchorFileFormat pins the anchor file's format: version 1 is a
// stable, documented interface (docs/audit.md), read back by any later
// release.
func TestAnchorFileFormat(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 31, 12, 0, 0, 123456000, time.UTC)
	a := Anchors{CreatedAt: at, Chains: []Anchor{
		{Chain: PlatformChain, Seq: 7, Kind: SealKind, SealedAt: at, HeadMAC: bytes.Repeat([]byte{0xab}, 32)},
		{Chain: "0190a0b0-c0d0-7e00-8000-000000000001", Seq: 3, Kind: PurgeKind, SealedAt: at, HeadMAC: bytes.Repeat([]byte{0x01}, 32)},
	}}
	var b bytes.Buffer
	if err := a.Encode(&b); err != nil {
		t.Fatal(err)
	}
	want := `{
  "format": "rampart.audit.anchors",
  "version": 1,
  "created_at": "2026-01-31T12:00:00.123456Z",
  "chains": [
    {
      "chain": "0190a0b0-c0d0-7e00-8000-000000000001",
      "seq": 3,
      "kind": "purge",
      "sealed_at": "2026-01-31T12:00:00.123456Z",
      "head_mac": "` + strings.Repeat("01", 32) + `"
    },
    {
      "chain": "platform",
      "seq": 7,
      "kind": "seal",
      "sealed_at": "2026-01-31T12:00:00.123456Z",
      "head_mac": "` + strings.Repeat("ab", 32) + `"
    }
  ]
}
`
	if b.String() != want {
		t.Fatalf("encoded anchors:\n%s\nwant:\n%s", b.String(), want)
	}
	// A verification report's head MAC is the same hex, and reads back.
	var rep ChainReport
	if err := json.Unmarshal([]byte(`{"head_mac":"`+strings.Repeat("ab", 32)+`"}`), &rep); err != nil || !bytes.Equal(rep.HeadMAC, a.Chains[0].HeadMAC) {
		t.Fatalf("report head_mac: %x %v", []byte(rep.HeadMAC), err)
	}
	back, err := ParseAnchors(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Chains) != 2 || back.Version != AnchorVersion || !back.CreatedAt.Equal(at) {
		t.Fatalf("parsed: %+v", back)
	}
	if got, ok := back.For(PlatformChain); !ok || got.Seq != 7 || !bytes.Equal(got.HeadMAC, a.Chains[0].HeadMAC) {
		t.Fatalf("platform anchor: %+v %v", got, ok)
	}
	if _, ok := back.For("0190a0b0-c0d0-7e00-8000-000000000002"); ok {
		t.Fatal("found an anchor for a chain the file does not name")
	}
}

func TestParseAnchorsRefusesBadFiles(t *testing.T) {
	t.Parallel()
	mac := strings.Repeat("ab", 32)
	file := func(version, chains string) string {
		return `{"format":"rampart.audit.anchors","version":` + version + `,"created_at":"2026-01-31T12:00:00Z","chains":[` + chains + `]}`
	}
	chain := func(name, seq, mac string) string {
		return `{"chain":"` + name + `","seq":` + seq + `,"kind":"seal","sealed_at":"2026-01-31T12:00:00Z","head_mac":"` + mac + `"}`
	}
	cases := []struct{ name, in, want string }{
		{"empty", "", "not JSON"},
		{"not JSON", "chain platform seal 7", "not JSON"},
		{"a JSON array", "[]", "not JSON"},
		{"another format", `{"format":"something.else","version":1,"chains":[]}`, `not a rampart audit anchor file`},
		{"no format", `{"version":1,"chains":[]}`, `not a rampart audit anchor file`},
		{"newer version", file("2", ""), "version 2 is not supported"},
		{"no version", `{"format":"rampart.audit.anchors","chains":[]}`, "version 0 is not supported"},
		{"unknown field", `{"format":"rampart.audit.anchors","version":1,"chains":[],"extra":1}`, `unknown field "extra"`},
		{"trailing data", file("1", "") + `{}`, "after the anchor object"},
		{"unknown chain", file("1", chain("acme", "1", mac)), `unknown chain "acme"`},
		{"upper-case uuid", file("1", chain("0190A0B0-C0D0-7E00-8000-000000000001", "1", mac)), "unknown chain"},
		{"seq 0", file("1", chain("platform", "0", mac)), "seq must be 1 or more"},
		{"short mac", file("1", chain("platform", "1", "abcd")), "head_mac must be 64 hex digits"},
		{"not hex", file("1", chain("platform", "1", strings.Repeat("zz", 32))), "head_mac must be 64 hex digits"},
		{"twice", file("1", chain("platform", "1", mac)+","+chain("platform", "2", mac)), `chain "platform" is anchored twice`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAnchors(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || rampart.ErrorKind(err) != rampart.KindInvalid {
				t.Fatalf("error %v (kind %v), want an invalid error containing %q", err, rampart.ErrorKind(err), tc.want)
			}
		})
	}
}

// TestCheckAnchor: a chain that still extends its anchored head passes,
// also when retention purged the anchored seal's events (the seal rows
// stay, followed by a purge checkpoint); a chain cut back behind the
// anchor fails and names the chain and the seal, whether or not it was
// re-sealed after the cut.
func TestCheckAnchor(t *testing.T) {
	t.Parallel()
	k := keyring(t)
	mk := func(id int64) Stored { s := k.Sign(sample(), time.Now()); s.ID = id; return s }
	events := []Stored{mk(1), mk(2), mk(3), mk(4)}
	xacts := []uint64{10, 20, 30, 40}
	seal := func(seq int64, from, to uint64, evs []Stored, prev []byte) Seal {
		d := NewDigest()
		for _, e := range evs {
			d.Add(e.MAC)
		}
		s := Seal{Chain: "c", Seq: seq, Kind: SealKind, FromXID: from, ToXID: to, EventCount: int64(len(evs)), Digest: d.Sum(), SealedAt: time.Now(), PrevMAC: prev}
		k.SignSeal(&s)
		return s
	}
	s1 := seal(1, 0, 15, events[:1], nil)
	s2 := seal(2, 15, 25, events[1:2], s1.MAC)
	s3 := seal(3, 25, 35, events[2:3], s2.MAC)
	s4 := seal(4, 35, 45, events[3:], s3.MAC)
	run := func(seals []Seal, evs []Stored, xs []uint64, a Anchor) ChainReport {
		v := k.StartChain("c", seals)
		for i := range evs {
			v.Event(&evs[i], xs[i])
		}
		v.CheckAnchor(a)
		return v.Finish()
	}
	anchor3 := AnchorOf(s3)
	if anchor3.Chain != "c" || anchor3.Seq != 3 || !bytes.Equal(anchor3.HeadMAC, s3.MAC) {
		t.Fatalf("AnchorOf: %+v", anchor3)
	}
	// Extended since the anchor (seal 4 came later): ok.
	if r := run([]Seal{s1, s2, s3, s4}, events, xacts, anchor3); !r.OK() || r.AnchoredSeal != 3 {
		t.Fatalf("extended chain: %+v", r)
	}
	// The anchor is the head: ok.
	if r := run([]Seal{s1, s2, s3}, events, xacts, anchor3); !r.OK() {
		t.Fatalf("anchored head: %+v", r.Problems)
	}
	// Truncation: seal 3 and its events deleted; the rest verifies alone.
	r := run([]Seal{s1, s2}, events[:2], xacts[:2], anchor3)
	if r.OK() || len(r.Problems) != 1 || r.Problems[0].Seal != 3 || r.Problems[0].Chain != "c" ||
		!strings.Contains(r.Problems[0].String(), "chain c, seal 3: anchored seal is missing") ||
		!strings.Contains(r.Problems[0].What, "the chain ends at seal 2") {
		t.Fatalf("truncation: %+v", r.Problems)
	}
	// Without the anchor the same truncated log verifies: the blind spot
	// anchors close.
	if v := k.StartChain("c", []Seal{s1, s2}); true {
		for i := range 2 {
			v.Event(&events[i], xacts[i])
		}
		if r := v.Finish(); !r.OK() {
			t.Fatalf("truncated log without an anchor: %+v", r.Problems)
		}
	}
	// Truncation and re-sealing: a new, valid seal 3 over what was left
	// (a new event in place of the deleted one).
	other := mk(5)
	s3b := seal(3, 25, 35, []Stored{other}, s2.MAC)
	r = run([]Seal{s1, s2, s3b}, []Stored{events[0], events[1], other}, xacts[:3], anchor3)
	if r.OK() || r.Problems[0].Seal != 3 || !strings.Contains(r.Problems[0].What, "does not match the anchored head") {
		t.Fatalf("re-sealed after truncation: %+v", r.Problems)
	}
	// All seals gone.
	r = run(nil, nil, nil, anchor3)
	if r.OK() || !strings.Contains(r.Problems[0].What, "the chain has no seals") {
		t.Fatalf("all seals deleted: %+v", r.Problems)
	}
	// Retention: the events of seals 1-3 purged, a purge checkpoint (5)
	// appended after seal 4. Anchors at the purged seal 3, and at the
	// checkpoint itself, still verify.
	p5 := Seal{Chain: "c", Seq: 5, Kind: PurgeKind, ToXID: 35, EventCount: 3, Digest: []byte{}, PurgedThrough: 3, SealedAt: time.Now(), PrevMAC: s4.MAC}
	k.SignSeal(&p5)
	purged := []Seal{s1, s2, s3, s4, p5}
	if r := run(purged, events[3:], xacts[3:], anchor3); !r.OK() || len(r.Purges) != 1 {
		t.Fatalf("anchor on a purged seal: %+v", r)
	}
	if r := run(purged, events[3:], xacts[3:], AnchorOf(p5)); !r.OK() {
		t.Fatalf("anchor on the purge checkpoint: %+v", r.Problems)
	}
	// A forged anchor (right seq, wrong MAC) is reported, not trusted.
	forged := anchor3
	forged.HeadMAC = bytes.Repeat([]byte{7}, 32)
	if r := run([]Seal{s1, s2, s3}, events, xacts, forged); r.OK() {
		t.Fatal("an anchor that the chain does not hold passed")
	}
}
