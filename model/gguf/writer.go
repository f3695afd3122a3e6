package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Writer builds a GGUF file: metadata in insertion order, then tensor
// descriptions and aligned tensor data. It is used by tests, by
// `model synth` and by the quantizer; everything it writes reads back
// identically through Parse.
type Writer struct {
	Version   uint32 // 3 unless set
	Alignment uint64 // DefaultAlignment unless set (or general.alignment is added)

	kvs     []KV
	keys    map[string]bool
	tensors []wtensor
	names   map[string]bool
}

type wtensor struct {
	info TensorInfo
	data []byte
}

// NewWriter returns an empty writer for GGUF v3.
func NewWriter() *Writer {
	return &Writer{Version: 3, Alignment: DefaultAlignment, keys: map[string]bool{}, names: map[string]bool{}}
}

// AddKV appends a metadata entry; a repeated key replaces the earlier value
// in place, so copying a file's metadata and then overriding works.
func (w *Writer) AddKV(key string, v Value) {
	if key == "general.alignment" {
		// The data is laid out by the alignment the file declares, also
		// when an override declares another one.
		if a, ok := v.Uint(); ok {
			w.Alignment = a
		}
	}
	if w.keys[key] {
		for i := range w.kvs {
			if w.kvs[i].Key == key {
				w.kvs[i].Value = v
			}
		}
		return
	}
	w.keys[key] = true
	w.kvs = append(w.kvs, KV{key, v})
}

// AddTensor appends a tensor. data must hold exactly the tensor's encoded
// bytes; it is referenced, not copied, until the file is written.
func (w *Writer) AddTensor(name string, typ TensorType, dims []uint64, data []byte) error {
	if w.names[name] {
		return fmt.Errorf("gguf: duplicate tensor %q", name)
	}
	if len(dims) == 0 || len(dims) > maxDims {
		return fmt.Errorf("gguf: tensor %q: %d dimensions (1 to %d are allowed)", name, len(dims), maxDims)
	}
	n := uint64(1)
	for _, d := range dims {
		if d == 0 {
			return fmt.Errorf("gguf: tensor %q: zero dimension", name)
		}
		n *= d
	}
	row, err := typ.RowBytes(dims[0])
	if err != nil {
		return fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	if size := row * (n / dims[0]); uint64(len(data)) != size {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, %s %v needs %d", name, len(data), typ, dims, size)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, wtensor{TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: typ, Size: uint64(len(data))}, data})
	return nil
}

// WriteTo writes the file.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if w.Alignment == 0 || w.Alignment&(w.Alignment-1) != 0 {
		return 0, fmt.Errorf("gguf: alignment %d is not a power of two", w.Alignment)
	}
	for _, kv := range w.kvs {
		if vals, ok := kv.Value.Values(); ok {
			for _, e := range vals {
				if e.typ != TypeArray {
					return 0, fmt.Errorf("gguf: metadata %s: an array of arrays holds a %s", kv.Key, e.typ)
				}
			}
		}
	}
	le := binary.LittleEndian
	var hdr []byte
	hdr = le.AppendUint32(hdr, Magic)
	hdr = le.AppendUint32(hdr, w.Version)
	hdr = le.AppendUint64(hdr, uint64(len(w.tensors)))
	hdr = le.AppendUint64(hdr, uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		hdr = appendString(hdr, kv.Key)
		hdr = le.AppendUint32(hdr, uint32(kv.Value.typ))
		hdr = appendValue(hdr, kv.Value)
	}
	var off uint64
	for i := range w.tensors {
		t := &w.tensors[i].info
		t.Offset = off
		hdr = appendString(hdr, t.Name)
		hdr = le.AppendUint32(hdr, uint32(len(t.Dims)))
		for _, d := range t.Dims {
			hdr = le.AppendUint64(hdr, d)
		}
		hdr = le.AppendUint32(hdr, uint32(t.Type))
		hdr = le.AppendUint64(hdr, t.Offset)
		off = alignUp(off+t.Size, w.Alignment)
	}
	if len(w.tensors) > 0 {
		hdr = append(hdr, make([]byte, alignUp(uint64(len(hdr)), w.Alignment)-uint64(len(hdr)))...)
	}
	n, err := out.Write(hdr)
	total := int64(n)
	if err != nil {
		return total, err
	}
	for _, t := range w.tensors {
		pad := alignUp(t.info.Size, w.Alignment) - t.info.Size
		for _, p := range [][]byte{t.data, make([]byte, pad)} {
			n, err := out.Write(p)
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// WriteFile writes the file to path atomically: to a temporary file beside
// it, renamed into place only when complete, so a crash never leaves a
// truncated model where a good one is expected.
func (w *Writer) WriteFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if _, err := w.WriteTo(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil { // on disk before the rename makes it the model
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v Value) []byte {
	switch v.typ {
	case TypeString:
		return appendString(b, v.s)
	case TypeArray:
		b = binary.LittleEndian.AppendUint32(b, uint32(v.elem))
		b = binary.LittleEndian.AppendUint64(b, uint64(v.n))
		if v.elem != TypeArray {
			return append(b, v.raw...)
		}
		for _, e := range v.vals {
			b = appendValue(b, e) // an array: its own element type and length, no tag (gguf-py's layout)
		}
		return b
	}
	return encodeScalar(b, v)
}
