// Package archtest holds tests of the code's shape: rules that keep the
// safe path the only path, checked on the import graph of every package.
package archtest
