package main

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Linux gates AMX behind a per-process permission (kernel 5.16+, see
// Documentation/arch/x86/xstate.rst): the tile data state component must be
// supported by the kernel and requested with arch_prctl before the first
// tile instruction, or that instruction faults.
const (
	archGetXcompSupp  = 0x1021
	archReqXcompPerm  = 0x1023
	xfeatureXtiledata = 18
)

// amxUsable reports what can be known without running an AMX instruction:
// CPUID, the kernel's support for tile state and the permission request.
// Executing a tile instruction needs assembly and a child process to survive
// a fault, which the doctor does not do; it says so.
func amxUsable() string {
	if !cpu.X86.HasAMXTile {
		return "no (CPU lacks AMX)"
	}
	var supp uint64
	if _, _, e := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archGetXcompSupp, uintptr(unsafe.Pointer(&supp)), 0); e != 0 {
		return fmt.Sprintf("no (kernel too old for AMX: arch_prctl: %v)", e)
	}
	if supp&(1<<xfeatureXtiledata) == 0 {
		return "no (kernel does not enable AMX tile state)"
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtiledata, 0); e != 0 {
		return fmt.Sprintf("no (kernel refused AMX permission: %v)", e)
	}
	return "no (not probed: CPUID reports AMX and the kernel grants tile permission, but no AMX instruction was run)"
}
