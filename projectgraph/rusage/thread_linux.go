//go:build linux

package rusage

import "golang.org/x/sys/unix"

// ThreadCPUSeconds returns the CPU time of the calling OS thread, or -1
// when it is not reported. With the goroutine locked to its thread
// (runtime.LockOSThread) the difference around a call is that call's CPU
// time, which stays meaningful when other processes load the machine.
func ThreadCPUSeconds() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return -1
	}
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}
