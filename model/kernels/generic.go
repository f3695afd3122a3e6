package kernels

import (
	"encoding/binary"
	"math"

	"github.com/ghostline-dev/ghostline/model/quant"
)

// The generic path: plain Go over the same activation formats as the SIMD
// paths, with the same integer arithmetic per block, so every path computes
// the same sums (up to float summation order). It is what Features reports
// where no native path exists (other GOARCHes, CGO_ENABLED=0, CPUs without
// AVX2), and the reference the native paths are tested against; the CPU
// backend itself then runs its own portable path (cpu.New), so in the
// product this code serves direct callers of this package only.

func h16(b []byte) float32 { return quant.F16ToF32(binary.LittleEndian.Uint16(b)) }
func f32at(b []byte) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(b))
}
func i32at(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) }

// rowDot is one weight row · one activation row, cols elements.
type rowDot func(w, x []byte, cols int) float32

func genericDot(t quant.Type) rowDot {
	switch t {
	case quant.F32, quant.F16, quant.BF16:
		ref := quant.DotFunc(t)
		return func(w, x []byte, cols int) float32 { return ref(w, quant.F32View(x[:4*cols])) }
	case quant.Q4_0:
		return gdotQ4_0
	case quant.Q4_1:
		return gdotQ4_1
	case quant.Q5_0:
		return gdotQ5_0
	case quant.Q5_1:
		return gdotQ5_1
	case quant.Q8_0:
		return gdotQ8_0
	case quant.Q4_K:
		return gdotQ4_K
	case quant.Q5_K:
		return gdotQ5_K
	case quant.Q6_K:
		return gdotQ6_K
	}
	return nil
}

func genericMatMul(t quant.Type, w []byte, rb, cols, rowStart, rowEnd int, xq []byte, xb, nTok int, out []float32, outStride int) {
	dot := genericDot(t)
	for tok := 0; tok < nTok; tok++ {
		x := xq[tok*xb : tok*xb+xb]
		o := out[tok*outStride:]
		for r := rowStart; r < rowEnd; r++ {
			o[r] = dot(w[r*rb:r*rb+rb], x, cols)
		}
	}
}

func gdotQ4_0(w, x []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, xa := w[b*18:b*18+18], x[b*q8Bytes:b*q8Bytes+q8Bytes]
		qs, q := wb[2:18], xa[8:40]
		var s int32
		for j := 0; j < 16; j++ {
			s += int32(qs[j]&0xf)*int32(int8(q[j])) + int32(qs[j]>>4)*int32(int8(q[j+16]))
		}
		s -= 8 * i32at(xa[4:])
		sum += h16(wb) * f32at(xa) * float32(s)
	}
	return sum
}

func gdotQ4_1(w, x []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, xa := w[b*20:b*20+20], x[b*q8Bytes:b*q8Bytes+q8Bytes]
		qs, q := wb[4:20], xa[8:40]
		var s int32
		for j := 0; j < 16; j++ {
			s += int32(qs[j]&0xf)*int32(int8(q[j])) + int32(qs[j]>>4)*int32(int8(q[j+16]))
		}
		dx := f32at(xa)
		sum += h16(wb)*dx*float32(s) + h16(wb[2:])*dx*float32(i32at(xa[4:]))
	}
	return sum
}

func gdotQ5_0(w, x []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, xa := w[b*22:b*22+22], x[b*q8Bytes:b*q8Bytes+q8Bytes]
		qh := binary.LittleEndian.Uint32(wb[2:])
		qs, q := wb[6:22], xa[8:40]
		var s int32
		for j := 0; j < 16; j++ {
			lo := int32(qs[j]&0xf) | int32(qh>>uint(j)&1)<<4
			hi := int32(qs[j]>>4) | int32(qh>>uint(j+16)&1)<<4
			s += lo*int32(int8(q[j])) + hi*int32(int8(q[j+16]))
		}
		s -= 16 * i32at(xa[4:])
		sum += h16(wb) * f32at(xa) * float32(s)
	}
	return sum
}

func gdotQ5_1(w, x []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, xa := w[b*24:b*24+24], x[b*q8Bytes:b*q8Bytes+q8Bytes]
		qh := binary.LittleEndian.Uint32(wb[4:])
		qs, q := wb[8:24], xa[8:40]
		var s int32
		for j := 0; j < 16; j++ {
			lo := int32(qs[j]&0xf) | int32(qh>>uint(j)&1)<<4
			hi := int32(qs[j]>>4) | int32(qh>>uint(j+16)&1)<<4
			s += lo*int32(int8(q[j])) + hi*int32(int8(q[j+16]))
		}
		dx := f32at(xa)
		sum += h16(wb)*dx*float32(s) + h16(wb[2:])*dx*float32(i32at(xa[4:]))
	}
	return sum
}

func gdotQ8_0(w, x []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/32; b++ {
		wb, xa := w[b*34:b*34+34], x[b*q8Bytes:b*q8Bytes+q8Bytes]
		qs, q := wb[2:34], xa[8:40]
		var s int32
		for j := 0; j < 32; j++ {
			s += int32(int8(qs[j])) * int32(int8(q[j]))
		}
		sum += h16(wb) * f32at(xa) * float32(s)
	}
	return sum
}

