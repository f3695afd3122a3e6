package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// Magic is "GGUF" read as a little-endian uint32.
const Magic = 0x46554747

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// Limits that keep a hostile header from making the reader do unbounded
// work. They are far above anything a real model uses.
const (
	maxDims       = 4         // GGML_MAX_DIMS
	maxArrayDepth = 4         // llama.cpp itself accepts no nested arrays at all
	maxKeyLen     = 1 << 16   // keys are short dotted names
	maxAlignment  = 1 << 20   // alignments are small powers of two
	maxNameLen    = 1 << 16   // GGML_MAX_NAME is 64; be lenient
	valueHdrBytes = 8 + 4 + 0 // shortest key/value: empty key + type tag
	tensorMin     = 8 + 4 + 4 + 8
	maxPrealloc   = 1024 // entries allocated ahead of parsing them
)

// File is a parsed GGUF file.
type File struct {
	Version    uint32
	KVs        []KV         // in file order
	Tensors    []TensorInfo // in file order
	Alignment  uint64
	DataOffset uint64 // absolute offset of the tensor data section

	data    []byte // the whole file (mapped or in memory)
	kv      map[string]int
	tensors map[string]int
	unmap   func() error
}

// Open memory-maps the file at path read-only and parses it. Tensor data
// stays in the mapping until Close.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() < 24 {
		return nil, fmt.Errorf("%s: %w", path, &FormatError{"header", 0, fmt.Sprintf("file of %d bytes is too short to be GGUF", st.Size())})
	}
	data, unmap, err := mapFile(fh, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: map: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.unmap = unmap
	return f, nil
}

// Close releases the mapping. Slices from TensorData are invalid after it.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data = nil, nil
	return err
}

// Parse parses a GGUF file held in memory. The File refers to data for
// tensor contents; data must not change while the File is in use.
func Parse(data []byte) (*File, error) {
	r := &reader{data: data}
	if r.u32("magic") != Magic {
		if r.err == nil {
			return nil, &FormatError{"magic", 0, fmt.Sprintf("%q is not GGUF", data[:4])}
		}
		return nil, r.err
	}
	f := &File{data: data, kv: map[string]int{}, tensors: map[string]int{}}
	f.Version = r.u32("version")
	if r.err == nil && f.Version != 2 && f.Version != 3 {
		return nil, &FormatError{"version", 4, fmt.Sprintf("version %d is not supported (2 and 3 are)", f.Version)}
	}
	nTensors := r.count("tensor_count", tensorMin)
	nKV := r.count("metadata_kv_count", valueHdrBytes)
	if r.err != nil {
		return nil, r.err
	}

	// Counts are checked against the bytes left, but an entry in memory is
	// ~10× its smallest encoding: capacities are capped, and append grows
	// them as entries actually parse (the file must not be able to make
	// us allocate more than it holds).
	f.KVs = make([]KV, 0, min(nKV, maxPrealloc))
	for i := uint64(0); i < nKV && r.err == nil; i++ {
		at := r.pos
		key := r.str(fmt.Sprintf("metadata[%d].key", i), maxKeyLen)
		field := "metadata " + key
		typ := ValueType(r.u32(field + " type"))
		v := r.value(field, typ, 0)
		if r.err != nil {
			break
		}
		if _, dup := f.kv[key]; dup {
			return nil, &FormatError{field, at, "duplicate key"}
		}
		f.kv[key] = len(f.KVs)
		f.KVs = append(f.KVs, KV{key, v})
	}
	if r.err != nil {
		return nil, r.err
	}

	f.Alignment = DefaultAlignment
	if v, ok := f.Get("general.alignment"); ok {
		a, ok := v.Uint()
		if !ok || a == 0 || a > maxAlignment || a&(a-1) != 0 {
			return nil, &FormatError{"metadata general.alignment", 0, fmt.Sprintf("%s is not a power of two up to %d", v.Format(), maxAlignment)}
		}
		f.Alignment = a
	}

	f.Tensors = make([]TensorInfo, 0, min(nTensors, maxPrealloc))
	offsets := make([]int64, 0, min(nTensors, maxPrealloc))
	for i := uint64(0); i < nTensors && r.err == nil; i++ {
		at := r.pos
		t := r.tensorInfo(i)
		if r.err != nil {
			break
		}
		if _, dup := f.tensors[t.Name]; dup {
			return nil, &FormatError{"tensor " + t.Name, at, "duplicate tensor name"}
		}
		f.tensors[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
		offsets = append(offsets, at)
	}
	if r.err != nil {
		return nil, r.err
	}

	f.DataOffset = alignUp(uint64(r.pos), f.Alignment)
	if len(f.Tensors) > 0 && f.DataOffset > uint64(len(data)) {
		return nil, &FormatError{"tensor data", r.pos, "file ends before the data section"}
	}
	avail := uint64(len(data)) - min(f.DataOffset, uint64(len(data)))
	for i, t := range f.Tensors {
		field := "tensor " + t.Name
		if t.Offset%f.Alignment != 0 {
			return nil, &FormatError{field + " offset", offsets[i], fmt.Sprintf("offset %d is not a multiple of the alignment %d", t.Offset, f.Alignment)}
		}
		if t.Offset > avail || t.Size > avail-t.Offset {
			return nil, &FormatError{field + " offset", offsets[i], fmt.Sprintf("data [%d, +%d) lies outside the %d bytes of tensor data", t.Offset, t.Size, avail)}
		}
	}
	return f, nil
}

// Get returns the metadata value of key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.kv[key]
	if !ok {
		return Value{}, false
	}
	return f.KVs[i].Value, true
}

