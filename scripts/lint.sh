#!/usr/bin/env bash
# The checks behind `make lint` (make test runs it first): go vet, gofmt,
# our own analyzers (cmd/rampart-lint), staticcheck, gosec and govulncheck
# against a local vulnerability database. docs/guardrails.md says what
# each checks and how an exception is justified.
#
# Tools are pinned and installed with `go install module@version` into
# LINT_CACHE/tools (default .cache/tools, gitignored) when missing; the
# vulnerability database is built once into LINT_CACHE/vulndb from the
# golang.org/x/vulndb module by vulndb's own indexdb. A tool that cannot
# be installed or a check that cannot run fails the run, saying so: no
# check passes silently. LINT_ONLY=rampart-lint,gosec runs only those.
set -uo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2                            # honnef.co/go/tools
GOSEC_VERSION=v2.30.0                                 # github.com/securego/gosec/v2
GOVULNCHECK_VERSION=v1.9.0                            # golang.org/x/vuln
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018     # golang.org/x/vulndb (its data/osv and cmd/indexdb)

cache=${LINT_CACHE:-$PWD/.cache}
tools=$cache/tools
mkdir -p "$tools"
failed=()

fail() { echo "lint: $*" >&2; exit 1; }
want() { [ -z "${LINT_ONLY:-}" ] || [[ ",$LINT_ONLY," == *",$1,"* ]]; }

# install NAME PACKAGE@VERSION: the binary at $tools/NAME-VERSION (a
# version bump installs anew), linked as $tools/NAME.
install() {
  local name=$1 pkgver=$2 version=${2##*@}
  if [ ! -x "$tools/$name-$version" ]; then
    echo "   installing $pkgver"
    local tmp
    tmp=$(mktemp -d) || fail "cannot make a temporary directory"
    if ! GOBIN=$tmp GOFLAGS=-mod=mod go install "$pkgver" >"$tmp/log" 2>&1; then
      cat "$tmp/log" >&2
      rm -rf "$tmp"
      fail "cannot install $pkgver: $name cannot run, so make lint fails"
    fi
    mv "$tmp/$name" "$tools/$name-$version" && rm -rf "$tmp"
  fi
  ln -sf "$name-$version" "$tools/$name"
}

step() { echo "== $*"; }

run_step() { # NAME COMMAND...: runs it, records a failure
  local name=$1; shift
  if ! "$@"; then
    failed+=("$name")
  fi
}

if want vet; then
  step "go vet"
  run_step "go vet" go vet ./...
fi

if want gofmt; then
  step "gofmt"
  out=$(gofmt -l .)
  if [ -n "$out" ]; then
    echo "gofmt needed:"; echo "$out"; failed+=(gofmt)
  fi
fi

if want rampart-lint; then
  step "rampart-lint (our analyzers: docs/guardrails.md)"
  # The SQL rules parse with libpg_query through cgo: without a C
  # compiler the checker cannot be built, and that is a failure.
  if [ "$(go env CGO_ENABLED)" != 1 ] || ! command -v "$(go env CC)" >/dev/null 2>&1; then
    fail "rampart-lint needs cgo and a C compiler ($(go env CC)) for pg_query_go: install gcc (apt-get install gcc); the SQL rules cannot run without it"
  fi
  go build -o "$tools/rampart-lint" ./cmd/rampart-lint || fail "cannot build cmd/rampart-lint"
  run_step rampart-lint "$tools/rampart-lint" ./...
  echo "   prompt-injection-safe exceptions (each with its reason):"
  listed=$("$tools/rampart-lint" -promptguard.list ./... 2>&1 | grep 'prompt-guard: exception:' || true)
  if [ -n "$listed" ]; then sed 's/^/     /' <<<"$listed"; else echo "     none"; fi
fi

if want staticcheck; then
  step "staticcheck $STATICCHECK_VERSION (checks: staticcheck.conf)"
  install staticcheck "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  run_step staticcheck "$tools/staticcheck" ./...
fi

if want gosec; then
  step "gosec $GOSEC_VERSION (excluded rules: scripts/lint/gosec-exclusions.txt)"
  install gosec "github.com/securego/gosec/v2/cmd/gosec@$GOSEC_VERSION"
  excl=$(grep -oE '^G[0-9]+' scripts/lint/gosec-exclusions.txt | paste -sd, -)
  run_step gosec "$tools/gosec" -quiet -fmt text -exclude "$excl" -exclude-generated -exclude-dir=testdata ./...
fi

if want govulncheck; then
  step "govulncheck $GOVULNCHECK_VERSION (local database: golang.org/x/vulndb@$VULNDB_VERSION)"
  install govulncheck "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
  db=$cache/vulndb-$VULNDB_VERSION
  if [ ! -f "$db/index/db.json" ]; then
    echo "   building the vulnerability database from golang.org/x/vulndb@$VULNDB_VERSION"
    install indexdb "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION"
    src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$src/data/osv" ] || fail "golang.org/x/vulndb@$VULNDB_VERSION has no data/osv: cannot build the vulnerability database"
    rm -rf "$db.tmp"
    "$tools/indexdb" -vulns "$src/data/osv" -out "$db.tmp" || fail "indexdb could not build the vulnerability database"
    [ -f "$db.tmp/index/db.json" ] || fail "indexdb wrote no index/db.json"
    mv "$db.tmp" "$db"
  fi
  # Exit 0: nothing reachable; 3: reachable vulnerabilities (then each
  # must be in the accepted list); anything else: it could not run.
  out=$("$tools/govulncheck" -db "file://$db" ./... 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
    echo "$out"
    fail "govulncheck could not run (exit $rc)"
  fi
  found=$(grep -oE '^Vulnerability #[0-9]+: GO-[0-9]+-[0-9]+' <<<"$out" | grep -oE 'GO-[0-9]+-[0-9]+' | sort -u)
  accepted=$(grep -oE '^GO-[0-9]+-[0-9]+' scripts/lint/govulncheck-accepted.txt | sort -u)
  new=$(comm -23 <(echo "$found") <(echo "$accepted") | grep . || true)
  gone=$(comm -13 <(echo "$found") <(echo "$accepted") | grep . || true)
  echo "   reachable: $(echo "$found" | grep -c .) (accepted in scripts/lint/govulncheck-accepted.txt: $(echo "$accepted" | grep -c .))"
  if [ -n "$new" ]; then
    echo "$out"
    echo "govulncheck: reachable and not accepted: $(echo $new): bump the module (go get module@fixed), or, for the standard library, record it in scripts/lint/govulncheck-accepted.txt with the reason"
    failed+=(govulncheck)
  fi
  if [ -n "$gone" ]; then
    echo "govulncheck: accepted but no longer reported, delete from scripts/lint/govulncheck-accepted.txt (the list only shrinks): $(echo $gone)"
    failed+=(govulncheck)
  fi
fi

if [ ${#failed[@]} -ne 0 ]; then
  echo "lint: failed: ${failed[*]}" >&2
  exit 1
fi
echo "lint: ok"
