package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Value is one metadata value: a scalar or an array (possibly of arrays).
//
// Scalars are decoded: integers of every width in one int64 (unsigned 64-bit
// by bit pattern), floats in one float64. Arrays of scalars and strings keep
// their encoded bytes and decode on access: a vocabulary of 150,000 tokens
// is then one copy of what the file holds, and a hostile element count can
// never make the reader allocate more than the file's own size.
type Value struct {
	typ  ValueType
	elem ValueType // element type, for arrays

	i int64
	f float64
	s string
	b bool

	n    int     // array length
	raw  []byte  // encoded elements of a scalar or string array
	vals []Value // elements of an array of arrays
}

// Type is the value's type tag.
func (v Value) Type() ValueType { return v.typ }

// ElemType is the element type of an array value.
func (v Value) ElemType() ValueType { return v.elem }

// Len is the length of an array value, 0 for a scalar.
func (v Value) Len() int { return v.n }

// String returns a string value.
func (v Value) String() (string, bool) { return v.s, v.typ == TypeString }

// Int returns an integer value of any width. An unsigned 64-bit value above
// math.MaxInt64 does not fit and reports false.
func (v Value) Int() (int64, bool) {
	if !v.typ.isInt() || (v.typ == TypeUint64 && v.i < 0) {
		return 0, false
	}
	return v.i, true
}

// Uint returns a non-negative integer value of any width.
func (v Value) Uint() (uint64, bool) {
	if !v.typ.isInt() || (v.typ.signed() && v.i < 0) {
		return 0, false
	}
	return uint64(v.i), true
}

// Float returns a floating-point value; integers convert.
func (v Value) Float() (float64, bool) {
	switch {
	case v.typ == TypeFloat32 || v.typ == TypeFloat64:
		return v.f, true
	case v.typ == TypeUint64:
		return float64(uint64(v.i)), true
	case v.typ.isInt():
		return float64(v.i), true
	}
	return 0, false
}

// Bool returns a boolean value.
func (v Value) Bool() (bool, bool) { return v.b, v.typ == TypeBool }

// Strings decodes an array of strings.
func (v Value) Strings() ([]string, bool) {
	if v.typ != TypeArray || v.elem != TypeString {
		return nil, false
	}
	out := make([]string, v.n)
	p := v.raw
	for i := range out {
		l := binary.LittleEndian.Uint64(p) // lengths were validated when read or built
		out[i] = string(p[8 : 8+l])
		p = p[8+l:]
	}
	return out, true
}

