package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/rampart-dev/rampart/internal/benchsuite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("rampart-bench", flag.ContinueOnError)
	scale := fs.String("scale", string(benchsuite.Full), "quick (make bench-quick) or full (make bench)")
	out := fs.String("out", "bench-results", "directory for results.json, chart.svg, the raw outputs and the test binaries")
	only := fs.String("only", "", "run only the entries whose id matches this regular expression")
	list := fs.Bool("list", false, "list the entries and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	s := benchsuite.Scale(*scale)
	if s != benchsuite.Quick && s != benchsuite.Full {
		fmt.Fprintf(os.Stderr, "rampart-bench: -scale must be quick or full, not %q\n", *scale)
		return 2
	}
	if err := benchsuite.Validate(benchsuite.Suite); err != nil {
		fmt.Fprintf(os.Stderr, "rampart-bench: the suite is malformed: %v\n", err)
		return 2
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rampart-bench: -only: %v\n", err)
		return 2
	}
	var entries []benchsuite.Entry
	for _, e := range benchsuite.Suite {
		if re.MatchString(e.ID) {
			entries = append(entries, e)
		}
	}
	if *list {
		for _, e := range entries {
			fmt.Printf("%-26s %-22s %-40s %s\n", e.ID, e.Package, e.Pattern(s), e.What)
		}
		return 0
	}
	if len(entries) == 0 {
		fmt.Fprintf(os.Stderr, "rampart-bench: no entry matches %q\n", *only)
		return 2
	}
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rampart-bench:", err)
		return 1
	}
	outDir, _ := filepath.Abs(*out)
	fi, _ := os.Stderr.Stat()
	live := fi != nil && fi.Mode()&os.ModeCharDevice != 0
	r := &benchsuite.Runner{Root: root, Out: outDir, Scale: s, Entries: entries, Progress: os.Stderr, Live: live}
	rep, err := r.Run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rampart-bench:", err)
		return 1
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rampart-bench:", err)
		return 1
	}
	for name, write := range map[string]func(*os.File) error{
		"results.json": func(f *os.File) error { return rep.WriteJSON(f) },
		"chart.svg":    func(f *os.File) error { return rep.WriteSVG(f) },
		"results.md":   func(f *os.File) error { return rep.WriteMarkdown(f) },
	} {
		if err := writeFile(filepath.Join(outDir, name), write); err != nil {
			fmt.Fprintln(os.Stderr, "rampart-bench:", err)
			return 1
		}
	}
	fmt.Printf("wrote %s and %s\n", filepath.Join(*out, "results.json"), filepath.Join(*out, "chart.svg"))
	if rep.Failed > 0 {
		return 1
	}
	return 0
}

func writeFile(name string, write func(*os.File) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
