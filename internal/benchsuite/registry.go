package benchsuite

// Suite is every benchmark make bench runs, in order. At the quick scale
// most entries run once (-benchtime 1x: go test runs a benchmark with
// b.N = 1 before any larger N, so a fixture built in the benchmark would
// be built twice); each benchmark warms its variants before the timer. To add one, add an
// Entry: its package and function, its benchtime at each scale (the
// benchmark reads RAMPART_BENCH_SCALE for its size), the metrics the
// table shows and its goals.
var Suite = []Entry{
	{
		ID: "list-api", Package: "./internal/api", Bench: "BenchmarkProposalListVsPgbench",
		What:  "GET /api/proposals?limit=20 (session, whole chain) vs pgbench plain and pipelined, auth on vs off; 8/16/32 connections; 1,000 orgs × 200 proposals (quick: 100)",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1x"},
		Show: []string{"api-req/s", "api-p50-ms", "api-p99-ms", "noauth-req/s", "plain-tx/s", "plain-p50-ms", "plain-p99-ms",
			"pipelined-tx/s", "pipelined-p50-ms", "pipelined-p99-ms", "api/plain", "api/pipelined", "auth-on/off", "bytes/resp"},
		Goals: []Goal{{Metric: "api/plain", Op: ">=", Value: 0.60}, {Metric: "auth-on/off", Op: ">=", Value: 0.95}},
	},
	{
		ID: "serve-memory", Package: "./cmd/rampart", Bench: "BenchmarkServeMemory",
		What:  "RSS of rampart serve (Makefile build flags) idle and under the list load (32 connections)",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1x"},
		Show:  []string{"idle-rss-MB", "idle-anon-MB", "idle-file-MB", "load-rss-MB", "load-anon-MB", "load-req/s"},
		Goals: []Goal{{Metric: "idle-rss-MB", Op: "<=", Value: 40}, {Metric: "load-rss-MB", Op: "<=", Value: 128}},
	},
	{
		ID: "rls", Package: "./internal/store", Bench: "BenchmarkRLSOverhead",
		What:  "one tenant's 20 venues: forced RLS vs the same WHERE as a role that bypasses RLS; 100 and 10,000 tenants (quick: 100)",
		Quick: Run{Benchtime: "1x", Sub: "^orgs=100$"}, Full: Run{Benchtime: "3000x"},
		Show:  []string{"ns/rls-tx", "ns/where-tx", "rls/where"},
		Goals: []Goal{{Metric: "rls/where", Op: "<=", Value: 1.05}},
	},
	{
		ID: "tenant-open", Package: "./internal/store", Bench: "BenchmarkTenantOpen",
		What:  "tenant transaction opened in one pipelined batch with its first read vs sequential round trips",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "3000x"},
		Show: []string{"ns/pipelined-tx", "ns/sequential-tx", "speedup"},
	},
	{
		ID: "audited-mutation", Package: "./internal/store", Bench: "BenchmarkAuditedMutation",
		What:  "8 writers updating venues with vs without their signed audit event (test cluster, fsync off); 1 and 100 orgs",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "20x"},
		Show:  []string{"plain-ops/s", "audited-ops/s", "audited/plain"},
		Goals: []Goal{{Metric: "audited/plain", Op: ">=", Value: 0.80}},
	},
	{
		ID: "audited-mutation-durable", Package: "./internal/store", Bench: "BenchmarkAuditedMutationDurable",
		What:  "the same with fsync and synchronous_commit on (full scale only)",
		Quick: Run{Benchtime: "1x", Skip: true}, Full: Run{Benchtime: "20x"},
		Show:  []string{"plain-ops/s", "audited-ops/s", "audited/plain"},
		Goals: []Goal{{Metric: "audited/plain", Op: ">=", Value: 0.80}},
	},
	{
		ID: "audited-vs-pgbench", Package: "./internal/store", Bench: "BenchmarkAuditedMutationVsPgbench",
		What:  "the store's audited update vs pgbench sending the same two statements (update + audit insert) and the update alone, 8 connections",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1x"},
		Show: []string{"store-plain-ops/s", "store-audited-ops/s", "pgbench-plain-tx/s", "pgbench-audited-tx/s",
			"store-audited/plain", "pgbench-audited/plain", "store/pgbench-audited"},
		Goals: []Goal{{Metric: "store-audited/plain", Op: ">=", Value: 0.80}},
	},
	{
		ID: "audit-verify", Package: "./internal/store", Bench: "BenchmarkAuditVerify",
		What:  "rampart audit verify over 200,000 sealed events (quick: 50,000), Go side on one core",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "3x"},
		Goals: []Goal{{Metric: "events/s", Op: ">=", Value: 300_000}},
	},
	{
		ID: "ai-job-events-check", Package: "./internal/store", Bench: "BenchmarkAIJobEventsCheck",
		What:  "one job-stream poll: read + live credential re-check + COMMIT in one batch vs the read alone",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1000x"},
		Show: []string{"ns/checked", "ns/pipelined", "ns/check"},
	},
	{
		ID: "killswitch-check", Package: "./internal/killswitch", Bench: "BenchmarkKillSwitchCheck",
		What:  "Watcher.Check from memory, 1,000 organizations switched off",
		Quick: Run{Benchtime: "100x"}, Full: Run{Benchtime: "1s"},
		Show:  []string{"ns/check", "allocs/check", "db-calls/check"},
		Goals: []Goal{{Metric: "ns/check", Op: "<=", Value: 1000}},
	},
	{
		ID: "killswitch-propagation", Package: "./internal/jobs", Bench: "BenchmarkKillSwitchPropagation",
		What:  "200 in-flight jobs, two worker processes: COMMIT of the switch → each job's context cancelled",
		Quick: Run{Benchtime: "1x", Sub: "^listen$/^scope=organization$"}, Full: Run{Benchtime: "1x"},
		Show:  []string{"p50-ms", "p99-ms", "max-ms"},
		Goals: []Goal{{Metric: "p99-ms", Op: "<=", Value: 50, Variant: "^listen/"}},
	},
	{
		ID: "queue-throughput", Package: "./internal/jobs", Bench: "BenchmarkQueueThroughput",
		What:  "generation jobs through the worker path (100 ms / 1 s model, 20 workers) vs the ideal; River noop throughput",
		Quick: Run{Benchtime: "1x", Sub: "^(model=100ms|noop)$/^workers=20$"}, Full: Run{Benchtime: "1x"},
		Show: []string{"jobs/s", "ratio", "completed/s"},
		Goals: []Goal{{Metric: "ratio", Op: ">=", Value: 0.90, Variant: "^model="},
			{Metric: "completed/s", Op: ">=", Value: 1000, Variant: "^noop/"}},
	},
	{
		ID: "request-notify", Package: "./internal/jobs", Bench: "BenchmarkRequestWithAndWithoutNotify",
		What:  "Queue.Request throughput, 8 requesters: insert without NOTIFY vs River's driver vs its limiter (full scale only)",
		Quick: Run{Benchtime: "1x", Skip: true}, Full: Run{Benchtime: "1x"},
	},
	{
		ID: "job-stream", Package: "./internal/api", Bench: "BenchmarkJobStreamDelivery",
		What:  "job changes delivered by the SSE stream",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "5x"},
		Show: []string{"events/s"},
	},
	{
		ID: "login-link-timing", Package: "./internal/api", Bench: "BenchmarkLoginLinkTiming",
		What:  "interleaved sign-in link requests, member vs stranger, 2,000 pairs (quick: 200): the share of pairs where the member's answer was slower, and the medians (measures only)",
		Quick: Run{Benchtime: "200x"}, Full: Run{Benchtime: "2000x"},
	},
	{
		ID: "request-job-insert", Package: "./internal/jobs", Bench: "BenchmarkRequestJobInsert",
		What:  "a generation request (ai_jobs row, audit event) with vs without its River insert in the same transaction, 8 requesters, alternating phases",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1x"},
		Show:  []string{"with-insert-req/s", "without-insert-req/s", "with-insert-p99-ms", "ratio"},
		Goals: []Goal{{Metric: "ratio", Op: ">=", Value: 0.80}},
	},
	{
		ID: "noisy-neighbour", Package: "./internal/jobs", Bench: "BenchmarkNoisyNeighbour",
		What:  "a quiet organization's queue wait (request → start) with and without another organization flooding requests",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1x"},
		Show:  []string{"alone-p50-ms", "alone-p99-ms", "flooded-p50-ms", "flooded-p99-ms", "ratio"},
		Goals: []Goal{{Metric: "ratio", Op: "<=", Value: 1.2}},
	},
	{
		ID: "cancel-to-stop", Package: "./internal/jobs", Bench: "BenchmarkCancelToStop",
		What:  "organization kill switch against streaming model calls: COMMIT → stream closed; tokens sent vs billed",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1x"},
	},
	{
		ID: "killswitch-processes", Package: "./cmd/rampart", Bench: "BenchmarkKillSwitchAcrossProcesses",
		What:  "two serve and a worker as OS processes under read load: the organization switch committed → every in-flight job's model stream closed; raw NOTIFY beside it",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1x"},
		Show:  []string{"p50-ms", "p99-ms", "p99-from-put-ms", "notify-p99-ms"},
		Goals: []Goal{{Metric: "p99-ms", Op: "<=", Value: 20}},
	},
	{
		ID: "bom-read", Package: "./internal/bom", Bench: "BenchmarkBOMRead",
		What:  "a 200-line bill read with its sealed fields opened (600 AES-GCM opens, totals) vs without them",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "5x"},
		Show: []string{"costed-reads/s", "plain-reads/s", "costed-µs/read", "plain-µs/read", "ratio"},
	},
	{
		ID: "guard-latency", Package: "./internal/guard", Bench: "BenchmarkGuardLatencyPerKiB",
		What:  "prompt-injection guard (rules + embedded model), one goroutine: each Inspect call's thread CPU time and wall time per KiB over the committed event texts and 1-16 KiB briefs; the 16 KiB briefs' call time (issue #13 budget: 1 ms/KiB on one core)",
		Quick: Run{Benchtime: "20x"}, Full: Run{Benchtime: "200x"},
		Show: []string{"cpu-p50-µs/KiB", "cpu-p99-µs/KiB", "wall-p50-µs/KiB", "wall-p99-µs/KiB", "16KiB-cpu-p50-µs", "16KiB-cpu-p99-µs",
			"16KiB-wall-p50-µs", "16KiB-wall-p99-µs"},
		Goals: []Goal{{Metric: "cpu-p99-µs/KiB", Op: "<=", Value: 1000}},
	},
	{
		ID: "guard-share", Package: "./internal/jobs", Bench: "BenchmarkGuardShareOfJob",
		What:  "generation jobs with the offline provider, 4 workers: time in the guard beside each whole attempt, same run; 1 KiB and 16 KiB briefs, 400 jobs (quick: 100, 1 KiB only)",
		Quick: Run{Benchtime: "1x", Sub: "^brief=1KiB$"}, Full: Run{Benchtime: "1x"},
		Show: []string{"guard-p50-ms", "guard-p99-ms", "job-p50-ms", "job-p99-ms", "guard-share"},
	},
	{
		ID: "key-rotation", Package: "./internal/bom", Bench: "BenchmarkKeyRotation",
		What:  "rampart keys rotate's rate: values re-sealed per second under a new field key (batches of 500 rows)",
		Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1x"},
		Show: []string{"values/s"},
	},
}
