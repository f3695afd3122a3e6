package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Quantize encodes src (a whole number of blocks of type t) into dst, which
// must hold exactly RowBytes(len(src)) bytes.
//
// The simple types (F16, Q4_0 … Q8_0) follow ggml's reference quantizers:
// on the fixture models their bytes equal llama-quantize's (tested). The
// k-quants use a simpler scale search than ggml's (min/max per sub-block,
// then 6- or 8-bit scales): the layout is exact and the error small, but the
// bytes differ from llama-quantize's. That is fine for `model synth`, whose
// weights are random anyway.
func Quantize(t Type, src []float32, dst []byte) error {
	n, err := t.RowBytes(len(src))
	if err != nil {
		return err
	}
	if len(dst) != n {
		return fmt.Errorf("quant: %d %s elements need %d bytes, have %d", len(src), t, n, len(dst))
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	f := quantBlock[t]
	for i := 0; i < len(src)/bs; i++ {
		f(src[i*bs:(i+1)*bs], dst[i*bb:(i+1)*bb])
	}
	return nil
}

var quantBlock = map[Type]func(x []float32, b []byte){
	F32:  func(x []float32, b []byte) { binary.LittleEndian.PutUint32(b, math.Float32bits(x[0])) },
	F16:  func(x []float32, b []byte) { binary.LittleEndian.PutUint16(b, F32ToF16(x[0])) },
	BF16: func(x []float32, b []byte) { binary.LittleEndian.PutUint16(b, F32ToBF16(x[0])) },
	Q4_0: quantQ4_0,
	Q4_1: quantQ4_1,
	Q5_0: quantQ5_0,
	Q5_1: quantQ5_1,
	Q8_0: quantQ8_0,
	Q4_K: quantQ4_K,
	Q5_K: quantQ5_K,
	Q6_K: quantQ6_K,
}

func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }

