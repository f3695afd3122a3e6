package quant

import (
	"math"
	"unsafe"
)

// DotFunc returns the portable dot product of one row of type t (len(x)
// elements, RowBytes(len(x)) bytes) with the float32 vector x, or nil for an
// unsupported type. Activations stay float32: this is the accuracy
// reference. (llama.cpp instead rounds the activations to 8-bit blocks
// first; the SIMD kernels may do the same for speed.)
//
// The functions trust their caller on sizes: the backend checks shapes once
// per weight, not once per row.
func DotFunc(t Type) func(w []byte, x []float32) float32 {
	switch t {
	case F32:
		return dotF32
	case F16:
		return dotF16
	case BF16:
		return dotBF16
	case Q4_0:
		return dotQ4_0
	case Q4_1:
		return dotQ4_1
	case Q5_0:
		return dotQ5_0
	case Q5_1:
		return dotQ5_1
	case Q8_0:
		return dotQ8_0
	case Q4_K:
		return dotQ4_K
	case Q5_K:
		return dotQ5_K
	case Q6_K:
		return dotQ6_K
	}
	return nil
}

// F32View reinterprets little-endian float32 bytes as []float32 without
// copying when b is 4-byte aligned (always so for GGUF tensor data, which is
// aligned to 32 bytes in a page-aligned mapping); otherwise it copies.
func F32View(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(le32(b[4*i:]))
	}
	return out
}

// DotF32 is the plain float32 dot product, with eight partial sums (fewer
// dependent adds per step; also what keeps its rounding close to SIMD
// kernels that sum lane-wise).
func DotF32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		aa, bb := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
		s4 += aa[4] * bb[4]
		s5 += aa[5] * bb[5]
		s6 += aa[6] * bb[6]
		s7 += aa[7] * bb[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

func dotF32(w []byte, x []float32) float32 { return DotF32(F32View(w), x) }

func dotF16(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += f16Table[le16(w[2*i:])] * x[i]
		s1 += f16Table[le16(w[2*i+2:])] * x[i+1]
	}
	for ; i < len(x); i++ {
		s0 += f16Table[le16(w[2*i:])] * x[i]
	}
	return s0 + s1
}

func dotBF16(w []byte, x []float32) float32 {
	w = w[:2*len(x)]
	var s float32
	for i := range x {
		s += math.Float32frombits(uint32(le16(w[2*i:]))<<16) * x[i]
	}
	return s
}

func dotQ4_0(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := w[i*18 : i*18+18]
		xx := x[i*32 : i*32+32]
		qs := b[2:18]
		var s float32
		for j := 0; j < 16; j++ {
			s += float32(int(qs[j]&0xf)-8)*xx[j] + float32(int(qs[j]>>4)-8)*xx[j+16]
		}
		sum += s * half(b)
	}
	return sum
}

func dotQ4_1(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := w[i*20 : i*20+20]
		xx := x[i*32 : i*32+32]
		qs := b[4:20]
		var s, sx float32
		for j := 0; j < 16; j++ {
			s += float32(qs[j]&0xf)*xx[j] + float32(qs[j]>>4)*xx[j+16]
			sx += xx[j] + xx[j+16]
		}
		sum += s*half(b) + sx*half(b[2:])
	}
	return sum
}

func dotQ5_0(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := w[i*22 : i*22+22]
		xx := x[i*32 : i*32+32]
		qh := le32(b[2:])
		qs := b[6:22]
		var s float32
		for j := 0; j < 16; j++ {
			h0 := byte(qh>>uint(j)) & 1 << 4
			h1 := byte(qh>>uint(j+16)) & 1 << 4
			s += float32(int(qs[j]&0xf|h0)-16)*xx[j] + float32(int(qs[j]>>4|h1)-16)*xx[j+16]
		}
		sum += s * half(b)
	}
	return sum
}

func dotQ5_1(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := w[i*24 : i*24+24]
		xx := x[i*32 : i*32+32]
		qh := le32(b[4:])
		qs := b[8:24]
		var s, sx float32
		for j := 0; j < 16; j++ {
			h0 := byte(qh>>uint(j)) & 1 << 4
			h1 := byte(qh>>uint(j+16)) & 1 << 4
			s += float32(qs[j]&0xf|h0)*xx[j] + float32(qs[j]>>4|h1)*xx[j+16]
			sx += xx[j] + xx[j+16]
		}
		sum += s*half(b) + sx*half(b[2:])
	}
	return sum
}

