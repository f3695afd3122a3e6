//go:build unix

// Package rusage reports the process's peak memory and CPU time, for the
// benchmarks and `ghostline index --json`.
package rusage

import (
	"runtime"
	"syscall"
)

// PeakMB returns the peak resident set size of the process in MiB, or 0
// when the system does not report it.
func PeakMB() float64 { return PeakBytes() / (1 << 20) }

// PeakBytes returns the peak resident set size of the process in bytes,
// or 0 when the system does not report it.
func PeakBytes() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return float64(ru.Maxrss) // bytes there
	}
	return float64(ru.Maxrss) * 1024 // kB on Linux and the BSDs
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
