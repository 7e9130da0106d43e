#!/usr/bin/env bash
# The test command behind `make test` and CI (after `make lint`): every
# unit and integration test with the race detector against real
# PostgreSQL, the architecture rules included, then a one-line summary
# ("N passed, N failed, N skipped").
set -uo pipefail
cd "$(dirname "$0")/.."
log=${TEST_LOG:-.test.log}

echo "== go test -race (integration tests start their own PostgreSQL)"
# The guardrail analyzers (internal/lint, cmd/rampart-lint) link the C
# PostgreSQL parser (pg_query_go, cgo): under -race its C would be compiled
# a second time (minutes on a fresh cache) for packages that run no
# goroutines of their own, so they run without -race, sharing the build
# `make lint` already made.
lintpkgs=$(go list ./internal/lint/... ./cmd/rampart-lint)
racepkgs=$(go list ./... | grep -vxF "$lintpkgs")
go test -race -count=1 -timeout 15m -v $racepkgs >"$log" 2>&1
status=$?
go test -count=1 -timeout 10m -v $lintpkgs >>"$log" 2>&1 || status=1
# Package results; on failure, each failing test with what it printed.
grep -E '^(ok|FAIL|panic:)' "$log" || true
if [ $status -ne 0 ]; then
  echo
  echo "== failures (full log: $log)"
  grep -E -- '--- FAIL|^FAIL|^panic:|_test\.go:[0-9]+:|build failed|cannot find|undefined:' "$log" | head -300
fi
passed=$(grep -cE -- '^\s*--- PASS' "$log")
failed=$(grep -cE -- '^\s*--- FAIL' "$log")
skipped=$(grep -cE -- '^\s*--- SKIP' "$log")
if [ $status -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1   # a build failure or panic outside a test still fails the run
  echo "go test failed outside a test; see $log" >&2
fi
# Fuzz targets: each runs FUZZTIME (default 30s, which keeps the whole of
# make test near 14 minutes on two cores; FUZZTIME=60s or more for a
# deeper run, FUZZTIME=0 skips) and counts as one test. Their seed corpora
# also run as ordinary tests above.
fuzztime=${FUZZTIME:-30s}
if [ $status -eq 0 ] && [ "$fuzztime" != "0" ]; then
  echo
  echo "== fuzz ($fuzztime each)"
  while IFS=: read -r file name; do
    pkg="./$(dirname "$file")"
    if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >>"$log" 2>&1; then
      echo "ok    $name ($pkg)"
      passed=$((passed + 1))
    else
      echo "FAIL  $name ($pkg): see $log and testdata/fuzz/$name"
      failed=$((failed + 1))
      status=1
    fi
  done < <(grep -rHoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' . | sed -E 's/:func /:/; s|^\./||')
fi

echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
