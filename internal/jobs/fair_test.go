package jobs

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

func TestFairPriority(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ backlog, perOrg, want int }{
		{0, 2, 1}, {1, 2, 1}, {2, 2, 2}, {7, 2, 2}, {8, 2, 3}, {31, 2, 3}, {32, 2, 4}, {10_000, 2, 4},
		{0, 1, 1}, {1, 1, 2}, {3, 1, 2}, {4, 1, 3}, {16, 1, 4},
	} {
		if got := fairPriority(c.backlog, c.perOrg); got != c.want {
			t.Errorf("fairPriority(%d, %d) = %d, want %d", c.backlog, c.perOrg, got, c.want)
		}
	}
}

// TestFairSchedulingAcrossOrganizations (decision 0011): organization A
// queues 12 jobs, then B queues one. With one worker, B's job runs right
// after A's first two (the jobs A may run at once), not after all twelve;
// A's own jobs keep their order. (Without fair priorities, River's
// first-in-first-out order made B's job the thirteenth.)
func TestFairSchedulingAcrossOrganizations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.seedTenant(t, "fair-a")
	b := e.seedTenant(t, "fair-b")
	stub := newStub(false)
	stub.Chunks = 1

	requester := e.newQueue(t, e.st, Options{Workers: 0, PerOrg: 2})
	var aKeys []string
	for range 12 {
		key := newKey("a")
		p := e.proposal(t, a.producer, "Gala "+key, benignBrief)
		e.request(t, requester, a.producer, p.ID)
		aKeys = append(aKeys, key)
	}
	bKey := newKey("b")
	bJob := e.request(t, requester, b.producer, e.proposal(t, b.producer, "Gala "+bKey, benignBrief).ID)

	e.startQueue(t, e.st, Options{Provider: stub, Workers: 1, PerOrg: 2})
	e.waitStatus(t, b.producer, bJob.ID, rampart.JobSucceeded)
	waitUntil(t, "all 13 model calls", func() bool { return len(stub.Calls()) == 13 })
	calls := stub.Calls()
	pos := -1
	var aOrder []string
	for i, k := range calls {
		if k == bKey {
			pos = i
		} else {
			aOrder = append(aOrder, k)
		}
	}
	if pos != 2 {
		t.Errorf("B's job was model call %d of %d, want 3 (after A's two that may run at once): %v", pos+1, len(calls), calls)
	}
	for i := range aKeys {
		if i >= len(aOrder) || aOrder[i] != aKeys[i] {
			t.Fatalf("A's jobs ran in the order %v, want the order requested %v", aOrder, aKeys)
		}
	}
}
