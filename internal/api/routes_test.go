package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 11: a route and its request type were registered in two places
// (the route list and a requestBody switch on the pattern string). Now a
// route with a body is mounted by publicJSON or authedJSON with its type,
// which both decodes the body and documents it; no handler decodes a body
// of its own, so the documented and the enforced schema cannot drift.
func TestOnlyTheRouteWrappersDecodeBodies(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "json.go" || f == "server.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "s.decode(") {
			t.Errorf("%s decodes a request body itself: mount the route with publicJSON or authedJSON and its request type", f)
		}
	}
	b, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "s.decode("); n != 2 {
		t.Errorf("server.go decodes bodies in %d places, want 2 (publicJSON and authedJSON)", n)
	}
}
