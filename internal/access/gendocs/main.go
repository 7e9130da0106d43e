package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rampart-dev/rampart/internal/access"
)

func main() {
	out := flag.String("o", "docs/permissions.md", "file to write")
	flag.Parse()
	if err := os.WriteFile(*out, []byte(access.GeneratedDoc()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
