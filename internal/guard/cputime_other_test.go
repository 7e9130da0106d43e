//go:build !linux

package guard

import "time"

// threadCPU cannot read a thread's CPU time here: the benchmark reports
// wall time only.
func threadCPU() (time.Duration, bool) { return 0, false }