// String returns the string value of key.
func (f *File) String(key string) (string, bool) {
	v, ok := f.Get(key)
	if !ok {
		return "", false
	}
	return v.String()
}

// Uint returns the non-negative integer value of key.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.Uint()
}

// Float returns the numeric value of key as float64.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// Bool returns the boolean value of key.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Get(key)
	if !ok {
		return false, false
	}
	return v.Bool()
}

// Arch is general.architecture, "" if absent.
func (f *File) Arch() string { s, _ := f.String("general.architecture"); return s }

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensors[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the tensor's bytes, a zero-copy view of the file.
func (f *File) TensorData(t *TensorInfo) []byte {
	start := f.DataOffset + t.Offset
	return f.data[start : start+t.Size : start+t.Size]
}

// Size is the size of the file in bytes.
func (f *File) Size() int64 { return int64(len(f.data)) }

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }

// reader decodes little-endian fields and records the first error; after an
// error every read returns zero values, so callers check once per phase.
type reader struct {
	data []byte
	pos  int64
	err  error
}

func (r *reader) fail(field string, at int64, format string, args ...any) {
	if r.err == nil {
		r.err = &FormatError{field, at, fmt.Sprintf(format, args...)}
	}
}

func (r *reader) left() uint64 { return uint64(int64(len(r.data)) - r.pos) }

// take returns the next n bytes or fails naming field.
func (r *reader) take(field string, n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > r.left() {
		r.fail(field, r.pos, "needs %d bytes, %d remain in the file", n, r.left())
		return nil
	}
	p := r.data[r.pos : r.pos+int64(n)]
	r.pos += int64(n)
	return p
}

func (r *reader) u32(field string) uint32 {
	p := r.take(field, 4)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(p)
}

func (r *reader) u64(field string) uint64 {
	p := r.take(field, 8)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}

// count reads an element count and checks that the rest of the file could
// hold that many elements of at least minBytes each.
func (r *reader) count(field string, minBytes uint64) uint64 {
	at := r.pos
	n := r.u64(field)
	if r.err == nil && n > r.left()/minBytes {
		r.fail(field, at, "count %d cannot fit in the %d bytes that remain", n, r.left())
		return 0
	}
	return n
}

func (r *reader) str(field string, maxLen uint64) string {
	at := r.pos
	n := r.u64(field + " length")
	if r.err == nil && n > maxLen {
		r.fail(field, at, "length %d exceeds the limit of %d", n, maxLen)
		return ""
	}
	return string(r.take(field, n))
}

