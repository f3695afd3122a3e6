package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

func le16(b []byte) uint16  { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32  { return binary.LittleEndian.Uint32(b) }
func half(b []byte) float32 { return f16Table[binary.LittleEndian.Uint16(b)] }

// Dequantize expands len(dst) elements of type t stored in src into dst.
// src must hold exactly those elements (RowBytes(len(dst)) bytes).
func Dequantize(t Type, src []byte, dst []float32) error {
	n, err := t.RowBytes(len(dst))
	if err != nil {
		return err
	}
	if len(src) != n {
		return fmt.Errorf("quant: %d %s elements need %d bytes, have %d", len(dst), t, n, len(src))
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	f := dequantBlock[t]
	for i := 0; i < len(dst)/bs; i++ {
		f(src[i*bb:(i+1)*bb], dst[i*bs:(i+1)*bs])
	}
	return nil
}

// dequantBlock expands one block; y has exactly BlockSize elements.
var dequantBlock = map[Type]func(b []byte, y []float32){
	F32:  func(b []byte, y []float32) { y[0] = math.Float32frombits(le32(b)) },
	F16:  func(b []byte, y []float32) { y[0] = half(b) },
	BF16: func(b []byte, y []float32) { y[0] = BF16ToF32(le16(b)) },
	Q4_0: dequantQ4_0,
	Q4_1: dequantQ4_1,
	Q5_0: dequantQ5_0,
	Q5_1: dequantQ5_1,
	Q8_0: dequantQ8_0,
	Q4_K: dequantQ4_K,
	Q5_K: dequantQ5_K,
	Q6_K: dequantQ6_K,
}

// Q4_0: d (f16), then 16 bytes whose low nibbles are elements 0..15 and
// high nibbles elements 16..31; value = (q − 8)·d.
func dequantQ4_0(b []byte, y []float32) {
	d := half(b)
	qs := b[2:18]
	for j := 0; j < 16; j++ {
		y[j] = float32(int(qs[j]&0xf)-8) * d
		y[j+16] = float32(int(qs[j]>>4)-8) * d
	}
}

// Q4_1: d, m (f16), nibbles as Q4_0; value = q·d + m.
func dequantQ4_1(b []byte, y []float32) {
	d, m := half(b), half(b[2:])
	qs := b[4:20]
	for j := 0; j < 16; j++ {
		y[j] = float32(qs[j]&0xf)*d + m
		y[j+16] = float32(qs[j]>>4)*d + m
	}
}

// Q5_0: d (f16), a 32-bit word of fifth bits (bit j for element j), then
// nibbles as Q4_0; value = (q − 16)·d.
func dequantQ5_0(b []byte, y []float32) {
	d := half(b)
	qh := le32(b[2:])
	qs := b[6:22]
	for j := 0; j < 16; j++ {
		h0 := byte(qh>>uint(j)) & 1 << 4
		h1 := byte(qh>>uint(j+16)) & 1 << 4
		y[j] = float32(int(qs[j]&0xf|h0)-16) * d
		y[j+16] = float32(int(qs[j]>>4|h1)-16) * d
	}
}

// Q5_1: d, m (f16), fifth bits, nibbles; value = q·d + m.
func dequantQ5_1(b []byte, y []float32) {
	d, m := half(b), half(b[2:])
	qh := le32(b[4:])
	qs := b[8:24]
	for j := 0; j < 16; j++ {
		h0 := byte(qh>>uint(j)) & 1 << 4
		h1 := byte(qh>>uint(j+16)) & 1 << 4
		y[j] = float32(qs[j]&0xf|h0)*d + m
		y[j+16] = float32(qs[j]>>4|h1)*d + m
	}
}

// Q8_0: d (f16), 32 int8; value = q·d.
func dequantQ8_0(b []byte, y []float32) {
	d := half(b)
	for j := 0; j < 32; j++ {
		y[j] = float32(int8(b[2+j])) * d
	}
}

// scaleMinK4 unpacks the j-th (0..7) 6-bit scale and min of a Q4_K/Q5_K
// super-block from its 12 packed bytes: entries 0..3 sit in the low 6 bits
// of bytes 0..3 (scales) and 4..7 (mins); entries 4..7 keep their low 4
// bits in bytes 8..11 and their top 2 bits in the spare top bits of bytes
// 0..7.
func scaleMinK4(j int, q []byte) (sc, m byte) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// Q4_K: super-block of 256 = 8 sub-blocks of 32. d, dmin (f16), 12 bytes of
// 6-bit scales and mins, 128 bytes of nibbles: each 32-byte group holds two
// sub-blocks (low nibbles first, then high). value = d·sc·q − dmin·m.
func dequantQ4_K(b []byte, y []float32) {
	d, dmin := half(b), half(b[2:])
	scales := b[4:16]
	q := b[16:144]
	for g := 0; g < 4; g++ {
		sc1, m1 := scaleMinK4(2*g, scales)
		sc2, m2 := scaleMinK4(2*g+1, scales)
		d1, mm1 := d*float32(sc1), dmin*float32(m1)
		d2, mm2 := d*float32(sc2), dmin*float32(m2)
		qq := q[32*g : 32*g+32]
		yy := y[64*g : 64*g+64]
		for l := 0; l < 32; l++ {
			yy[l] = d1*float32(qq[l]&0xf) - mm1
			yy[l+32] = d2*float32(qq[l]>>4) - mm2
		}
	}
}

// Q5_K: as Q4_K plus 32 bytes of fifth bits: for group g (of 64 elements),
// bit 2g of qh[l] is element l's and bit 2g+1 element l+32's.
func dequantQ5_K(b []byte, y []float32) {
	d, dmin := half(b), half(b[2:])
	scales := b[4:16]
	qh := b[16:48]
	ql := b[48:176]
	for g := 0; g < 4; g++ {
		sc1, m1 := scaleMinK4(2*g, scales)
		sc2, m2 := scaleMinK4(2*g+1, scales)
		d1, mm1 := d*float32(sc1), dmin*float32(m1)
		d2, mm2 := d*float32(sc2), dmin*float32(m2)
		qq := ql[32*g : 32*g+32]
		yy := y[64*g : 64*g+64]
		s1, s2 := uint(2*g), uint(2*g+1)
		for l := 0; l < 32; l++ {
			yy[l] = d1*float32(qq[l]&0xf|(qh[l]>>s1&1)<<4) - mm1
			yy[l+32] = d2*float32(qq[l]>>4|(qh[l]>>s2&1)<<4) - mm2
		}
	}
}

// Q6_K: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8
// scales (one per 16 elements), d (f16). Two halves of 128 elements; in a
// half, ql[l] holds elements l (low) and l+64 (high), ql[l+32] elements l+32
// and l+96, and qh[l] their top bits at shifts 0, 4, 2, 6 respectively.
// value = d·scale·(q − 32).
func dequantQ6_K(b []byte, y []float32) {
	d := half(b[208:])
	for n := 0; n < 2; n++ {
		ql := b[64*n : 64*n+64]
		qh := b[128+32*n : 128+32*n+32]
		sc := b[192+8*n : 192+8*n+8]
		yy := y[128*n : 128*n+128]
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
			q2 := int(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			yy[l] = d * float32(int8(sc[is])) * float32(q1)
			yy[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			yy[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			yy[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
	}
}
