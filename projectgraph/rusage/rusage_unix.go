//go:build unix

// Package rusage reports the process's peak memory for the indexing
// benchmarks and `ghostline index --json`.
package rusage

import (
	"runtime"
	"syscall"
)

// PeakMB returns the peak resident set size of the process in MiB, or 0
// when the system does not report it.
func PeakMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	kb := float64(ru.Maxrss)
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		kb /= 1024 // bytes there
	}
	return kb / 1024
}

// CPUSeconds returns the user plus system CPU time the process has used.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
