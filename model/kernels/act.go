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

// q8Round quantizes one value with inverse scale id.
func q8Round(v, id float32) int8 {
	r := math.RoundToEven(float64(v * id))
	return int8(max(-127, min(127, r)))
}

func absMax(x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m
}

// quantizeQ8 writes 32-element blocks: d (f32), sum of q (i32), q[32].
func quantizeQ8(x []float32, dst []byte) {
	for b := 0; b < len(x)/32; b++ {
		xx := x[b*32 : b*32+32]
		o := dst[b*q8Bytes : b*q8Bytes+q8Bytes]
		d := absMax(xx) / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		var s int32
		for j, v := range xx {
			q := q8Round(v, id)
			o[8+j] = byte(q)
			s += int32(q)
		}
		binary.LittleEndian.PutUint32(o, math.Float32bits(d))
		binary.LittleEndian.PutUint32(o[4:], uint32(s))
	}
}

// quantizeQ8K writes 256-element blocks: d (f32), q[256], then 16 int16
// sums of 16 consecutive q.
func quantizeQ8K(x []float32, dst []byte) {
	for b := 0; b < len(x)/256; b++ {
		xx := x[b*256 : b*256+256]
		o := dst[b*q8KBytes : b*q8KBytes+q8KBytes]
		d := absMax(xx) / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint32(o, math.Float32bits(d))
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
