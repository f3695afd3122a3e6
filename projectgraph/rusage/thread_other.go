//go:build !linux

package rusage

// ThreadCPUSeconds returns -1: per-thread CPU time is read on Linux only.
func ThreadCPUSeconds() float64 { return -1 }
