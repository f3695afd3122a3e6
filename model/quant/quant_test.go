package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randNormal(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// TestRoundTrip quantizes normal data and checks the relative RMS error of
// the decoded values. The bounds sit ~20% above what was measured; uniform
// rounding predicts step/√12 (4 bits over a block's ±2.5σ: ≈0.1σ). A wrong
// layout or bit order gives errors near 1.4 (uncorrelated values).
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		typ    Type
		maxRel float64
	}{
		{F32, 0},
		{F16, 5e-4},
		{BF16, 4e-3},
		{Q8_0, 0.0065},
		{Q4_0, 0.10},
		{Q4_1, 0.09},
		{Q5_0, 0.05},
		{Q5_1, 0.045},
		{Q4_K, 0.09},
		{Q5_K, 0.045},
		{Q6_K, 0.022},
	}
	const n = 256 * 64
	x := randNormal(n, 7)
	for _, tc := range tests {
		t.Run(tc.typ.String(), func(t *testing.T) {
			nb, err := tc.typ.RowBytes(n)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, nb)
			if err := Quantize(tc.typ, x, b); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, n)
			if err := Dequantize(tc.typ, b, y); err != nil {
				t.Fatal(err)
			}
			var se, sx float64
			for i := range x {
				d := float64(x[i] - y[i])
				se += d * d
				sx += float64(x[i]) * float64(x[i])
			}
			rel := math.Sqrt(se / sx)
			t.Logf("%s: relative RMS error %.5f", tc.typ, rel)
			if rel > tc.maxRel {
				t.Errorf("%s: relative RMS error %.5f > %.5f", tc.typ, rel, tc.maxRel)
			}
		})
	}
}

// TestDotMatchesDequantize checks every fused dot product against the
// dequantized row times x, over several rows of offset-shifted data (so
// mins and asymmetric ranges are exercised).
func TestDotMatchesDequantize(t *testing.T) {
	const n = 512
	x := randNormal(n, 3)
	for _, typ := range Supported() {
		t.Run(typ.String(), func(t *testing.T) {
			for row := 0; row < 8; row++ {
				w := randNormal(n, uint64(100+row))
				for i := range w {
					w[i] += float32(row-4) * 0.3
				}
				nb, _ := typ.RowBytes(n)
				b := make([]byte, nb)
				if err := Quantize(typ, w, b); err != nil {
					t.Fatal(err)
				}
				y := make([]float32, n)
				if err := Dequantize(typ, b, y); err != nil {
					t.Fatal(err)
				}
				var want float64
				var scale float64
				for i := range y {
					want += float64(y[i]) * float64(x[i])
					scale += math.Abs(float64(y[i]) * float64(x[i]))
				}
				got := DotFunc(typ)(b, x)
				if math.Abs(float64(got)-want) > 1e-5*scale+1e-6 {
					t.Errorf("row %d: dot %v, dequantized dot %v", row, got, want)
				}
			}
		})
	}
}

