// Command rampart is the Rampart server: the API, the console and the AI job
// worker in one binary, plus the operator commands (migrate, rls-audit, db).
// All wiring happens here, in the Main type, which tests run on port 0.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
