package jobs

import (
	"os"
	"testing"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/store"
)

// crashWorkerEnv, set to 1, makes this test binary a crash-test child
// (TestHelperCrashWorker in crash_test.go).
const crashWorkerEnv = "RAMPART_CRASH_WORKER"

// TestMain starts the PostgreSQL harness, except in a crash-test child
// (crash_test.go): the child re-runs this binary to work one job against
// its parent's database and must not start a cluster of its own.
func TestMain(m *testing.M) {
	if os.Getenv(crashWorkerEnv) != "" {
		os.Exit(m.Run())
	}
	pgtest.Main(m, store.Prepare)
}
