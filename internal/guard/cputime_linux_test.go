package guard

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTimeID is CLOCK_THREAD_CPUTIME_ID (linux/time.h).
const clockThreadCPUTimeID = 3

// threadCPU is the CPU time the calling OS thread has used, to the
// nanosecond (clock_gettime(CLOCK_THREAD_CPUTIME_ID); getrusage counts in
// scheduler ticks), or false when it cannot be read. The caller locks its
// goroutine to the thread (runtime.LockOSThread).
func threadCPU() (time.Duration, bool) {
	var ts syscall.Timespec
	if _, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
