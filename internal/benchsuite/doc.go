// Package benchsuite is make bench: the registry of the project's
// benchmarks (Suite), and the program that runs them one after the other
// from their test binaries, parses what they report (b.ReportMetric),
// checks each goal and writes one table, a JSON report and an SVG chart
// of every goal's value against its target. cmd/rampart-bench is its
// command line.
//
// The benchmarks size themselves from RAMPART_BENCH_SCALE (quick or
// full); an entry gives each scale its -benchtime and, optionally, a
// narrower set of sub-benchmarks.
package benchsuite