func dotQ8_0(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/32; i++ {
		b := w[i*34 : i*34+34]
		xx := x[i*32 : i*32+32]
		qs := b[2:34]
		var s0, s1 float32
		for j := 0; j < 32; j += 2 {
			s0 += float32(int8(qs[j])) * xx[j]
			s1 += float32(int8(qs[j+1])) * xx[j+1]
		}
		sum += (s0 + s1) * half(b)
	}
	return sum
}

func dotQ4_K(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/256; i++ {
		b := w[i*144 : i*144+144]
		xb := x[i*256 : i*256+256]
		d, dmin := half(b), half(b[2:])
		scales := b[4:16]
		q := b[16:144]
		var ssc, smin float32
		for g := 0; g < 4; g++ {
			sc1, m1 := scaleMinK4(2*g, scales)
			sc2, m2 := scaleMinK4(2*g+1, scales)
			qq := q[32*g : 32*g+32]
			xx := xb[64*g : 64*g+64]
			var a1, a2, x1, x2 float32
			for l := 0; l < 32; l++ {
				a1 += float32(qq[l]&0xf) * xx[l]
				a2 += float32(qq[l]>>4) * xx[l+32]
				x1 += xx[l]
				x2 += xx[l+32]
			}
			ssc += float32(sc1)*a1 + float32(sc2)*a2
			smin += float32(m1)*x1 + float32(m2)*x2
		}
		sum += d*ssc - dmin*smin
	}
	return sum
}

func dotQ5_K(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/256; i++ {
		b := w[i*176 : i*176+176]
		xb := x[i*256 : i*256+256]
		d, dmin := half(b), half(b[2:])
		scales := b[4:16]
		qh := b[16:48]
		ql := b[48:176]
		var ssc, smin float32
		for g := 0; g < 4; g++ {
			sc1, m1 := scaleMinK4(2*g, scales)
			sc2, m2 := scaleMinK4(2*g+1, scales)
			qq := ql[32*g : 32*g+32]
			xx := xb[64*g : 64*g+64]
			s1, s2 := uint(2*g), uint(2*g+1)
			var a1, a2, x1, x2 float32
			for l := 0; l < 32; l++ {
				a1 += float32(qq[l]&0xf|(qh[l]>>s1&1)<<4) * xx[l]
				a2 += float32(qq[l]>>4|(qh[l]>>s2&1)<<4) * xx[l+32]
				x1 += xx[l]
				x2 += xx[l+32]
			}
			ssc += float32(sc1)*a1 + float32(sc2)*a2
			smin += float32(m1)*x1 + float32(m2)*x2
		}
		sum += d*ssc - dmin*smin
	}
	return sum
}

func dotQ6_K(w []byte, x []float32) float32 {
	var sum float32
	for i := 0; i < len(x)/256; i++ {
		b := w[i*210 : i*210+210]
		xb := x[i*256 : i*256+256]
		var s float32
		for n := 0; n < 2; n++ {
			ql := b[64*n : 64*n+64]
			qh := b[128+32*n : 128+32*n+32]
			sc := b[192+8*n : 192+8*n+8]
			xx := xb[128*n : 128*n+128]
			// Sub-blocks of 16: l in [0,16) uses scales is=0, [16,32) is=1.
			for h := 0; h < 2; h++ {
				var a1, a2, a3, a4 float32
				for l := 16 * h; l < 16*h+16; l++ {
					a1 += float32(int(ql[l]&0xf|(qh[l]&3)<<4)-32) * xx[l]
					a2 += float32(int(ql[l+32]&0xf|(qh[l]>>2&3)<<4)-32) * xx[l+32]
					a3 += float32(int(ql[l]>>4|(qh[l]>>4&3)<<4)-32) * xx[l+64]
					a4 += float32(int(ql[l+32]>>4|(qh[l]>>6&3)<<4)-32) * xx[l+96]
				}
				s += float32(int8(sc[h]))*a1 + float32(int8(sc[h+2]))*a2 +
					float32(int8(sc[h+4]))*a3 + float32(int8(sc[h+6]))*a4
			}
		}
		sum += s * half(b[208:])
	}
	return sum
}
