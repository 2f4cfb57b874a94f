package encoding

import (
	"encoding/binary"
	"math"
)

// AppendU8 appends v.
func AppendU8(b []byte, v uint8) []byte { return append(b, v) }

// AppendU16 appends v little-endian.
func AppendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }

// AppendU32 appends v little-endian.
func AppendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// AppendU64 appends v little-endian.
func AppendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// AppendI32 appends v little-endian.
func AppendI32(b []byte, v int32) []byte { return AppendU32(b, uint32(v)) }

// AppendI64 appends v little-endian.
func AppendI64(b []byte, v int64) []byte { return AppendU64(b, uint64(v)) }

// AppendF64 appends v as an IEEE-754 double, little-endian.
func AppendF64(b []byte, v float64) []byte { return AppendU64(b, math.Float64bits(v)) }

// AppendBool appends v as one byte, 0 or 1.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendString appends s with a u32 length prefix (Ceph's std::string).
func AppendString(b []byte, s string) []byte {
	b = AppendU32(b, uint32(len(s)))
	return append(b, s...)
}

// AppendBytes appends p with a u32 length prefix (a bufferlist or blob).
func AppendBytes(b []byte, p []byte) []byte {
	b = AppendU32(b, uint32(len(p)))
	return append(b, p...)
}

// AppendStringSlice appends a std::vector<std::string>.
func AppendStringSlice(b []byte, ss []string) []byte {
	b = AppendU32(b, uint32(len(ss)))
	for _, s := range ss {
		b = AppendString(b, s)
	}
	return b
}

// StructStart begins a versioned struct (ENCODE_START(v, compat, bl)): it
// appends struct_v, compat_v and a placeholder length, and returns the offset
// that StructEnd needs.
func StructStart(b []byte, v, compat uint8) ([]byte, int) {
	b = append(b, v, compat, 0, 0, 0, 0)
	return b, len(b)
}

// StructEnd patches the length of the struct started at start (the offset
// StructStart returned).
func StructEnd(b []byte, start int) []byte {
	binary.LittleEndian.PutUint32(b[start-4:start], uint32(len(b)-start))
	return b
}

// LenStart begins a u32-length-prefixed region (an embedded bufferlist) and
// returns the offset LenEnd needs.
func LenStart(b []byte) ([]byte, int) {
	b = append(b, 0, 0, 0, 0)
	return b, len(b)
}

// LenEnd patches the u32 length of the region begun at start.
func LenEnd(b []byte, start int) []byte {
	binary.LittleEndian.PutUint32(b[start-4:start], uint32(len(b)-start))
	return b
}
