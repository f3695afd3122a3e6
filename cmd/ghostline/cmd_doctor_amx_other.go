//go:build !(linux && amd64)

package main

import (
	"runtime"

	"golang.org/x/sys/cpu"
)

// amxUsable: outside Linux on amd64 the doctor knows only CPUID.
func amxUsable() string {
	if runtime.GOARCH != "amd64" {
		return "no (not an x86-64 CPU)"
	}
	if !cpu.X86.HasAMXTile {
		return "no (CPU lacks AMX)"
	}
	return "no (not probed)"
}
