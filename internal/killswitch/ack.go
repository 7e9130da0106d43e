package killswitch

import (
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/store"
)

// Acknowledgements (decision 0027). The watcher notes, in memory, each
// new state of a switch it installs and what enforcing it stopped; a
// Reporter takes the notes off the hot path and records them on the
// service path. Nothing here touches the database.

// maxPendingAcks bounds the notes waiting for the Reporter: past it the
// oldest are dropped (and counted in Dropped), so a database outage cannot
// grow a process's memory.
const maxPendingAcks = 10000

// acks is the acknowledgement bookkeeping of one watcher.
type acks struct {
	mu sync.Mutex
	// seq is the Refresh sequence of the last state noted: an older
	// Refresh that finishes later is ignored.
	seq int64
	// loaded is the database time of the first whole state installed
	// (zero until then): every switch changed before it was in that read.
	loaded time.Time
	// versions is the change time of each switch as last installed; the
	// zero id is the global switch. An organization's entry goes when a
	// re-read shows it off (its change time is then looked up on write).
	versions map[uuid.UUID]time.Time
	active   map[uuid.UUID]bool
	// heardAt is when a notice installed a switch before the re-read
	// that names its change.
	heardAt map[uuid.UUID]time.Time
	// installedAt is when the current version of each switch was installed.
	installedAt map[uuid.UUID]time.Time
	tally       map[uuid.UUID]*tally
	pending     []store.SwitchAck
	dropped     int
	ready       chan struct{}
	pushes      int // acknowledgements queued so far (wakes the reporter when it grows)
}

type tally struct{ jobs, streams int }

func newAcks() acks {
	return acks{versions: map[uuid.UUID]time.Time{}, active: map[uuid.UUID]bool{}, heardAt: map[uuid.UUID]time.Time{},
		installedAt: map[uuid.UUID]time.Time{}, tally: map[uuid.UUID]*tally{}, ready: make(chan struct{}, 1)}
}

// heard notes that a notice installed key's switch at now.
func (a *acks) heard(key uuid.UUID, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.heardAt[key]; !ok {
		a.heardAt[key] = now
	}
}

// stopped counts one job (or stream) stopped by key's switch.
func (a *acks) stopped(key uuid.UUID, stream bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tally[key]
	if t == nil {
		t = &tally{}
		a.tally[key] = t
	}
	if stream {
		t.streams++
	} else {
		t.jobs++
	}
}

// installed notes the state a fresh re-read (number seq) installed: each
// switch whose change time differs from the one installed before is a new
// acknowledgement, carrying what was stopped since; stops counted under a
// version already acknowledged are added to it.
func (a *acks) installed(seq int64, st store.KillState, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if seq <= a.seq {
		return
	}
	a.seq = seq
	pushes := a.pushes
	first := a.loaded.IsZero()
	if first {
		// The first read is the baseline, not a change this process heard.
		a.loaded = st.Read
		if a.loaded.IsZero() {
			a.loaded = now
		}
	}
	seen := map[uuid.UUID]bool{uuid.Nil: true}
	a.note(first, uuid.Nil, st.Global.ChangedAt, st.Global.Active, now)
	for org, at := range st.Orgs {
		seen[org] = true
		a.note(first, org, at, true, now)
	}
	for key := range a.versions {
		if !seen[key] && a.active[key] {
			// Switched off: its change time is not in the state (only
			// active organizations are); the store looks it up.
			a.note(first, key, time.Time{}, false, now)
		}
	}
	// A notice of a switch the re-read no longer shows on (raised and
	// lowered in between): nothing was installed to acknowledge.
	for key := range a.heardAt {
		if _, known := a.versions[key]; !known && !seen[key] {
			delete(a.heardAt, key)
			delete(a.tally, key)
		}
	}
	// Stops counted under a version already acknowledged.
	for key, t := range a.tally {
		v, ok := a.versions[key]
		if _, heard := a.heardAt[key]; !ok && !heard {
			delete(a.tally, key) // a switch already off again: nothing to attach it to
			continue
		}
		if !ok || (t.jobs == 0 && t.streams == 0) {
			continue
		}
		a.push(key, v, a.active[key], a.installedAt[key], t)
		delete(a.tally, key)
	}
	// Wake the reporter only for something to record: the first state
	// (its time goes on the process's row) or a new acknowledgement. Every
	// re-read installs the state again (each second), and most change
	// nothing: those must not turn the heartbeat into a write per second.
	if first || a.pushes != pushes {
		select {
		case a.ready <- struct{}{}:
		default:
		}
	}
}

// note records key's switch at version at (zero: an organization's switch
// just seen off) unless it is the version already installed.
func (a *acks) note(first bool, key uuid.UUID, at time.Time, active bool, now time.Time) {
	if v, ok := a.versions[key]; ok && v.Equal(at) && a.active[key] == active {
		return
	}
	a.versions[key], a.active[key] = at, active
	installedAt := now
	if h, ok := a.heardAt[key]; ok {
		installedAt = h
		delete(a.heardAt, key)
	}
	a.installedAt[key] = installedAt
	if !active && key != uuid.Nil {
		// Off is the organization's resting state: forget it once noted.
		delete(a.versions, key)
		delete(a.active, key)
		delete(a.installedAt, key)
	}
	if first {
		return // in the baseline: state_loaded_at covers it
	}
	t := a.tally[key]
	delete(a.tally, key)
	a.push(key, at, active, installedAt, t)
}

func (a *acks) push(key uuid.UUID, at time.Time, active bool, installedAt time.Time, t *tally) {
	ack := store.SwitchAck{ChangedAt: at, Active: active, InstalledAt: installedAt}
	if key != uuid.Nil {
		k := key
		ack.OrganizationID = &k
	}
	if t != nil {
		ack.JobsStopped, ack.StreamsClosed = t.jobs, t.streams
	}
	a.pushes++
	if len(a.pending) >= maxPendingAcks {
		a.pending = a.pending[1:]
		a.dropped++
	}
	a.pending = append(a.pending, ack)
}

// AckReady is signalled when acknowledgements wait to be recorded.
func (w *Watcher) AckReady() <-chan struct{} { return w.acks.ready }

// TakeAcks returns the acknowledgements waiting to be recorded, and how
// many were dropped (past maxPendingAcks) since the last call.
func (w *Watcher) TakeAcks() (acks []store.SwitchAck, dropped int) {
	a := &w.acks
	a.mu.Lock()
	defer a.mu.Unlock()
	acks, dropped = a.pending, a.dropped
	a.pending, a.dropped = nil, 0
	return acks, dropped
}

// LoadedAt is the database time of the first whole state this watcher
// installed; ok is false until then.
func (w *Watcher) LoadedAt() (at time.Time, ok bool) {
	a := &w.acks
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.loaded, !a.loaded.IsZero()
}
