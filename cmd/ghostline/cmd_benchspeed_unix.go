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

// cpuSeconds is the process's user + system CPU time so far. bench speed
// prints it per run on stderr: on a machine shared with other work the CPU
// time per token moves far less than the wall-clock rate. (With more than
// one thread it includes the workers' spinning between ops.)
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
