// Package linttest runs an analyzer of internal/lint on its testdata with
// analysistest, and also checks the diagnostics it reports in .sql files:
// analysistest reads "// want" expectations from Go files only, so a SQL
// testdata file states its expectations as lines "-- want "regexp"", each
// about the next line that is not itself an expectation. A diagnostic in
// a .sql file without a matching expectation, or an expectation without a
// diagnostic, fails the test, as analysistest does for Go files.
package linttest
