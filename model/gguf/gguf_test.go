package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sharedDir returns ../shared/fixtures/DIR, skipping the test where the
// shared data is not present.
func sharedDir(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "fixtures", dir)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared fixtures not found at %s (they live beside the repo): %v", p, err)
	}
	return p
}

// sample builds a small file that uses every value type, a nested array and
// tensors of several types.
func sample(t testing.TB) *Writer {
	t.Helper()
	w := NewWriter()
	w.AddKV("general.architecture", StringValue("llama"))
	w.AddKV("u8", Uint8Value(200))
	w.AddKV("i8", Int8Value(-100))
	w.AddKV("u16", Uint16Value(60000))
	w.AddKV("i16", Int16Value(-30000))
	w.AddKV("u32", Uint32Value(4000000000))
	w.AddKV("i32", Int32Value(-2000000000))
	w.AddKV("f32", Float32Value(1.5))
	w.AddKV("bool", BoolValue(true))
	w.AddKV("str", StringValue("héllo\x00world"))
	w.AddKV("u64", Uint64Value(1<<63+5))
	w.AddKV("i64", Int64Value(-1<<62))
	w.AddKV("f64", Float64Value(-2.25))
	w.AddKV("strs", StringsValue([]string{"a", "", "ĠĠ", "<｜fim▁hole｜>"}))
	w.AddKV("i32s", Int32sValue([]int32{1, -2, 3}))
	w.AddKV("f32s", Float32sValue([]float32{0.5, -1}))
	w.AddKV("bools", BoolsValue([]bool{true, false}))
	w.AddKV("nested", ArrayValue([]Value{Int32sValue([]int32{7}), StringsValue([]string{"x"})}))
	f32 := make([]byte, 4*8*2)
	for i := range f32 {
		f32[i] = byte(i)
	}
	for _, tt := range []struct {
		name string
		typ  TensorType
		dims []uint64
		data []byte
	}{
		{"a.weight", F32, []uint64{8, 2}, f32},
		{"b.weight", Q8_0, []uint64{64, 1, 1}, bytes.Repeat([]byte{1}, 2*34)},
		{"c.weight", Q4_K, []uint64{256}, bytes.Repeat([]byte{2}, 144)},
	} {
		if err := w.AddTensor(tt.name, tt.typ, tt.dims, tt.data); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func encode(t testing.TB, w *Writer) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripEveryType(t *testing.T) {
	data := encode(t, sample(t))
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key  string
		got  func(Value) (any, bool)
		want any
	}{
		{"u8", func(v Value) (any, bool) { return v.Uint() }, uint64(200)},
		{"i8", func(v Value) (any, bool) { return v.Int() }, int64(-100)},
		{"u16", func(v Value) (any, bool) { return v.Uint() }, uint64(60000)},
		{"i16", func(v Value) (any, bool) { return v.Int() }, int64(-30000)},
		{"u32", func(v Value) (any, bool) { return v.Uint() }, uint64(4000000000)},
		{"i32", func(v Value) (any, bool) { return v.Int() }, int64(-2000000000)},
		{"f32", func(v Value) (any, bool) { return v.Float() }, 1.5},
		{"bool", func(v Value) (any, bool) { return v.Bool() }, true},
		{"str", func(v Value) (any, bool) { return v.String() }, "héllo\x00world"},
		{"u64", func(v Value) (any, bool) { return v.Uint() }, uint64(1<<63 + 5)},
		{"i64", func(v Value) (any, bool) { return v.Int() }, int64(-1 << 62)},
		{"f64", func(v Value) (any, bool) { return v.Float() }, -2.25},
		{"strs", func(v Value) (any, bool) { return v.Strings() }, []string{"a", "", "ĠĠ", "<｜fim▁hole｜>"}},
		{"i32s", func(v Value) (any, bool) { return v.Int32s() }, []int32{1, -2, 3}},
		{"f32s", func(v Value) (any, bool) { return v.Float32s() }, []float32{0.5, -1}},
	}
	for _, c := range checks {
		v, ok := f.Get(c.key)
		if !ok {
			t.Errorf("%s: missing", c.key)
			continue
		}
		got, ok := c.got(v)
		if !ok {
			t.Errorf("%s: accessor refused a %s", c.key, v.Type())
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", c.key, diff)
		}
	}
	if _, ok := f.Get("u64"); ok {
		if v, _ := f.Get("u64"); func() bool { _, ok := v.Int(); return ok }() {
			t.Error("u64 above MaxInt64 must not convert to int64")
		}
	}
	nested, _ := f.Get("nested")
	vs, ok := nested.Values()
	if !ok || len(vs) != 2 {
		t.Fatalf("nested array: %v", nested.Format())
	}
	if s, _ := vs[1].Strings(); !cmp.Equal(s, []string{"x"}) {
		t.Errorf("nested strings = %v", s)
	}
	if f.Arch() != "llama" {
		t.Errorf("Arch = %q", f.Arch())
	}
	for _, name := range []string{"a.weight", "b.weight", "c.weight"} {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("tensor %s missing", name)
		}
		if ti.Offset%f.Alignment != 0 || (f.DataOffset+ti.Offset)%32 != 0 {
			t.Errorf("%s at %d+%d: not aligned", name, f.DataOffset, ti.Offset)
		}
	}
	a, _ := f.Tensor("a.weight")
	if got := f.TensorData(a); got[5] != 5 || len(got) != 64 {
		t.Errorf("a.weight data = %v", got[:8])
	}
	if c, _ := f.Tensor("c.weight"); c.Size != 144 || c.Elements() != 256 {
		t.Errorf("c.weight size %d elements %d", c.Size, c.Elements())
	}
	// Writing the parsed file again gives the same bytes.
	if again := encode(t, rewrite(t, f)); !bytes.Equal(again, data) {
		t.Error("re-encoding a parsed file changed its bytes")
	}
}

