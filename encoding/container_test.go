package encoding

import (
	"errors"
	"reflect"
	"testing"
)

func TestContainers(t *testing.T) {
	v := []uint64{1, 2, 3}
	m := map[string]int32{"b": 2, "a": -1}
	o := UTime{Sec: 5}
	b := AppendSlice(nil, v, AppendU64)
	b = AppendMap(b, m, AppendString, AppendI32)
	b = AppendOptional(b, &o, AppendUTime)
	b = AppendOptional[UTime](b, nil, AppendUTime)

	// Keys go out sorted, as std::map iterates.
	want := AppendU32(nil, 2)
	want = AppendI32(AppendString(want, "a"), -1)
	want = AppendI32(AppendString(want, "b"), 2)
	if off := 4 + 24; string(b[off:off+len(want)]) != string(want) {
		t.Fatalf("map bytes %x", b[off:off+len(want)])
	}

	d := NewDecoder(b)
	gv := DecodeSlice(d, 8, (*Decoder).U64)
	gm := DecodeMap(d, 8, (*Decoder).String, (*Decoder).I32)
	go1 := DecodeOptional(d, (*Decoder).UTime)
	go2 := DecodeOptional(d, (*Decoder).UTime)
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("%v, %d left", d.Err(), d.Remaining())
	}
	if !reflect.DeepEqual(gv, v) || !reflect.DeepEqual(gm, m) || go1 == nil || *go1 != o || go2 != nil {
		t.Fatalf("%v %v %v %v", gv, gm, go1, go2)
	}

	// A count larger than the input is refused before allocating.
	huge := AppendU32(nil, 1<<30)
	d = NewDecoder(huge)
	if DecodeSlice(d, 8, (*Decoder).U64) != nil || !errors.Is(d.Err(), ErrTooLarge) {
		t.Fatal(d.Err())
	}
	d = NewDecoder(huge)
	if DecodeMap(d, 5, (*Decoder).String, (*Decoder).U8) != nil || !errors.Is(d.Err(), ErrTooLarge) {
		t.Fatal(d.Err())
	}
	// Truncated elements.
	d = NewDecoder(b[:10])
	if DecodeSlice(d, 8, (*Decoder).U64) != nil || !errors.Is(d.Err(), ErrTooLarge) {
		t.Fatal(d.Err())
	}
	d = NewDecoder([]byte{1, 0})
	if DecodeOptional(d, (*Decoder).UTime) != nil || !errors.Is(d.Err(), ErrTruncated) {
		t.Fatal(d.Err())
	}
}
