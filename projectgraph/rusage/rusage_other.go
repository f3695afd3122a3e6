//go:build !unix

// Package rusage reports the process's peak memory for the indexing
// benchmarks and `ghostline index --json`.
package rusage

import "runtime"

// PeakMB returns the Go runtime's obtained memory in MiB: on systems
// without getrusage it is the closest figure to a peak resident size.
func PeakMB() float64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.Sys) / (1 << 20)
}

// CPUSeconds returns 0: the process CPU time is not reported here.
func CPUSeconds() float64 { return 0 }
