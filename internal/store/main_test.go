package store

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, Prepare) }

// testKeyring is a fixed audit key for tests.
func testKeyring(t testing.TB) *audit.Keyring {
	k, err := audit.NewKeyring([]audit.Key{{ID: "test", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}
