package main

import (
	"context"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/store"
)

// Issue 11: sealing, retention and the job sweep ran in every process, so
// two serve processes did each twice. With two serve processes and a
// worker on one database, each tick of the seal task (every 1 s) runs in
// exactly one process: consecutive runs start at least 0.9 s apart.
func TestPeriodicWorkRunsOncePerCluster(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	env["RAMPART_AUDIT_SEAL_INTERVAL"] = "1s"
	env["RAMPART_AI_WORKERS"] = "1"
	var procs []*running
	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"serve", "--addr", "127.0.0.1:0"}, {"worker"}} {
		r := start(t, env, args...)
		r.waitListen(t)
		procs = append(procs, r)
	}
	starts, runners := waitSealRuns(t, openTestStore(t, db), 6)
	t.Logf("%d seal runs by %d processes", len(starts), len(runners))
	// Every process is alive and ticking (each tried to claim).
	for _, r := range procs {
		select {
		case code := <-r.done:
			t.Fatalf("a process exited with %d", code)
		default:
		}
	}
}

// waitSealRuns watches the audit_seal task until n runs have started and
// checks that consecutive runs started at least 0.9 s apart (one run per
// 1 s interval for the whole cluster); it returns the starts and the
// processes that ran them.
func waitSealRuns(t *testing.T, st *store.Store, n int) ([]time.Time, map[string]bool) {
	t.Helper()
	ctx := context.Background()
	var starts []time.Time
	runners := map[string]bool{}
	for deadline := time.Now().Add(60 * time.Second); len(starts) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d seal runs seen", len(starts))
		}
		runs, err := st.Periodic().Runs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Task == "audit_seal" && (len(starts) == 0 || r.LastStartedAt.After(starts[len(starts)-1])) {
				starts = append(starts, r.LastStartedAt)
				runners[r.RunBy] = true
			}
		}
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < 900*time.Millisecond {
			t.Errorf("seal runs %d and %d started %v apart: one interval's task ran twice", i-1, i, gap)
		}
	}
	return starts, runners
}
