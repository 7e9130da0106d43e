package main

import (
	"crypto/rand"
	"crypto/tls"
	"sync"
	"time"
)

// TLS session tickets: a new ticket key every ticketKeyRotation, and each
// key decrypts for ticketKeyLifetime after it was made. A ticket is
// encrypted under a key no older than itself, so no ticket resumes a
// session 24 hours or more after it was issued (crypto/tls alone accepts a
// ticket for 7 days), and every ticket resumes for at least 18 hours.
// Each ticket is bounded, not each session: TLS 1.2 resumption re-issues a
// ticket holding the same master secret, and only crypto/tls's own limit,
// 7 days from the full handshake, ends that chain. (TLS 1.3 resumes with a
// fresh ECDHE exchange.)
const (
	ticketKeyRotation = 6 * time.Hour
	ticketKeyLifetime = 24 * time.Hour
)

// tls12Suites are the TLS 1.2 cipher suites served: ECDHE key exchange
// (forward secrecy) with an AEAD cipher, the Mozilla "intermediate" profile
// as far as crypto/tls implements it (it has no DHE). Neither CBC nor SHA-1
// MACs nor static-RSA key exchange are offered. TLS 1.3 suites are not
// configurable in crypto/tls and are all AEAD.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serverTLSConfig is the configuration of the HTTPS listener: TLS 1.2 with
// tls12Suites, or TLS 1.3; hybrid post-quantum X25519MLKEM768 first; and
// session tickets under rotating keys. now is its clock (nil: time.Now);
// tests pass a fake one to age tickets.
//
// The ticket keys rotate lazily, on the handshakes that issue or present a
// ticket, from the clock: there is no goroutine to stop. They live in
// WrapSession and UnwrapSession closures rather than in
// Config.SetSessionTicketKeys because http.Server.ServeTLS serves a clone of
// the configuration, which would not see keys set on the original later.
func serverTLSConfig(now func() time.Time) *tls.Config {
	if now == nil {
		now = time.Now
	}
	tk := &ticketKeys{now: now, holder: &tls.Config{}}
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CipherSuites:     tls12Suites,
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
		Time:             now,
		WrapSession: func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
			return tk.current().EncryptTicket(cs, ss)
		},
		UnwrapSession: func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
			return tk.current().DecryptTicket(identity, cs) // (nil, nil), a full handshake, for an unknown or expired key
		},
	}
}

// ticketKeys holds the session ticket keys, newest first, each made at most
// ticketKeyLifetime ago.
type ticketKeys struct {
	now    func() time.Time
	mu     sync.Mutex
	keys   []ticketKey
	holder *tls.Config // carries keys for EncryptTicket/DecryptTicket; never serves
}

type ticketKey struct {
	made time.Time
	key  [32]byte
}

// current drops the keys made ticketKeyLifetime or more ago, makes a new
// one when the newest is ticketKeyRotation old (or there is none), and
// returns the configuration that encrypts with the newest and decrypts
// with all.
func (k *ticketKeys) current() *tls.Config {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	changed := false
	live := k.keys[:0]
	for _, key := range k.keys {
		if now.Sub(key.made) < ticketKeyLifetime {
			live = append(live, key)
		} else {
			changed = true
		}
	}
	k.keys = live
	if len(k.keys) == 0 || now.Sub(k.keys[0].made) >= ticketKeyRotation {
		key := ticketKey{made: now}
		_, _ = rand.Read(key.key[:]) // crypto/rand.Read never fails (it crashes the program instead)
		k.keys = append([]ticketKey{key}, k.keys...)
		changed = true
	}
	if changed {
		raw := make([][32]byte, len(k.keys))
		for i, key := range k.keys {
			raw[i] = key.key
		}
		k.holder.SetSessionTicketKeys(raw)
	}
	return k.holder
}
