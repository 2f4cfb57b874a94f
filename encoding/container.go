package encoding

import (
	"cmp"
	"slices"
)

// Generic helpers for Ceph's containers. Ceph encodes std::vector,
// std::list, std::set and std::map as a u32 count followed by the
// elements (a map's as key, value pairs in key order), and
// std::optional/boost::optional as a bool followed by the value if true.

// AppendSlice appends a vector of v, each element by enc.
func AppendSlice[T any](b []byte, v []T, enc func([]byte, T) []byte) []byte {
	b = AppendU32(b, uint32(len(v)))
	for _, x := range v {
		b = enc(b, x)
	}
	return b
}

// DecodeSlice reads a vector whose elements are at least minSize bytes
// each (checked against the input before allocating), each by dec.
func DecodeSlice[T any](d *Decoder, minSize int, dec func(*Decoder) T) []T {
	n := d.Len(minSize)
	if d.err != nil || n == 0 {
		return nil
	}
	v := make([]T, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		v = append(v, dec(d))
	}
	if d.err != nil {
		return nil
	}
	return v
}

// AppendMap appends a std::map in key order, as Ceph does.
func AppendMap[K cmp.Ordered, V any](b []byte, m map[K]V, encK func([]byte, K) []byte, encV func([]byte, V) []byte) []byte {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = AppendU32(b, uint32(len(keys)))
	for _, k := range keys {
		b = encK(b, k)
		b = encV(b, m[k])
	}
	return b
}

// DecodeMap reads a std::map whose entries are at least minSize bytes each.
func DecodeMap[K comparable, V any](d *Decoder, minSize int, decK func(*Decoder) K, decV func(*Decoder) V) map[K]V {
	n := d.Len(minSize)
	if d.err != nil {
		return nil
	}
	m := make(map[K]V, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := decK(d)
		m[k] = decV(d)
	}
	if d.err != nil {
		return nil
	}
	return m
}

// AppendOptional appends an optional: false, or true and the value.
func AppendOptional[T any](b []byte, v *T, enc func([]byte, T) []byte) []byte {
	if v == nil {
		return AppendBool(b, false)
	}
	return enc(AppendBool(b, true), *v)
}

// DecodeOptional reads an optional; nil when absent.
func DecodeOptional[T any](d *Decoder, dec func(*Decoder) T) *T {
	if !d.Bool() || d.err != nil {
		return nil
	}
	v := dec(d)
	if d.err != nil {
		return nil
	}
	return &v
}
