package fieldcrypt

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func testRing(t testing.TB, kids ...string) *Ring {
	t.Helper()
	var specs []string
	for _, k := range kids {
		s, err := NewKey(k)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	r, err := ParseRing(strings.Join(specs, ","))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func binding() Binding {
	return Binding{Organization: uuid.New(), Table: "bom_lines", Column: "unit_cost_enc", Row: uuid.New()}
}

func TestSealOpenRoundTrip(t *testing.T) {
	r := testRing(t, "f2", "f1")
	b := binding()
	for _, pt := range [][]byte{{}, []byte("1250"), bytes.Repeat([]byte("x"), 5000)} {
		env, err := r.Seal(b, pt)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(env, []byte("1250")) && len(pt) > 0 {
			t.Fatal("plaintext visible in the envelope")
		}
		if env[0] != Version || string(env[2:2+int(env[1])]) != "f2" {
			t.Fatalf("header = %v, want version 1 and kid f2", env[:4])
		}
		got, kid, err := r.Open(b, env)
		if err != nil || kid != "f2" || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %q, %v", got, kid, err)
		}
	}
	// Two seals of one value differ (random nonce).
	a, _ := r.Seal(b, []byte("same"))
	c, _ := r.Seal(b, []byte("same"))
	if bytes.Equal(a, c) {
		t.Fatal("two seals of the same value are identical")
	}
}

// TestMovedCiphertextFailsToOpen is the binding: the right key but another
// row, column, table or organization does not open.
func TestMovedCiphertextFailsToOpen(t *testing.T) {
	r := testRing(t, "f1")
	b := binding()
	env, err := r.Seal(b, []byte("4200"))
	if err != nil {
		t.Fatal(err)
	}
	moved := map[string]Binding{}
	m := b
	m.Row = uuid.New()
	moved["row"] = m
	m = b
	m.Column = "sourcing_enc"
	moved["column"] = m
	m = b
	m.Table = "crew_members"
	moved["table"] = m
	m = b
	m.Organization = uuid.New()
	moved["organization"] = m
	for name, to := range moved {
		if pt, _, err := r.Open(to, env); !errors.Is(err, ErrAuth) || pt != nil {
			t.Errorf("moved to another %s: Open = %q, %v; want ErrAuth", name, pt, err)
		}
	}
}

func TestTamperedEnvelopesFail(t *testing.T) {
	r := testRing(t, "f2", "f1")
	old := testRing(t, "f1")
	b := binding()
	env, _ := r.Seal(b, []byte("secret supplier"))
	for i := range env {
		bad := bytes.Clone(env)
		bad[i] ^= 0x01
		if _, _, err := r.Open(b, bad); err == nil {
			t.Fatalf("flipping byte %d still opens", i)
		}
	}
	// The kid is authenticated: relabelling a value sealed under f2 as f1
	// (same length) fails even though f1 is in the ring.
	relabel := bytes.Clone(env)
	copy(relabel[2:4], "f1")
	if _, _, err := r.Open(b, relabel); !errors.Is(err, ErrAuth) {
		t.Fatalf("relabelled kid: %v, want ErrAuth", err)
	}
	// A ring without the key says which key is missing.
	if _, kid, err := old.Open(b, env); !errors.Is(err, ErrUnknownKey) || kid != "f2" {
		t.Fatalf("unknown key: kid %q, %v", kid, err)
	}
	for _, bad := range [][]byte{nil, {1}, {2, 2, 'f', '1'}, {1, 0}, {1, 40}, append([]byte{1, 2, 'f', '1'}, make([]byte, 10)...)} {
		if _, _, err := r.Open(b, bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("Open(%v) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestOldKeysOpenNewestSeals(t *testing.T) {
	k1, _ := NewKey("f1")
	k2, _ := NewKey("f2")
	old, err := ParseRing(k1)
	if err != nil {
		t.Fatal(err)
	}
	b := binding()
	env, _ := old.Seal(b, []byte("17"))
	r, err := ParseRing(k2 + "," + k1) // f2 prepended: it seals, f1 still opens
	if err != nil {
		t.Fatal(err)
	}
	if pt, kid, err := r.Open(b, env); err != nil || kid != "f1" || string(pt) != "17" {
		t.Fatalf("old value under the new ring: %q %q %v", pt, kid, err)
	}
	if env2, _ := r.Seal(b, []byte("17")); mustKID(t, env2) != "f2" {
		t.Fatal("the newest key does not seal")
	}
	if r.Newest() != "f2" || !r.Has("f1") || r.Has("f3") || len(r.IDs()) != 2 {
		t.Fatalf("ring = %v", r.IDs())
	}
}

func TestParseRingRefusesBadKeys(t *testing.T) {
	good, _ := NewKey("f1")
	for _, spec := range []string{
		"", "  ", "f1", "f1:", ":" + strings.SplitN(good, ":", 2)[1], "f1:not-base64!!",
		"f1:" + "AAAA",                  // 3 bytes
		"f1:" + strings.Repeat("A", 64), // 48 bytes
		good + "," + good,               // duplicate kid
		"bad kid:" + strings.SplitN(good, ":", 2)[1],
		strings.Repeat("k", 33) + ":" + strings.SplitN(good, ":", 2)[1],
	} {
		if _, err := ParseRing(spec); err == nil {
			t.Errorf("ParseRing(%q) accepted", spec)
		}
	}
	if _, err := ParseRing(" " + good + " "); err != nil {
		t.Fatalf("spaces around a good key: %v", err)
	}
}

func TestIncompleteBindingRefused(t *testing.T) {
	r := testRing(t, "f1")
	for _, b := range []Binding{{}, {Organization: uuid.New(), Table: "t", Column: "c"}, {Organization: uuid.New(), Table: "t", Row: uuid.New()}} {
		if _, err := r.Seal(b, []byte("x")); err == nil {
			t.Errorf("Seal with %+v accepted", b)
		}
	}
}

func FuzzOpenNeverPanics(f *testing.F) {
	r := testRing(f, "f1")
	b := binding()
	env, _ := r.Seal(b, []byte("seed"))
	f.Add(env)
	f.Add([]byte{1, 1, 'x'})
	f.Fuzz(func(t *testing.T, data []byte) {
		pt, _, err := r.Open(b, data)
		if err == nil && !bytes.Equal(data, env) {
			t.Fatalf("forged envelope opened: %q", pt)
		}
	})
}

func mustKID(t *testing.T, env []byte) string {
	k, err := KeyID(env)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseKeysAndSharesKey(t *testing.T) {
	a, _ := NewKey("s1")
	b, _ := NewKey("f1")
	ka, err := ParseKeys(a)
	if err != nil || len(ka) != 1 || ka[0].ID != "s1" || len(ka[0].Secret) != KeySize {
		t.Fatalf("ParseKeys: %v %v", ka, err)
	}
	kb, _ := ParseKeys(b)
	if SharesKey(ka, kb) {
		t.Fatal("two fresh keys share material")
	}
	same, _ := ParseKeys("other:" + strings.SplitN(a, ":", 2)[1])
	if !SharesKey(ka, same) {
		t.Fatal("the same key under another id is not detected")
	}
}
