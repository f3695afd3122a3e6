//go:build !unix

// Package rusage reports the process's peak memory and CPU time, for the
// benchmarks and `ghostline index --json`.
package rusage

import "runtime"

// PeakMB returns the Go runtime's obtained memory in MiB: on systems
// without getrusage it is the closest figure to a peak resident size.
func PeakMB() float64 { return PeakBytes() / (1 << 20) }

// PeakBytes is PeakMB in bytes.
func PeakBytes() float64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.Sys)
}

// CPUSeconds returns 0: the process CPU time is not reported here.
func CPUSeconds() float64 { return 0 }
