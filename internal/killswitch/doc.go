// Package killswitch holds the three-level AI kill switch (global →
// organization → job) in every process's memory and cancels in-flight AI
// work when a level is switched on.
//
// The state lives in PostgreSQL (store). A Watcher keeps a copy, refreshed
// by LISTEN/NOTIFY on store.KillSwitchChannel and, as a fallback, by a
// periodic re-read. Check answers from memory (no database round trip). If
// the watcher has not confirmed the state for longer than StaleAfter (the
// database is unreachable, the listener is down and re-reads fail), Check
// fails closed: no new AI work starts until the state is known again.
package killswitch