// TestKnownBlocks decodes hand-built blocks whose values follow from the
// layout description in ggml-common.h, so a layout mistake shared by the
// quantizer and the decoder cannot pass unnoticed.
func TestKnownBlocks(t *testing.T) {
	one := F32ToF16(1)
	two := F32ToF16(2)
	// Q4_0: d=1, byte j = (j%16) | (15-j%16)<<4 → y[j] = j-8, y[j+16] = 7-j.
	q40 := make([]byte, 18)
	q40[0], q40[1] = byte(one), byte(one>>8)
	for j := 0; j < 16; j++ {
		q40[2+j] = byte(j) | byte(15-j)<<4
	}
	y := make([]float32, 32)
	Dequantize(Q4_0, q40, y)
	for j := 0; j < 16; j++ {
		if y[j] != float32(j-8) || y[j+16] != float32(7-j) {
			t.Fatalf("q4_0 decode: y[%d]=%v y[%d]=%v", j, y[j], j+16, y[j+16])
		}
	}
	// Q5_0: d=1, all nibbles 0, fifth bit set for odd elements → y = -16 or 0.
	q50 := make([]byte, 22)
	q50[0], q50[1] = byte(one), byte(one>>8)
	q50[2], q50[3], q50[4], q50[5] = 0xaa, 0xaa, 0xaa, 0xaa
	Dequantize(Q5_0, q50, y)
	for j := range y {
		want := float32(-16)
		if j%2 == 1 {
			want = 0
		}
		if y[j] != want {
			t.Fatalf("q5_0 decode: y[%d]=%v want %v", j, y[j], want)
		}
	}
	// Q8_0: d=2, q = j-16.
	q80 := make([]byte, 34)
	q80[0], q80[1] = byte(two), byte(two>>8)
	for j := 0; j < 32; j++ {
		q80[2+j] = byte(int8(j - 16))
	}
	Dequantize(Q8_0, q80, y)
	for j := range y {
		if y[j] != float32(2*(j-16)) {
			t.Fatalf("q8_0 decode: y[%d]=%v", j, y[j])
		}
	}
	// Q4_K: d=1, dmin=1, sub-block j has scale j+1 and min j (packed by
	// hand per the 6-bit layout), all nibbles 1 → y = (j+1) - j = 1 everywhere
	// except where the layout is wrong.
	q4k := make([]byte, 144)
	q4k[0], q4k[1], q4k[2], q4k[3] = byte(one), byte(one>>8), byte(one), byte(one>>8)
	for j := 0; j < 4; j++ {
		q4k[4+j] = byte(j + 1) // scales 0..3
		q4k[8+j] = byte(j)     // mins 0..3
		q4k[12+j] = byte(j+5) | byte(j+4)<<4
	}
	for i := 16; i < 144; i++ {
		q4k[i] = 0x11
	}
	y256 := make([]float32, 256)
	Dequantize(Q4_K, q4k, y256)
	for i, v := range y256 {
		if v != 1 {
			t.Fatalf("q4_K decode: y[%d]=%v want 1", i, v)
		}
	}
	// Q6_K: d=1, scales 1..16 (one per 16 elements), all q = 33 (ql nibble 1,
	// high bits 2 → 1|2<<4 = 33) → y = scale·1 = element/16 + 1.
	q6k := make([]byte, 210)
	for i := 0; i < 128; i++ {
		q6k[i] = 0x11
	}
	for i := 128; i < 192; i++ {
		q6k[i] = 0xaa
	}
	for j := 0; j < 16; j++ {
		q6k[192+j] = byte(j + 1)
	}
	q6k[208], q6k[209] = byte(one), byte(one>>8)
	Dequantize(Q6_K, q6k, y256)
	for i, v := range y256 {
		if v != float32(i/16+1) {
			t.Fatalf("q6_K decode: y[%d]=%v want %d", i, v, i/16+1)
		}
	}
}

func TestF16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f { // NaN
			continue
		}
		if back := F32ToF16(f); back != uint16(h) {
			t.Fatalf("f16 %#04x → %v → %#04x", h, f, back)
		}
	}
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00},
		{1 + 1.0/2048, 0x3c00}, // tie → even
		{1 + 3.0/2048, 0x3c02}, // tie → even (up)
		{5.96e-8, 0x0001},      // smallest subnormal
	}
	for _, c := range cases {
		if got := F32ToF16(c.in); got != c.want {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if got := F32ToBF16(1 + 1.0/256); got != 0x3f80 {
		t.Errorf("bf16 tie: %#04x", got)
	}
	if got := BF16ToF32(F32ToBF16(3.140625)); got != 3.140625 {
		t.Errorf("bf16 round trip: %v", got)
	}
}

func TestErrors(t *testing.T) {
	if err := Dequantize(Q4_0, make([]byte, 17), make([]float32, 32)); err == nil {
		t.Error("short block: no error")
	}
	if err := Dequantize(Q4_K, make([]byte, 144), make([]float32, 32)); err == nil {
		t.Error("partial super-block: no error")
	}
	if err := Quantize(Type(99), make([]float32, 32), nil); err == nil {
		t.Error("unknown type: no error")
	}
	if _, err := ParseType("q4_k"); err != nil {
		t.Error(err)
	}
}

func BenchmarkDot(b *testing.B) {
	const rows, cols = 256, 1024
	x := randNormal(cols, 1)
	w := randNormal(rows*cols, 2)
	for _, typ := range Supported() {
		nb, _ := typ.RowBytes(cols)
		q := make([]byte, nb*rows)
		Quantize(typ, w, q)
		dot := DotFunc(typ)
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(q)))
			for b.Loop() {
				for r := 0; r < rows; r++ {
					dot(q[r*nb:(r+1)*nb], x)
				}
			}
		})
	}
}
