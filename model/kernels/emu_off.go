//go:build !kernels_emu512

package kernels

// emu512 is set by the kernels_emu512 test tag: see kern_emu512_amd64.c.
const emu512 = false
