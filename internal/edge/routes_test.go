package edge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 11: a route and its request type were registered in two places
// (the route list and a requestBody switch on the pattern string). Now a
// route with a body is mounted by PublicJSON, AuthedJSON or AgentJSON with its type,
// which both decodes the body and documents it; nothing else decodes a
// body (decode is unexported, and the packages that hold handlers parse
// no JSON of their own), so the documented and the enforced schema cannot
// drift.
func TestOnlyTheRouteWrappersDecodeBodies(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "json.go" || f == "routes.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), ".decode(") {
			t.Errorf("%s decodes a request body itself: mount the route with PublicJSON or AuthedJSON and its request type", f)
		}
	}
	b, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "rt.decode("); n != 3 {
		t.Errorf("routes.go decodes bodies in %d places, want 3 (PublicJSON, AuthedJSON and AgentJSON)", n)
	}
	for _, dir := range []string{"../api", "../console"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, call := range []string{"json.NewDecoder(", "json.Unmarshal(", ".decode("} {
				if strings.Contains(string(b), call) {
					t.Errorf("%s calls %s: mount the route with edge.PublicJSON or edge.AuthedJSON and its request type", f, call)
				}
			}
		}
	}
}
