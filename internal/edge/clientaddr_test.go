package edge

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddrBelievesOnlyTrustedProxies(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		peer, xff, want string
	}{
		{"203.0.113.9:5000", "", "203.0.113.9"},
		{"203.0.113.9:5000", "1.2.3.4", "203.0.113.9"},              // untrusted peer: header ignored
		{"10.1.2.3:5000", "198.51.100.7", "198.51.100.7"},           // trusted proxy
		{"10.1.2.3:5000", "198.51.100.7, 10.9.9.9", "198.51.100.7"}, // chain of trusted proxies
		{"10.1.2.3:5000", "6.6.6.6, 198.51.100.7", "198.51.100.7"},  // a spoofed left part is ignored
		{"10.1.2.3:5000", "not-an-ip", "10.1.2.3"},                  // malformed: not believed
		{"10.1.2.3:5000", "10.4.4.4", "10.1.2.3"},                   // only proxies: the peer
		{"[::1]:5000", "2001:db8::7", "2001:db8::7"},
		{"[fe80::1%eth0]:5000", "", "fe80::1"},
	}
	for _, tc := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientAddr(r, trusted); got.String() != tc.want {
			t.Errorf("peer %s, XFF %q: got %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}
