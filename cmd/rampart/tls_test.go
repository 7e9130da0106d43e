package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rampart test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kb, _ := x509.MarshalECPrivateKey(key)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestBuiltInTLS: with a certificate, serve speaks HTTPS only (TLS 1.2+),
// and the redirect listener sends plain HTTP to HTTPS.
func TestBuiltInTLS(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	cert, key, pool := selfSigned(t)
	redirectAddr := freePort(t)
	env := externalEnv(db, db.AppURL)
	env["RAMPART_TLS_CERT"], env["RAMPART_TLS_KEY"], env["RAMPART_HTTP_REDIRECT_ADDR"] = cert, key, redirectAddr
	r := start(t, env, "serve", "--addr", "127.0.0.1:0")
	addr := r.waitListen(t)
	if !strings.Contains(r.out.String(), "https://"+addr.String()) {
		t.Errorf("banner does not show the HTTPS URL:\n%s", r.out)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(fmt.Sprintf("https://%s/api/health", addr))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil || res.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("HTTPS health: %d %+v", res.StatusCode, res.TLS)
	}
	// TLS 1.1 is refused.
	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get(fmt.Sprintf("https://%s/api/health", addr)); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	// A TLS 1.2 client offering only CBC suites is refused.
	cbc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool,
		MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}}}
	if _, err := cbc.Get(fmt.Sprintf("https://%s/api/health", addr)); err == nil {
		t.Fatal("a TLS 1.2 client offering only CBC suites was served")
	}
	// Session resumption works through ServeTLS (which clones the config).
	resume := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: pool, ClientSessionCache: tls.NewLRUClientSessionCache(4)}}}
	for i, want := range []bool{false, true} {
		res, err := resume.Get(fmt.Sprintf("https://%s/api/health", addr))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.TLS.DidResume != want {
			t.Fatalf("connection %d: DidResume %v, want %v", i+1, res.TLS.DidResume, want)
		}
	}
	// Plain HTTP on the TLS port is not served.
	if res, err := client.Get(fmt.Sprintf("http://%s/api/health", addr)); err == nil && res.StatusCode == 200 {
		t.Fatal("plain HTTP served on the TLS port")
	}
	// The redirect listener.
	var rres *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		rres, err = client.Get("http://" + redirectAddr + "/api/me?x=1")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	rres.Body.Close()
	if rres.StatusCode != http.StatusPermanentRedirect || rres.Header.Get("Location") != fmt.Sprintf("https://%s/api/me?x=1", addr) {
		t.Fatalf("redirect: %d %q", rres.StatusCode, rres.Header.Get("Location"))
	}
}

func TestTLSConfigErrors(t *testing.T) {
	t.Parallel()
	cert, _, _ := selfSigned(t)
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"RAMPART_TLS_CERT": cert}, "RAMPART_TLS_CERT and RAMPART_TLS_KEY together"},
		{map[string]string{"RAMPART_TLS_CERT": cert, "RAMPART_TLS_KEY": "/nonexistent.pem"}, "cannot load the certificate"},
		{map[string]string{"RAMPART_HTTP_REDIRECT_ADDR": ":80"}, "only makes sense with RAMPART_TLS_CERT"},
		{map[string]string{"RAMPART_TRUSTED_PROXIES": "10.0.0.0/8, banana"}, `"banana" is not an IP address or CIDR`},
	} {
		code, _, errOut := run(t, tc.env, "serve")
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q", tc.env, code, errOut)
		}
	}
}

// testCertificates returns an ECDSA and an RSA certificate for 127.0.0.1
// and a pool that trusts both, so that a suite refused by the server is
// refused for its policy, not for want of a certificate of its kind.
func testCertificates(t *testing.T) ([]tls.Certificate, *x509.CertPool) {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	var certs []tls.Certificate
	for i, key := range []crypto.Signer{ec, rk} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: "rampart test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		pool.AddCert(leaf)
		certs = append(certs, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf})
	}
	return certs, pool
}

