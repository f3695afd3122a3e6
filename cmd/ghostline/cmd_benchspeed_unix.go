//go:build unix

package main

import (
	"runtime"
	"syscall"
)

// maxRSSMB is getrusage's peak resident set in MB (maxrss is in kB on
// Linux and the BSDs, bytes on macOS).
func maxRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return float64(ru.Maxrss) / 1e6
	}
	return float64(ru.Maxrss) * 1024 / 1e6
}