// Int32s decodes an integer array as int32; false if an element does not fit.
func (v Value) Int32s() ([]int32, bool) {
	if v.typ != TypeArray || !v.elem.isInt() {
		return nil, false
	}
	out := make([]int32, v.n)
	for i := range out {
		x := v.index(i).i
		if x < math.MinInt32 || x > math.MaxInt32 || (v.elem == TypeUint64 && x < 0) {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}

// Float32s decodes a floating-point array as float32.
func (v Value) Float32s() ([]float32, bool) {
	if v.typ != TypeArray || (v.elem != TypeFloat32 && v.elem != TypeFloat64) {
		return nil, false
	}
	out := make([]float32, v.n)
	for i := range out {
		out[i] = float32(v.index(i).f)
	}
	return out, true
}

// Values returns the elements of an array of arrays.
func (v Value) Values() ([]Value, bool) {
	return v.vals, v.typ == TypeArray && v.elem == TypeArray
}

// Format renders the value for humans; long arrays are abbreviated.
func (v Value) Format() string {
	const show = 8 // array elements shown before "…"
	switch v.typ {
	case TypeString:
		return fmt.Sprintf("%q", v.s)
	case TypeBool:
		return fmt.Sprint(v.b)
	case TypeFloat32, TypeFloat64:
		return fmt.Sprint(v.f)
	case TypeUint64:
		return fmt.Sprint(uint64(v.i))
	case TypeArray:
		var parts []string
		if v.elem == TypeString {
			ss, _ := v.Strings()
			for i := 0; i < len(ss) && i < show; i++ {
				parts = append(parts, fmt.Sprintf("%q", ss[i]))
			}
		} else {
			for i := 0; i < v.n && i < show; i++ {
				parts = append(parts, v.index(i).Format())
			}
		}
		if v.n > show {
			parts = append(parts, fmt.Sprintf("… (%d %s)", v.n, v.elem))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v.i)
}

// index decodes element i of an array of scalars (or returns element i of
// an array of arrays). Not for string arrays.
func (v Value) index(i int) Value {
	if v.elem == TypeArray {
		return v.vals[i]
	}
	sz := v.elem.size()
	return decodeScalar(v.elem, v.raw[i*sz:(i+1)*sz])
}

// decodeScalar decodes a fixed-size scalar from exactly its encoded bytes.
func decodeScalar(t ValueType, p []byte) Value {
	v := Value{typ: t}
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		v.i = int64(p[0])
	case TypeInt8:
		v.i = int64(int8(p[0]))
	case TypeBool:
		v.b = p[0] != 0
	case TypeUint16:
		v.i = int64(le.Uint16(p))
	case TypeInt16:
		v.i = int64(int16(le.Uint16(p)))
	case TypeUint32:
		v.i = int64(le.Uint32(p))
	case TypeInt32:
		v.i = int64(int32(le.Uint32(p)))
	case TypeFloat32:
		v.f = float64(math.Float32frombits(le.Uint32(p)))
	case TypeUint64, TypeInt64:
		v.i = int64(le.Uint64(p))
	case TypeFloat64:
		v.f = math.Float64frombits(le.Uint64(p))
	}
	return v
}

// encodeScalar appends the encoding of scalar v.
func encodeScalar(dst []byte, v Value) []byte {
	le := binary.LittleEndian
	switch v.typ {
	case TypeUint8, TypeInt8:
		return append(dst, byte(v.i))
	case TypeBool:
		if v.b {
			return append(dst, 1)
		}
		return append(dst, 0)
	case TypeUint16, TypeInt16:
		return le.AppendUint16(dst, uint16(v.i))
	case TypeUint32, TypeInt32:
		return le.AppendUint32(dst, uint32(v.i))
	case TypeFloat32:
		return le.AppendUint32(dst, math.Float32bits(float32(v.f)))
	case TypeUint64, TypeInt64:
		return le.AppendUint64(dst, uint64(v.i))
	case TypeFloat64:
		return le.AppendUint64(dst, math.Float64bits(v.f))
	}
	panic("gguf: encodeScalar of " + v.typ.String()) // unreachable: constructors make only valid types
}

// Constructors, for the writer.

func StringValue(s string) Value   { return Value{typ: TypeString, s: s} }
func BoolValue(b bool) Value       { return Value{typ: TypeBool, b: b} }
func Uint8Value(x uint8) Value     { return Value{typ: TypeUint8, i: int64(x)} }
func Int8Value(x int8) Value       { return Value{typ: TypeInt8, i: int64(x)} }
func Uint16Value(x uint16) Value   { return Value{typ: TypeUint16, i: int64(x)} }
func Int16Value(x int16) Value     { return Value{typ: TypeInt16, i: int64(x)} }
func Uint32Value(x uint32) Value   { return Value{typ: TypeUint32, i: int64(x)} }
func Int32Value(x int32) Value     { return Value{typ: TypeInt32, i: int64(x)} }
func Uint64Value(x uint64) Value   { return Value{typ: TypeUint64, i: int64(x)} }
func Int64Value(x int64) Value     { return Value{typ: TypeInt64, i: x} }
func Float32Value(x float32) Value { return Value{typ: TypeFloat32, f: float64(x)} }
func Float64Value(x float64) Value { return Value{typ: TypeFloat64, f: x} }

// StringsValue makes an array of strings.
func StringsValue(ss []string) Value {
	v := Value{typ: TypeArray, elem: TypeString, n: len(ss)}
	for _, s := range ss {
		v.raw = binary.LittleEndian.AppendUint64(v.raw, uint64(len(s)))
		v.raw = append(v.raw, s...)
	}
	return v
}

// scalarArray makes an array of scalars of type t from their values.
func scalarArray[T any](t ValueType, xs []T, mk func(T) Value) Value {
	v := Value{typ: TypeArray, elem: t, n: len(xs), raw: make([]byte, 0, len(xs)*t.size())}
	for _, x := range xs {
		v.raw = encodeScalar(v.raw, mk(x))
	}
	return v
}

func Int32sValue(xs []int32) Value     { return scalarArray(TypeInt32, xs, Int32Value) }
func Uint32sValue(xs []uint32) Value   { return scalarArray(TypeUint32, xs, Uint32Value) }
func Float32sValue(xs []float32) Value { return scalarArray(TypeFloat32, xs, Float32Value) }
func BoolsValue(xs []bool) Value       { return scalarArray(TypeBool, xs, BoolValue) }

// ArrayValue makes an array of arrays: every element must be an array
// (each with its own element type), as GGUF has no tag per element;
// Writer.WriteTo refuses anything else.
func ArrayValue(vs []Value) Value {
	return Value{typ: TypeArray, elem: TypeArray, n: len(vs), vals: vs}
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}
