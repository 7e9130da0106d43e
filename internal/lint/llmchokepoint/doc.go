// Package llmchokepoint is the llm-chokepoint analyzer: only internal/llm
// imports a model SDK (DESIGN.md §5, one choke point: the guard, the
// kill switch, the token budget and the output sanitiser sit around that
// one door). The list of SDKs is data (SDKs, extendable with the -sdks
// flag); the allowed package is the -allow flag. A test file counts like
// any other: tests of other packages use internal/llm's fakes.
package llmchokepoint