// kScales unpacks the eight 6-bit scales and mins of a Q4_K/Q5_K block.
func kScales(q []byte) (sc, m [8]int32) {
	for j := 0; j < 4; j++ {
		sc[j] = int32(q[j] & 63)
		m[j] = int32(q[j+4] & 63)
		sc[j+4] = int32(q[j+8]&0xf | (q[j]>>6)<<4)
		m[j+4] = int32(q[j+8]>>4 | (q[j+4]>>6)<<4)
	}
	return
}

// bsum32 is the sum of the activation q over sub-block j (32 elements) of a
// Q8_K block, from its two stored 16-element sums.
func bsum32(xa []byte, j int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(xa[260+4*j:]))) +
		int32(int16(binary.LittleEndian.Uint16(xa[262+4*j:])))
}

func gdotQ4_K(w, x []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, xa := w[b*144:b*144+144], x[b*q8KBytes:b*q8KBytes+q8KBytes]
		sc, m := kScales(wb[4:16])
		qs, q := wb[16:144], xa[4:260]
		var si, sm int32
		for g := 0; g < 4; g++ {
			var s1, s2 int32
			for l := 0; l < 32; l++ {
				s1 += int32(qs[32*g+l]&0xf) * int32(int8(q[64*g+l]))
				s2 += int32(qs[32*g+l]>>4) * int32(int8(q[64*g+32+l]))
			}
			si += sc[2*g]*s1 + sc[2*g+1]*s2
			sm += m[2*g]*bsum32(xa, 2*g) + m[2*g+1]*bsum32(xa, 2*g+1)
		}
		dx := f32at(xa)
		sum += dx * (h16(wb)*float32(si) - h16(wb[2:])*float32(sm))
	}
	return sum
}

func gdotQ5_K(w, x []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, xa := w[b*176:b*176+176], x[b*q8KBytes:b*q8KBytes+q8KBytes]
		sc, m := kScales(wb[4:16])
		qh, qs, q := wb[16:48], wb[48:176], xa[4:260]
		var si, sm int32
		for g := 0; g < 4; g++ {
			var s1, s2 int32
			for l := 0; l < 32; l++ {
				lo := int32(qs[32*g+l]&0xf | (qh[l]>>uint(2*g)&1)<<4)
				hi := int32(qs[32*g+l]>>4 | (qh[l]>>uint(2*g+1)&1)<<4)
				s1 += lo * int32(int8(q[64*g+l]))
				s2 += hi * int32(int8(q[64*g+32+l]))
			}
			si += sc[2*g]*s1 + sc[2*g+1]*s2
			sm += m[2*g]*bsum32(xa, 2*g) + m[2*g+1]*bsum32(xa, 2*g+1)
		}
		dx := f32at(xa)
		sum += dx * (h16(wb)*float32(si) - h16(wb[2:])*float32(sm))
	}
	return sum
}

func gdotQ6_K(w, x []byte, cols int) float32 {
	var sum float32
	for b := 0; b < cols/256; b++ {
		wb, xa := w[b*210:b*210+210], x[b*q8KBytes:b*q8KBytes+q8KBytes]
		var si int32
		for n := 0; n < 2; n++ {
			ql := wb[64*n : 64*n+64]
			qh := wb[128+32*n : 128+32*n+32]
			sc := wb[192+8*n : 192+8*n+8]
			q := xa[4+128*n : 4+128*n+128]
			for h := 0; h < 2; h++ {
				var a1, a2, a3, a4 int32
				for l := 16 * h; l < 16*h+16; l++ {
					a1 += int32(ql[l]&0xf|(qh[l]&3)<<4) * int32(int8(q[l]))
					a2 += int32(ql[l+32]&0xf|(qh[l]>>2&3)<<4) * int32(int8(q[l+32]))
					a3 += int32(ql[l]>>4|(qh[l]>>4&3)<<4) * int32(int8(q[l+64]))
					a4 += int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) * int32(int8(q[l+96]))
				}
				si += int32(int8(sc[h]))*a1 + int32(int8(sc[h+2]))*a2 +
					int32(int8(sc[h+4]))*a3 + int32(int8(sc[h+6]))*a4
			}
		}
		// The −32 offset of every weight, applied once per 16-element
		// sub-block through the stored activation sums.
		var corr int32
		for k := 0; k < 16; k++ {
			corr += int32(int8(wb[192+k])) * int32(int16(binary.LittleEndian.Uint16(xa[260+2*k:])))
		}
		sum += h16(wb[208:]) * f32at(xa) * float32(si-32*corr)
	}
	return sum
}

// sumU64Go adds the words of p with four accumulators (bandwidth probe
// where there is no C).
func sumU64Go(p []uint64) uint64 {
	var a, b, c, d uint64
	i := 0
	for ; i+4 <= len(p); i += 4 {
		a += p[i]
		b += p[i+1]
		c += p[i+2]
		d += p[i+3]
	}
	for ; i < len(p); i++ {
		a += p[i]
	}
	return a + b + c + d
}
