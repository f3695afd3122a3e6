package astguard

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// realVocab reads the token texts of a real code model's vocabulary (a
// vocab-only GGUF from ../shared) and decodes GPT-2 byte-level pieces to
// bytes, so benchmarks see what the decoder will mask. It is a minimal GGUF
// reader for this benchmark only: astguard must not import model/.
func realVocab(tb testing.TB, name string) []string {
	tb.Helper()
	path := filepath.Join("..", "..", "shared", "fixtures", "vocab", name)
	f, err := os.Open(path)
	if err != nil {
		tb.Skipf("shared vocabulary not found at %s (it is only present in the project's workspace)", path)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var hdr struct {
		Magic   [4]byte
		Version uint32
		Tensors uint64
		KVs     uint64
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil || string(hdr.Magic[:]) != "GGUF" {
		tb.Fatalf("%s: not a GGUF file (%v)", name, err)
	}
	u32 := func() uint32 { var v uint32; binary.Read(r, binary.LittleEndian, &v); return v }
	u64 := func() uint64 { var v uint64; binary.Read(r, binary.LittleEndian, &v); return v }
	str := func() string {
		n := u64()
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			tb.Fatal(err)
		}
		return string(b)
	}
	sizes := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	var skip func(typ uint32)
	skip = func(typ uint32) {
		switch typ {
		case 8:
			str()
		case 9:
			et, n := u32(), u64()
			for i := uint64(0); i < n; i++ {
				skip(et)
			}
		default:
			if _, err := r.Discard(sizes[typ]); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for i := uint64(0); i < hdr.KVs; i++ {
		key, typ := str(), u32()
		if key != "tokenizer.ggml.tokens" || typ != 9 {
			skip(typ)
			continue
		}
		et, n := u32(), u64()
		if et != 8 {
			tb.Fatalf("tokens of type %d", et)
		}
		dec := gpt2ByteDecoder()
		out := make([]string, n)
		for j := range out {
			var b []byte
			for _, r := range str() {
				if c, ok := dec[r]; ok {
					b = append(b, c)
				} else {
					b = append(b, string(r)...)
				}
			}
			out[j] = string(b)
		}
		return out
	}
	tb.Fatal(fmt.Sprintf("%s: no tokenizer.ggml.tokens", name))
	return nil
}

// gpt2ByteDecoder maps GPT-2's printable stand-ins back to bytes.
func gpt2ByteDecoder() map[rune]byte {
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := 0xA1; b <= 0xAC; b++ {
		bs = append(bs, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		bs = append(bs, b)
	}
	in := map[int]bool{}
	for _, b := range bs {
		in[b] = true
	}
	dec := map[rune]byte{}
	for _, b := range bs {
		dec[rune(b)] = byte(b)
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !in[b] {
			dec[rune(256+n)] = byte(b)
			n++
		}
	}
	return dec
}

// BenchmarkMaskRealVocab masks deepseek-coder's 32,256-token vocabulary in
// the lexer state after two thirds of each sample: ns/token and µs/mask are
// the cost of one beam's lexical mask per decode step.
func BenchmarkMaskRealVocab(b *testing.B) {
	pieces := realVocab(b, "ggml-vocab-deepseek-coder.gguf")
	v := NewVocab(pieces)
	allowed := make([]bool, len(pieces))
	for _, lang := range []Language{Go, Python, JavaScript, Java, Cpp, Rust} {
		b.Run(string(lang), func(b *testing.B) {
			src := string(readSample(b, lang))
			l, _ := NewLexer(lang)
			l.Prime(src[:len(src)*2/3])
			m := startCPU(b)
			for i := 0; i < b.N; i++ {
				l.Mask(v, allowed)
			}
			m.report(b.N*len(pieces), "token")
			m.report(b.N, "mask")
			masked := 0
			for _, a := range allowed {
				if !a {
					masked++
				}
			}
			b.ReportMetric(float64(masked)/float64(len(pieces)), "masked-frac")
		})
	}
}

func TestRealVocabDecodes(t *testing.T) {
	pieces := realVocab(t, "ggml-vocab-deepseek-coder.gguf")
	if len(pieces) != 32256 {
		t.Fatalf("%d pieces, want 32,256", len(pieces))
	}
	found := false
	for _, p := range pieces {
		if p == " return" {
			found = true
		}
	}
	if !found {
		t.Error(`" return" not among the decoded pieces`)
	}
}