func (r *reader) value(field string, typ ValueType, depth int) Value {
	at := r.pos
	switch {
	case typ == TypeString:
		return Value{typ: TypeString, s: r.str(field, math.MaxUint64)}
	case typ.size() > 0:
		p := r.take(field, uint64(typ.size()))
		if p == nil {
			return Value{}
		}
		v := decodeScalar(typ, p)
		if typ == TypeBool && p[0] > 1 {
			r.fail(field, at, "bool byte %d is neither 0 nor 1", p[0])
		}
		return v
	case typ == TypeArray:
		if depth >= maxArrayDepth {
			r.fail(field, at, "arrays nested deeper than %d", maxArrayDepth)
			return Value{}
		}
		elem := ValueType(r.u32(field + " element type"))
		v := Value{typ: TypeArray, elem: elem}
		switch {
		case elem.size() > 0:
			n := r.count(field+" length", uint64(elem.size()))
			v.n = int(n)
			v.raw = append([]byte(nil), r.take(field, n*uint64(elem.size()))...)
			if elem == TypeBool {
				for i, b := range v.raw {
					if b > 1 {
						r.fail(field, at, "element %d: bool byte %d is neither 0 nor 1", i, b)
					}
				}
			}
		case elem == TypeString:
			n := r.count(field+" length", 8)
			start := r.pos
			for i := uint64(0); i < n && r.err == nil; i++ {
				l := r.u64(field + " element length")
				r.take(field+" element", l)
			}
			v.n = int(n)
			if r.err == nil {
				v.raw = append([]byte(nil), r.data[start:r.pos]...)
			}
		case elem == TypeArray:
			n := r.count(field+" length", 12)
			v.n = int(n)
			v.vals = make([]Value, 0, min(n, maxPrealloc))
			for i := uint64(0); i < n && r.err == nil; i++ {
				// Each element is an array: its element type, length and
				// values, with no tag of its own (gguf-py's layout).
				v.vals = append(v.vals, r.value(field, TypeArray, depth+1))
			}
		default:
			if r.err == nil {
				r.fail(field, at+4, "unknown array element type %d", uint32(elem))
			}
		}
		return v
	}
	if r.err == nil {
		r.fail(field, at-4, "unknown value type %d", uint32(typ))
	}
	return Value{}
}

// tensorInfo reads and validates one tensor description.
func (r *reader) tensorInfo(i uint64) TensorInfo {
	var t TensorInfo
	t.Name = r.str(fmt.Sprintf("tensor[%d].name", i), maxNameLen)
	field := "tensor " + t.Name
	at := r.pos
	nd := r.u32(field + " n_dims")
	if r.err == nil && (nd == 0 || nd > maxDims) {
		r.fail(field+" n_dims", at, "%d dimensions (1 to %d are allowed)", nd, maxDims)
	}
	n := uint64(1)
	for d := uint32(0); d < nd && r.err == nil; d++ {
		at := r.pos
		x := r.u64(field + " dims")
		if r.err != nil {
			break
		}
		if x == 0 || x > maxSize || n > maxSize/x {
			r.fail(field+" dims", at, "dimension %d is %d: zero or the element count overflows", d, x)
			break
		}
		n *= x
		t.Dims = append(t.Dims, x)
	}
	at = r.pos
	t.Type = TensorType(r.u32(field + " type"))
	if r.err == nil && !t.Type.Known() {
		r.fail(field+" type", at, "unknown tensor type %d", uint32(t.Type))
	}
	t.Offset = r.u64(field + " offset")
	if r.err != nil {
		return t
	}
	if bs := uint64(t.Type.BlockSize()); t.Dims[0]%bs != 0 {
		r.fail(field+" dims", at, "row of %d elements is not a multiple of %s's block size %d", t.Dims[0], t.Type, bs)
		return t
	}
	row, err := t.Type.RowBytes(t.Dims[0])
	if err != nil {
		r.fail(field+" dims", at, "%v", err)
		return t
	}
	if rows := n / t.Dims[0]; rows > maxSize/row {
		r.fail(field+" dims", at, "tensor size overflows")
		return t
	}
	t.Size = row * (n / t.Dims[0])
	return t
}
