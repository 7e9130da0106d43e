package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// parallelCommands are commands a runbook may name before this binary has
// them (work landing in parallel). trust-report was listed here while it
// was built beside the runbooks (issue #16 item 5); it has landed, so the
// list is empty and every command is checked.
var parallelCommands = []string{}

// TestRunbookCommandsExist: every `rampart <command> [<subcommand>]
// [--flag …]` a runbook names (in a code span or a code block of
// docs/runbooks/*.md) is a command of this binary, its subcommand one the
// command's usage line lists, and each flag one the command defines.
func TestRunbookCommandsExist(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../docs/runbooks/*.md")
	if err != nil || len(files) < 4 {
		t.Fatalf("runbooks: %v %v", files, err)
	}
	cli := describeCLI(t)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, inv := range runbookInvocations(string(b)) {
			seen++
			if problem := cli.check(inv); problem != "" {
				t.Errorf("%s: `%s`: %s", filepath.Base(f), inv, problem)
			}
		}
	}
	t.Logf("%d rampart invocations in %d runbooks checked", seen, len(files))
	if seen < 20 {
		t.Fatalf("found only %d rampart invocations in the runbooks: the extraction is broken", seen)
	}
}

// The check can fail: made-up commands, subcommands and flags are caught,
// and prose outside code is not mistaken for an invocation.
func TestRunbookCommandCheckCatchesMistakes(t *testing.T) {
	t.Parallel()
	cli := describeCLI(t)
	doc := "Run `rampart frobnicate` and `rampart audit verifyy` and\n```sh\nrampart backup --outt x\nrampart keys\n" +
		"psql \"$(rampart db url --admin)\"\nrampart restore-drill --from f-$(date -u +%F) --json\n```\nThe rampart binary is fine in prose."
	var problems []string
	for _, inv := range runbookInvocations(doc) {
		if p := cli.check(inv); p != "" {
			problems = append(problems, inv)
		}
	}
	// Code blocks first, then code spans.
	want := []string{"rampart backup --outt x", "rampart keys", "rampart frobnicate", "rampart audit verifyy"}
	if !slices.Equal(problems, want) {
		t.Fatalf("flagged %q, want %q", problems, want)
	}
}

// cliSpec is what the binary says about itself: per command, its
// subcommands (from the usage line) and its flags.
type cliSpec map[string]commandSpec

type commandSpec struct {
	subs        []string
	subRequired bool
	flags       []string
}

var subListRE = regexp.MustCompile(`^(\[)?([a-z][a-z-]*(?:\|[a-z][a-z-]*)*)(\])?$`)
var flagLineRE = regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`)

func describeCLI(t *testing.T) cliSpec {
	t.Helper()
	spec := cliSpec{}
	for _, c := range commands() {
		var out, errOut syncBuffer
		m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
		m.Run(context.Background(), []string{c.name, "--help"})
		help := out.String() + errOut.String()
		var cs commandSpec
		if first, _, _ := strings.Cut(help, "\n"); strings.HasPrefix(first, "Usage: rampart "+c.name) {
			fields := strings.Fields(strings.TrimPrefix(first, "Usage: rampart "+c.name))
			if len(fields) > 0 {
				if mm := subListRE.FindStringSubmatch(fields[0]); mm != nil {
					cs.subs = strings.Split(mm[2], "|")
					cs.subRequired = mm[1] == ""
				}
			}
		}
		for _, mm := range flagLineRE.FindAllStringSubmatch(help, -1) {
			cs.flags = append(cs.flags, mm[1])
		}
		spec[c.name] = cs
	}
	if len(spec["audit"].subs) < 5 || !slices.Contains(spec["backup"].flags, "out") {
		t.Fatalf("the CLI description is broken: audit %+v, backup %+v", spec["audit"], spec["backup"])
	}
	return spec
}

// check returns what is wrong with one invocation, or "".
func (s cliSpec) check(inv string) string {
	fields := strings.Fields(inv)[1:]
	name := fields[0]
	if slices.Contains(parallelCommands, name) {
		return ""
	}
	cs, ok := s[name]
	if !ok {
		return fmt.Sprintf("no command %q", name)
	}
	args := fields[1:]
	if len(cs.subs) > 0 {
		switch {
		case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
			if !slices.Contains(cs.subs, args[0]) {
				return fmt.Sprintf("%s has no subcommand %q (it has %v)", name, args[0], cs.subs)
			}
		case cs.subRequired:
			return fmt.Sprintf("%s needs a subcommand (%v)", name, cs.subs)
		}
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		flag, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if flag != "help" && !slices.Contains(cs.flags, flag) {
			return fmt.Sprintf("%s has no flag --%s", name, flag)
		}
	}
	return ""
}

var (
	fenceRE      = regexp.MustCompile("(?ms)^[ \\t]*```[a-z]*\\n(.*?)^[ \\t]*```")
	quotedRE     = regexp.MustCompile(`"[^"$\n]*"|'[^'$\n]*'`)
	codeSpanRE   = regexp.MustCompile("`([^`\\n]+)`")
	invocationRE = regexp.MustCompile(`(?:^|[\s("'$])(rampart [a-z][a-z-]*(?: +[^\s)"'|;&#]+)*)`)
)

// runbookInvocations returns every `rampart …` invocation in the code of
// a Markdown text (fenced blocks and code spans), cut at the end of the
// command (a pipe, a closing parenthesis or quote, a comment, a shell
// substitution inside an argument).
func runbookInvocations(md string) []string {
	var code []string
	for _, m := range fenceRE.FindAllStringSubmatch(md, -1) {
		code = append(code, strings.Split(m[1], "\n")...)
	}
	prose := fenceRE.ReplaceAllString(md, "")
	for _, m := range codeSpanRE.FindAllStringSubmatch(prose, -1) {
		code = append(code, m[1])
	}
	var out []string
	for _, line := range code {
		// A quoted argument ("--reason "…"") is one word; a quoted
		// substitution ("$(rampart db url)") is kept to be matched.
		line = quotedRE.ReplaceAllString(line, "Q")
		for _, m := range invocationRE.FindAllStringSubmatch(line, -1) {
			inv, _, _ := strings.Cut(m[1], "$(") // a shell substitution in an argument
			out = append(out, strings.TrimSpace(inv))
		}
	}
	return out
}
