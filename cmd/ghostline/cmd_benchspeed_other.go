//go:build !unix

package main

// maxRSSMB is unknown without getrusage; 0 says so.
func maxRSSMB() float64 { return 0 }

// cpuSeconds is unknown without getrusage; 0 says so.
func cpuSeconds() float64 { return 0 }