// handshake connects a client with cc (ServerName "127.0.0.1") to a
// server with sc over loopback TCP and returns the client's view of the connection. The client reads
// one byte the server writes, so a TLS 1.3 session ticket (sent after the
// handshake) reaches its session cache.
func handshake(t *testing.T, sc, cc *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		s := tls.Server(c, sc)
		if err = s.Handshake(); err == nil {
			_, err = s.Write([]byte{1})
		}
		served <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	cc = cc.Clone()
	cc.ServerName = "127.0.0.1"
	cl := tls.Client(c, cc)
	if err = cl.Handshake(); err == nil {
		_, err = io.ReadFull(cl, make([]byte, 1))
	}
	c.Close()
	<-served
	return cl.ConnectionState(), err
}

// fakeClock is a settable clock for tls.Config.Time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestTLSCipherSuites: TLS 1.2 is served with the AEAD, forward-secret
// (ECDHE) suites only; a client offering only CBC, SHA-1/SHA-256 MAC or
// static-RSA key exchange suites is refused. TLS 1.3 is served.
func TestTLSCipherSuites(t *testing.T) {
	t.Parallel()
	certs, pool := testCertificates(t)
	sc := serverTLSConfig(nil)
	sc.Certificates = certs
	for _, tc := range []struct {
		suite uint16
		ok    bool
	}{
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true},
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true},
		{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, true},
		{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, false},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false},
		{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, false},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, false},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, false},
		{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, false},
		{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, false},
		{tls.TLS_RSA_WITH_AES_128_CBC_SHA, false},
		{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, false},
	} {
		t.Run(tls.CipherSuiteName(tc.suite), func(t *testing.T) {
			st, err := handshake(t, sc, &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tc.suite}})
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && err == nil:
				t.Fatalf("served with %s", tls.CipherSuiteName(st.CipherSuite))
			case tc.ok && (st.Version != tls.VersionTLS12 || st.CipherSuite != tc.suite):
				t.Fatalf("negotiated %x %s", st.Version, tls.CipherSuiteName(st.CipherSuite))
			}
		})
	}
	t.Run("TLS 1.3", func(t *testing.T) {
		st, err := handshake(t, sc, &tls.Config{RootCAs: pool})
		if err != nil || st.Version != tls.VersionTLS13 {
			t.Fatalf("%x, %v", st.Version, err)
		}
	})
	t.Run("TLS 1.1", func(t *testing.T) {
		if _, err := handshake(t, sc, &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}); err == nil {
			t.Fatal("a TLS 1.1 client was served")
		}
	})
}

// TestTLSSessionTicketLifetime: a session ticket is never accepted 24 hours
// or more after it was issued, with TLS 1.2 and 1.3, and a ticket issued
// under the previous ticket key still resumes. The server's clock is faked;
// the client's is real and would keep a ticket for the 7 days the server
// announces.
func TestTLSSessionTicketLifetime(t *testing.T) {
	t.Parallel()
	certs, pool := testCertificates(t)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, tc := range []struct {
			name          string
			issued, after time.Duration // when the ticket is issued, and then used, after the server's first handshake
			resume        bool
		}{
			{"used after 1h", 0, time.Hour, true},
			{"used after 23h59m", 0, 24*time.Hour - time.Minute, true},
			{"used after 24h", 0, 24 * time.Hour, false},
			{"used after 25h", 0, 25 * time.Hour, false},
			{"used after 8 days", 0, 8 * 24 * time.Hour, false},
			{"issued at 5h59m, used after 18h", 6*time.Hour - time.Minute, 18 * time.Hour, true},
			{"issued after a key rotation, used after 23h", 7 * time.Hour, 23 * time.Hour, true},
			{"issued after a key rotation, used after 24h", 7 * time.Hour, 24 * time.Hour, false},
		} {
			t.Run(tls.VersionName(version)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
				sc := serverTLSConfig(clock.Now)
				sc.Certificates = certs
				newClient := func() *tls.Config {
					return &tls.Config{RootCAs: pool, MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
				}
				if _, err := handshake(t, sc, newClient()); err != nil { // the server's first ticket
					t.Fatal(err)
				}
				clock.Advance(tc.issued)
				cc := newClient()
				if st, err := handshake(t, sc, cc); err != nil || st.Version != version || st.DidResume {
					t.Fatalf("first handshake: version %x, resumed %v, %v", st.Version, st.DidResume, err)
				}
				clock.Advance(tc.after)
				st, err := handshake(t, sc, cc)
				if err != nil {
					t.Fatal(err)
				}
				if st.DidResume != tc.resume {
					t.Fatalf("resumed %v, want %v", st.DidResume, tc.resume)
				}
			})
		}
	}
}
