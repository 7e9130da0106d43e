package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