// signedMax returns the element of largest magnitude, with its sign.
func signedMax(x []float32) float32 {
	var amax, m float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, m = a, v
		}
	}
	return m
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = x[0], x[0]
	for _, v := range x[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func inv(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

// The float32(...) conversions around products below round them before the
// addition, as ggml's separate C statements do: Go may otherwise fuse
// x*y+z into one FMA on arm64, and the bytes would differ from
// llama-quantize's in rare blocks.

// truncI8 converts like C's (int8_t) cast of a value already known to be
// in range: truncation toward zero.
func truncI8(f float32) int { return int(int8(int32(f))) }

func quantQ4_0(x []float32, b []byte) {
	d := signedMax(x) / -8
	id := inv(d)
	putHalf(b, d)
	for j := 0; j < 16; j++ {
		q0 := min(15, truncI8(float32(x[j]*id)+8.5))
		q1 := min(15, truncI8(float32(x[j+16]*id)+8.5))
		b[2+j] = byte(q0) | byte(q1)<<4
	}
}

func quantQ4_1(x []float32, b []byte) {
	lo, hi := minMax(x)
	d := (hi - lo) / 15
	id := inv(d)
	putHalf(b, d)
	putHalf(b[2:], lo)
	for j := 0; j < 16; j++ {
		q0 := min(15, truncI8(float32((x[j]-lo)*id)+0.5))
		q1 := min(15, truncI8(float32((x[j+16]-lo)*id)+0.5))
		b[4+j] = byte(q0) | byte(q1)<<4
	}
}

func quantQ5_0(x []float32, b []byte) {
	d := signedMax(x) / -16
	id := inv(d)
	putHalf(b, d)
	var qh uint32
	for j := 0; j < 16; j++ {
		q0 := min(31, truncI8(float32(x[j]*id)+16.5))
		q1 := min(31, truncI8(float32(x[j+16]*id)+16.5))
		b[6+j] = byte(q0&0xf) | byte(q1&0xf)<<4
		qh |= uint32(q0>>4&1)<<uint(j) | uint32(q1>>4&1)<<uint(j+16)
	}
	binary.LittleEndian.PutUint32(b[2:], qh)
}

func quantQ5_1(x []float32, b []byte) {
	lo, hi := minMax(x)
	d := (hi - lo) / 31
	id := inv(d)
	putHalf(b, d)
	putHalf(b[2:], lo)
	var qh uint32
	for j := 0; j < 16; j++ {
		q0 := min(31, int(uint8(float32((x[j]-lo)*id)+0.5)))
		q1 := min(31, int(uint8(float32((x[j+16]-lo)*id)+0.5)))
		b[8+j] = byte(q0&0xf) | byte(q1&0xf)<<4
		qh |= uint32(q0>>4&1)<<uint(j) | uint32(q1>>4&1)<<uint(j+16)
	}
	binary.LittleEndian.PutUint32(b[4:], qh)
}

func quantQ8_0(x []float32, b []byte) {
	var amax float32
	for _, v := range x {
		amax = max(amax, v, -v)
	}
	d := amax / 127
	id := inv(d)
	putHalf(b, d)
	for j := 0; j < 32; j++ {
		b[2+j] = byte(int8(roundAway(x[j] * id)))
	}
}

// roundAway rounds half away from zero, as C's roundf: truncate f ± 0.5
// (exact in float64), branch-free since the signs of random data are
// unpredictable.
func roundAway(f float32) int {
	return int(float64(f) + math.Copysign(0.5, float64(f)))
}

func clampRound(f float32, lo, hi int) int {
	r := roundAway(f)
	return max(lo, min(hi, r))
}

// packScaleMinK4 is the inverse of scaleMinK4 for eight 6-bit scales and
// mins.
func packScaleMinK4(ls, lm *[8]int, q []byte) {
	for j := 0; j < 4; j++ {
		q[j] = byte(ls[j]&63) | byte(ls[j+4]>>4)<<6
		q[j+4] = byte(lm[j]&63) | byte(lm[j+4]>>4)<<6
		q[j+8] = byte(ls[j+4]&0xf) | byte(lm[j+4]&0xf)<<4
	}
}

// kScalesMins fits value ≈ scale·q − min per 32-element sub-block with q in
// [0, nmax], then quantizes the eight scales and mins to 6 bits against the
// super-block's d and dmin. It returns the integer levels L (one per
// element) and writes d, dmin and the packed scales into b[0:16].
func kScalesMins(x []float32, nmax int, b []byte, L *[256]int) {
	var scales, mins [8]float32
	for j := 0; j < 8; j++ {
		lo, hi := minMax(x[32*j : 32*j+32])
		lo = min(lo, 0) // ggml's mins are non-negative offsets: value = d·q − m
		scales[j] = (hi - lo) / float32(nmax)
		mins[j] = -lo
	}
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	d, dmin := maxScale/63, maxMin/63
	putHalf(b, d)
	putHalf(b[2:], dmin)
	// Use the rounded f16 values so levels match what the decoder sees.
	d, dmin = F16ToF32(F32ToF16(d)), F16ToF32(F32ToF16(dmin))
	var ls, lm [8]int
	for j := 0; j < 8; j++ {
		ls[j] = clampRound(scales[j]*inv(d), 0, 63)
		lm[j] = clampRound(mins[j]*inv(dmin), 0, 63)
	}
	packScaleMinK4(&ls, &lm, b[4:16])
	for j := 0; j < 8; j++ {
		sd := d * float32(ls[j])
		sm := dmin * float32(lm[j])
		isd := inv(sd)
		for l := 0; l < 32; l++ {
			L[32*j+l] = clampRound((x[32*j+l]+sm)*isd, 0, nmax)
		}
	}
}

func quantQ4_K(x []float32, b []byte) {
	var L [256]int
	kScalesMins(x, 15, b, &L)
	q := b[16:144]
	for g := 0; g < 4; g++ {
		for l := 0; l < 32; l++ {
			q[32*g+l] = byte(L[64*g+l]) | byte(L[64*g+32+l])<<4
		}
	}
}

func quantQ5_K(x []float32, b []byte) {
	var L [256]int
	kScalesMins(x, 31, b, &L)
	qh := b[16:48]
	ql := b[48:176]
	clear(qh)
	for g := 0; g < 4; g++ {
		for l := 0; l < 32; l++ {
			lo, hi := L[64*g+l], L[64*g+32+l]
			ql[32*g+l] = byte(lo&0xf) | byte(hi&0xf)<<4
			qh[l] |= byte(lo>>4)<<uint(2*g) | byte(hi>>4)<<uint(2*g+1)
		}
	}
}

func quantQ6_K(x []float32, b []byte) {
	// One scale per 16 elements: q in [-32, 31] with scale = signed max / -32,
	// then the 16 scales as int8 against d = max|scale| / 127.
	var scales [16]float32
	var maxAbs float32
	for j := 0; j < 16; j++ {
		scales[j] = signedMax(x[16*j:16*j+16]) / -32
		maxAbs = max(maxAbs, float32(math.Abs(float64(scales[j]))))
	}
	d := maxAbs / 127
	putHalf(b[208:], d)
	d = F16ToF32(F32ToF16(d))
	var L [256]int
	for j := 0; j < 16; j++ {
		ls := clampRound(scales[j]*inv(d), -128, 127)
		b[192+j] = byte(int8(ls))
		isd := inv(d * float32(ls))
		for l := 0; l < 16; l++ {
			L[16*j+l] = clampRound(x[16*j+l]*isd, -32, 31) + 32
		}
	}
	for n := 0; n < 2; n++ {
		ql := b[64*n : 64*n+64]
		qh := b[128+32*n : 128+32*n+32]
		LL := L[128*n : 128*n+128]
		for l := 0; l < 32; l++ {
			q1, q2, q3, q4 := LL[l], LL[l+32], LL[l+64], LL[l+96]
			ql[l] = byte(q1&0xf) | byte(q3&0xf)<<4
			ql[l+32] = byte(q2&0xf) | byte(q4&0xf)<<4
			qh[l] = byte(q1>>4) | byte(q2>>4)<<2 | byte(q3>>4)<<4 | byte(q4>>4)<<6
		}
	}
}
