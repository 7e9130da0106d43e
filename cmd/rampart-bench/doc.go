// Command rampart-bench is make bench: it runs every benchmark of the
// suite (internal/benchsuite.Suite) one after the other, with a progress
// line, then prints one table (benchmark, variant, metric, value, goal,
// met or missed by how much) and writes results.json, chart.svg and
// results.md (the README's table).
//
//	rampart-bench [-scale quick|full] [-out bench-results] [-only REGEXP] [-list]
//
// It exits 1 when an entry failed to run; missed goals are reported, not
// an error (the numbers are the point).
package main