// rewrite copies a parsed file into a new writer.
func rewrite(t testing.TB, f *File) *Writer {
	t.Helper()
	w := NewWriter()
	w.Version = f.Version
	for _, kv := range f.KVs {
		w.AddKV(kv.Key, kv.Value)
	}
	w.Alignment = f.Alignment
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, f.TensorData(ti)); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// TestFixtures opens every shared model and vocabulary and writes each back
// byte for byte: the writer lays out files exactly as llama.cpp's gguf-py.
func TestFixtures(t *testing.T) {
	for _, dir := range []string{"models", "vocab"} {
		paths, _ := filepath.Glob(filepath.Join(sharedDir(t, dir), "*.gguf"))
		if len(paths) == 0 {
			t.Fatalf("no GGUF files in %s", dir)
		}
		for _, p := range paths {
			t.Run(filepath.Base(p), func(t *testing.T) {
				f, err := Open(p)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if f.Arch() == "" {
					t.Error("no general.architecture")
				}
				toks, _ := f.Get("tokenizer.ggml.tokens")
				if toks.Len() == 0 {
					t.Error("no tokenizer.ggml.tokens")
				}
				var sum uint64
				for _, ti := range f.Tensors {
					sum += ti.Size
				}
				if len(f.Tensors) > 0 && f.DataOffset+sum > uint64(f.Size()) {
					t.Errorf("tensor bytes %d past the end of the file", sum)
				}
				orig, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := encode(t, rewrite(t, f)); !bytes.Equal(got, orig) {
					t.Errorf("rewritten file differs from the original (%d vs %d bytes)", len(got), len(orig))
				}
			})
		}
	}
}

func TestTruncatedAtEveryOffset(t *testing.T) {
	data := encode(t, sample(t))
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	last := f.Tensors[len(f.Tensors)-1]
	end := int(f.DataOffset + last.Offset + last.Size) // only alignment padding follows
	for n := 0; n < end; n++ {
		if _, err := Parse(data[:n]); err == nil {
			t.Fatalf("file cut at %d of %d bytes parsed without error", n, end)
		}
	}
}

