package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Activation quantization. One implementation (Go) serves every path, so
// all paths see bit-identical activations and differ only in float
// summation order. Its cost is small next to the product it feeds (one
// pass over cols floats versus rows×cols weights).
//
// Rounding is to nearest, ties to even, of x·(1/d) with d = max|x|/127, so
// every q lies in [−127, 127]. −128 never occurs, which keeps the AVX2
// pair sums of vpmaddubsw clear of int16 saturation: the largest unsigned
// weight byte is 128 (|q| of a Q8_0 weight), and 2·128·127 = 32512 < 32767.

// roundMagic is 1.5·2^23: adding then subtracting it rounds a float32 of
// magnitude below 2^22 to an integer, ties to even (the FPU's default
// rounding), as vcvtps2dq does in the C quantizer. Far cheaper than
// math.RoundToEven, which matters: this runs once per activation element.
const roundMagic = 12582912

// q8Round quantizes one value with inverse scale id. |v·id| ≤ 127 by the
// choice of id (up to rounding, which stays below 127.5).
func q8Round(v, id float32) int8 {
	p := float32(v * id) // the conversion forbids fusing into an FMA
	return int8(int32((p + roundMagic) - roundMagic))
}

// absMax is max|x| by bit patterns (for non-NaN floats, the magnitude
// order is the order of the bits without the sign).
func absMax(x []float32) float32 {
	var m uint32
	for _, v := range x {
		m = max(m, math.Float32bits(v)&0x7fffffff)
	}
	return math.Float32frombits(m)
}

// q8Scale is the block scale d = max|x|/127 and its inverse. A block whose
// scale is zero or subnormal quantizes to all zeros (1/d would overflow;
// such activations contribute nothing measurable anyway), and so does one
// holding an Inf or a NaN: its d, Inf or NaN, makes every product with the
// block non-finite, so the broken activation shows in the logits.
func q8Scale(x []float32) (d, id float32) {
	d = absMax(x) / 127
	if d >= minNormal {
		id = 1 / d
	}
	return d, id
}

// minNormal is the smallest normal float32, 2^-126.
const minNormal = 0x1p-126

// quantizeQ8 writes 32-element blocks: d (f32), sum of q (i32), q[32].
func quantizeQ8(x []float32, dst []byte) {
	for b := 0; b < len(x)/32; b++ {
		xx := x[b*32 : b*32+32]
		o := dst[b*q8Bytes : b*q8Bytes+q8Bytes]
		d, id := q8Scale(xx)
		binary.LittleEndian.PutUint32(o, math.Float32bits(d))
		if id == 0 {
			clear(o[4:])
			continue
		}
		var s int32
		for j, v := range xx {
			q := q8Round(v, id)
			o[8+j] = byte(q)
			s += int32(q)
		}
		binary.LittleEndian.PutUint32(o[4:], uint32(s))
	}
}

// quantizeQ8K writes 256-element blocks: d (f32), q[256], then 16 int16
// sums of 16 consecutive q.
func quantizeQ8K(x []float32, dst []byte) {
	for b := 0; b < len(x)/256; b++ {
		xx := x[b*256 : b*256+256]
		o := dst[b*q8KBytes : b*q8KBytes+q8KBytes]
		d, id := q8Scale(xx)
		binary.LittleEndian.PutUint32(o, math.Float32bits(d))
		if id == 0 {
			clear(o[4:])
			continue
		}
		for g := 0; g < 16; g++ {
			var s int16
			for j := 16 * g; j < 16*g+16; j++ {
				q := q8Round(xx[j], id)
				o[4+j] = byte(q)
				s += int16(q)
			}
			binary.LittleEndian.PutUint16(o[260+2*g:], uint16(s))
		}
	}
}

// f32Bytes views x as its little-endian bytes (amd64 and arm64 are both
// little-endian, as are all GOARCHes this project targets).
func f32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

// dequantizeActivations turns one activation row back into float32 (d·q):
// the values the integer kernels effectively multiply by. Used by tests and
// by the generic path's float types.
func dequantizeActivations(k Kernel, xq []byte, n int) []float32 {
	y := make([]float32, n)
	switch k.act {
	case actQ8:
		for b := 0; b < n/32; b++ {
			o := xq[b*q8Bytes:]
			d := math.Float32frombits(binary.LittleEndian.Uint32(o))
			for j := 0; j < 32; j++ {
				y[b*32+j] = d * float32(int8(o[8+j]))
			}
		}
	case actQ8K:
		for b := 0; b < n/256; b++ {
			o := xq[b*q8KBytes:]
			d := math.Float32frombits(binary.LittleEndian.Uint32(o))
			for j := 0; j < 256; j++ {
				y[b*256+j] = d * float32(int8(o[4+j]))
			}
		}
	default:
		for i := range y {
			y[i] = math.Float32frombits(binary.LittleEndian.Uint32(xq[4*i:]))
		}
	}
	return y
}
