package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

// TestHeaderRoundTrip: msgr1's ceph_msg_header carries the fields msgr1
// has (not AckSeq, DataPrePaddingLen or Flags) and a crc of the rest.
// Captured headers re-encode byte for byte in internal/protocol/v1's
// capture tests.
func TestHeaderRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    Header
	}{
		{"zero", Header{}},
		{"every field", Header{Seq: 1<<63 + 5, Tid: 77, Type: 42, Priority: PrioHigh, Version: 8, DataOff: 4096,
			CompatVersion: 3, Reserved: 0xbeef, Src: encoding.EntityName{Type: encoding.EntityTypeOSD, Num: 12},
			FrontLen: 1, MiddleLen: 2, DataLen: 4 << 20}},
		{"negative source", Header{Seq: 1, Type: 5, Src: encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendHeader([]byte("prefix"), &tc.h)[len("prefix"):]
			if len(b) != HeaderSize {
				t.Fatalf("size %d", len(b))
			}
			var got Header
			crc, err := DecodeHeader(&got, b)
			if err != nil || got != tc.h {
				t.Fatalf("%+v %v", got, err)
			}
			if crc != HeaderCRC(b) || crc != binary.LittleEndian.Uint32(b[HeaderSize-4:]) {
				t.Fatalf("crc %#x, computed %#x", crc, HeaderCRC(b))
			}
			if _, err := DecodeHeader(&got, b[:HeaderSize-1]); !errors.Is(err, encoding.ErrTruncated) {
				t.Fatalf("short header: %v", err)
			}
		})
	}
}

// TestHeadersShareTheirHead: both headers start with seq, tid, type,
// priority and version, in the same 22 bytes.
func TestHeadersShareTheirHead(t *testing.T) {
	h := Header{Seq: 3, Tid: 4, Type: 5, Priority: 6, Version: 7}
	if a, b := AppendHeader(nil, &h), AppendHeader2(nil, &h); !bytes.Equal(a[:22], b[:22]) {
		t.Fatalf("%x\n%x", a[:22], b[:22])
	}
}

func FuzzHeader(f *testing.F) {
	f.Add(AppendHeader(nil, &Header{Seq: 1, Type: 5, Version: 1, Priority: PrioDefault}))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		crc, err := DecodeHeader(&h, b)
		if err != nil {
			if len(b) >= HeaderSize || !errors.Is(err, encoding.ErrTruncated) {
				t.Fatal(err)
			}
			return
		}
		out := AppendHeader(nil, &h)
		if !bytes.Equal(out[:HeaderSize-4], b[:HeaderSize-4]) {
			t.Fatalf("%x != %x", out, b[:HeaderSize])
		}
		if (crc == HeaderCRC(b)) != bytes.Equal(out, b[:HeaderSize]) {
			t.Fatalf("crc %#x, computed %#x, re-encoded %x", crc, HeaderCRC(b), out)
		}
	})
}