// le64/le32 patch a little-endian field of a copy of data.
func patch(data []byte, at int, v uint64, size int) []byte {
	out := append([]byte(nil), data...)
	if size == 4 {
		binary.LittleEndian.PutUint32(out[at:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(out[at:], v)
	}
	return out
}

func TestMalformed(t *testing.T) {
	w := NewWriter()
	w.AddKV("general.architecture", StringValue("llama"))
	w.AddKV("tokens", StringsValue([]string{"a", "b"}))
	if err := w.AddTensor("w", F32, []uint64{4}, make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	good := encode(t, w)
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	// Layout of good: magic 0, version 4, n_tensors 8, n_kv 16,
	// kv0 key len 24, key 32.."general.architecture"(20) -> type at 52,
	// value len 56, "llama" 64..69; kv1 key len 69, "tokens" 77..83, type 83,
	// elem type 87, count 91, ...
	kv1Count := 91
	tensorStart := bytes.Index(good, []byte("\x01\x00\x00\x00\x00\x00\x00\x00w")) // name length 1, "w"
	nDims := tensorStart + 9
	dim0 := nDims + 4
	ttype := dim0 + 8
	toff := ttype + 4

	dupKey := NewWriter()
	dupKey.kvs = []KV{{"a", Uint32Value(1)}, {"a", Uint32Value(2)}}
	nested := NewWriter()
	v := Int32sValue([]int32{1})
	for i := 0; i < 6; i++ {
		v = ArrayValue([]Value{v})
	}
	nested.AddKV("deep", v)
	badAlign := NewWriter()
	badAlign.kvs = []KV{{"general.alignment", Uint32Value(24)}}

	cases := []struct {
		name  string
		data  []byte
		field string // expected in the message
	}{
		{"empty", nil, "magic"},
		{"not gguf", []byte("PK\x03\x04 this is a zip file, not a model"), "magic"},
		{"version 1", patch(good, 4, 1, 4), "version"},
		{"version 9", patch(good, 4, 9, 4), "version"},
		{"huge tensor count", patch(good, 8, 1<<60, 8), "tensor_count"},
		{"huge kv count", patch(good, 16, 1<<62, 8), "metadata_kv_count"},
		{"huge key length", patch(good, 24, 1<<40, 8), "metadata[0].key"},
		{"unknown value type", patch(good, 52, 99, 4), "unknown value type"},
		{"huge string length", patch(good, 56, 1<<50, 8), "general.architecture"},
		{"huge array count", patch(good, kv1Count, 1<<61, 8), "tokens"},
		{"unknown element type", patch(good, kv1Count-4, 77, 4), "element type"},
		{"zero dims", patch(good, nDims, 0, 4), "n_dims"},
		{"five dims", patch(good, nDims, 5, 4), "n_dims"},
		{"zero dimension", patch(good, dim0, 0, 8), "dims"},
		{"overflowing dimension", patch(good, dim0, 1<<63, 8), "dims"},
		{"unknown tensor type", patch(good, ttype, 4, 4), "unknown tensor type"},
		{"block size", patch(patch(good, ttype, uint64(Q8_0), 4), dim0, 16, 8), "block size"},
		{"misaligned offset", patch(good, toff, 3, 8), "alignment"},
		{"offset past end", patch(good, toff, 1<<40, 8), "outside"},
		{"duplicate key", encode(t, dupKey), "duplicate key"},
		{"nested too deep", encode(t, nested), "nested"},
		{"bad alignment", encode(t, badAlign), "general.alignment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data)
			if err == nil {
				t.Fatal("parsed without error")
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %q", err, c.field)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.gguf")
	os.WriteFile(short, []byte("GGUF"), 0o644)
	notGGUF := filepath.Join(dir, "README.gguf")
	os.WriteFile(notGGUF, bytes.Repeat([]byte("text "), 20), 0o644)
	for _, p := range []string{filepath.Join(dir, "missing.gguf"), dir, short, notGGUF} {
		if f, err := Open(p); err == nil {
			f.Close()
			t.Errorf("Open(%s) succeeded", p)
		} else if !strings.Contains(err.Error(), filepath.Base(p)) {
			t.Errorf("Open(%s): error %q does not name the file", p, err)
		}
	}
}

func TestWriterRejects(t *testing.T) {
	w := NewWriter()
	if err := w.AddTensor("x", Q4_0, []uint64{31}, make([]byte, 18)); err == nil {
		t.Error("row not a multiple of the block size accepted")
	}
	if err := w.AddTensor("x", F16, []uint64{4}, make([]byte, 7)); err == nil {
		t.Error("wrong data size accepted")
	}
	if err := w.AddTensor("x", F16, []uint64{4}, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("x", F16, []uint64{4}, make([]byte, 8)); err == nil {
		t.Error("duplicate tensor accepted")
	}
}

// Nested arrays are laid out as gguf-py writes them: the outer array's
// element type is "array", and each element is its element type, length
// and values, with no tag of its own.
func TestNestedArrayLayout(t *testing.T) {
	w := NewWriter()
	w.AddKV("n", ArrayValue([]Value{Int32sValue([]int32{7}), StringsValue([]string{"x"})}))
	b := encode(t, w)
	le := binary.LittleEndian
	var want []byte
	want = le.AppendUint32(want, uint32(TypeArray)) // the value's type
	want = le.AppendUint32(want, uint32(TypeArray)) // its elements'
	want = le.AppendUint64(want, 2)
	want = le.AppendUint32(want, uint32(TypeInt32))
	want = le.AppendUint64(want, 1)
	want = le.AppendUint32(want, 7)
	want = le.AppendUint32(want, uint32(TypeString))
	want = le.AppendUint64(want, 1)
	want = le.AppendUint64(want, 1)
	want = append(want, 'x')
	if !bytes.HasSuffix(b, want) {
		t.Errorf("encoded %x, want it to end with %x", b, want)
	}
	w.AddKV("bad", ArrayValue([]Value{Int32Value(1)}))
	if _, err := w.WriteTo(io.Discard); err == nil {
		t.Error("an array of arrays holding a scalar was written")
	}
}

// Overriding general.alignment lays the data out by the new value, the
// one the file declares.
func TestAlignmentOverride(t *testing.T) {
	w := sample(t)
	w.AddKV("general.alignment", Uint32Value(64))
	w.AddKV("general.alignment", Uint32Value(128))
	f, err := Parse(encode(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if f.Alignment != 128 {
		t.Fatalf("alignment %d", f.Alignment)
	}
	for _, ti := range f.Tensors {
		if ti.Offset%128 != 0 {
			t.Errorf("%s at offset %d, not aligned to 128", ti.Name, ti.Offset)
		}
	}
	if d := f.TensorData(&f.Tensors[1]); !bytes.Equal(d, bytes.Repeat([]byte{1}, 2*34)) {
		t.Errorf("tensor data after the override: %x", d)
	}
}

// A header claiming many entries cannot make the reader allocate far more
// than the file holds before it finds the entries are not there.
func TestCountsDoNotPreallocate(t *testing.T) {
	b := make([]byte, 2<<20)
	le := binary.LittleEndian
	le.PutUint32(b, Magic)
	le.PutUint32(b[4:], 3)
	le.PutUint64(b[8:], 0)
	le.PutUint64(b[16:], uint64(len(b)-24)/12) // as many as could fit
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	_, err := Parse(b)
	runtime.ReadMemStats(&m1)
	if err == nil {
		t.Fatal("zeros parsed as metadata")
	}
	if got := m1.TotalAlloc - m0.TotalAlloc; got > uint64(len(b)) {
		t.Errorf("parsing a %d-byte header allocated %d bytes", len(b), got)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.gguf")
	if err := sample(t).WriteFile(p); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Tensors) != 3 {
		t.Errorf("%d tensors", len(f.Tensors))
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestTensorTypes(t *testing.T) {
	for _, c := range []struct {
		typ   TensorType
		n     uint64
		bytes uint64
	}{{F32, 10, 40}, {F16, 10, 20}, {BF16, 4, 8}, {Q8_0, 64, 68}, {Q4_0, 32, 18}, {Q4_1, 32, 20},
		{Q5_0, 32, 22}, {Q5_1, 32, 24}, {Q4_K, 512, 288}, {Q5_K, 256, 176}, {Q6_K, 256, 210}} {
		got, err := c.typ.RowBytes(c.n)
		if err != nil || got != c.bytes {
			t.Errorf("%s.RowBytes(%d) = %d, %v; want %d", c.typ, c.n, got, err, c.bytes)
		}
		if p, ok := ParseTensorType(strings.ToUpper(c.typ.String())); !ok || p != c.typ {
			t.Errorf("ParseTensorType(%s) = %v, %v", c.typ, p, ok)
		}
	}
	if _, err := TensorType(5).RowBytes(32); err == nil {
		t.Error("removed type 5 sized without error")
	}
}

// FuzzParse feeds arbitrary bytes to the parser: it must never panic, and
// whatever it accepts must lie inside the file and survive a rewrite.
func FuzzParse(f *testing.F) {
	f.Add(encode(f, sample(f)))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for i := range file.Tensors {
			ti := &file.Tensors[i]
			if got := file.TensorData(ti); uint64(len(got)) != ti.Size {
				t.Fatalf("tensor %s: %d bytes, want %d", ti.Name, len(got), ti.Size)
			}
		}
		for _, kv := range file.KVs {
			kv.Value.Format()
			kv.Value.Strings()
			kv.Value.Int32s()
			kv.Value.Float32s()
		}
		again, err := Parse(encode(t, rewrite(t, file)))
		if err != nil {
			t.Fatalf("a file that parsed does not parse after a rewrite: %v", err)
		}
		if len(again.KVs) != len(file.KVs) || len(again.Tensors) != len(file.Tensors) {
			t.Fatal("rewrite changed the number of entries")
		}
	})
}

// TestVersion2 reads a v2 file: v2 and v3 share the little-endian layout
// (v3 added big-endian files, which llama.cpp marks by byte order alone).
func TestVersion2(t *testing.T) {
	w := sample(t)
	w.Version = 2
	f, err := Parse(encode(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 || len(f.Tensors) != 3 || f.Arch() != "llama" {
		t.Errorf("v2 file: version %d, %d tensors, arch %q", f.Version, len(f.Tensors), f.Arch())
	}
}
