package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// seedStreams adds the start of real captures (banner stripped) as seeds.
func seedStreams(f *testing.F, add func(stream []byte)) {
	for _, dir := range []string{"none-crc", "cephx-crc", "osd/cephx-crc"} {
		names, _ := filepath.Glob(filepath.Join(vectors, dir, "*-to-*.bin"))
		for i, name := range names {
			if i%4 != 0 {
				continue
			}
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			add(b[BannerSize:min(len(b), 4096)])
		}
	}
}

// FuzzDecoder feeds arbitrary streams, split at points the fuzzer picks,
// to a crc-mode decoder in both revisions; whole-stream and split decoding
// must agree, and nothing may panic or grow past the limits.
func FuzzDecoder(f *testing.F) {
	seedStreams(f, func(s []byte) { f.Add(s, uint64(0x0102030405060708), true) })
	f.Add([]byte{}, uint64(1), false)
	f.Fuzz(func(t *testing.T, stream []byte, splits uint64, rev1 bool) {
		lim := Limits{MaxSegmentLen: 1 << 16, MaxFrameLen: 1 << 17}
		run := func(split bool) string {
			d := NewDecoder(lim)
			d.SetRev1(rev1)
			var out bytes.Buffer
			s, sp := stream, splits
			for {
				f, err := d.Next()
				if err != nil {
					fmt.Fprintf(&out, "err %v", err)
					return out.String()
				}
				if f != nil {
					fmt.Fprintf(&out, "%v %d %x|", f.Tag, f.NumSegments, f.Segments)
					continue
				}
				if len(s) == 0 {
					fmt.Fprintf(&out, "need %d", d.Need())
					return out.String()
				}
				n := len(s)
				if split {
					n = min(n, int(sp%13)+1)
					sp = sp>>4 | sp<<60
				}
				d.Feed(s[:n])
				s = s[n:]
				if len(d.buf) > int(lim.MaxFrameLen)+len(stream)+4096 {
					t.Fatalf("buffer grew to %d", len(d.buf))
				}
			}
		}
		if a, b := run(false), run(true); a != b {
			t.Fatalf("whole and split decoding differ:\n%s\n%s", a, b)
		}
	})
}

// FuzzSecureDecoder feeds arbitrary bytes to a secure decoder, seeded with
// valid secure frames so that the fuzzer can reach past the first tag.
func FuzzSecureDecoder(f *testing.F) {
	for _, rev1 := range []bool{true, false} {
		_, tx, _ := NewSecure(testSecret, RoleClient, rev1)
		e := NewEncoder()
		e.SetRev1(rev1)
		e.SetSecure(tx)
		b, _ := e.AppendFrame(nil, TagMessage, fill(41, 1), fill(100, 2))
		b, _ = e.AppendControl(b, &Ack{Seq: 3})
		f.Add(b, rev1, uint8(7))
	}
	f.Fuzz(func(t *testing.T, stream []byte, rev1 bool, chunk uint8) {
		rx, _, _ := NewSecure(testSecret, RoleServer, rev1)
		d := NewDecoder(Limits{MaxSegmentLen: 1 << 16, MaxFrameLen: 1 << 17})
		d.SetRev1(rev1)
		d.SetSecure(rx)
		c := int(chunk) + 1
		for len(stream) > 0 {
			n := min(c, len(stream))
			d.Feed(stream[:n])
			stream = stream[n:]
			for {
				f, err := d.Next()
				if err != nil || f == nil {
					break
				}
			}
		}
	})
}

// FuzzControlPayload decodes arbitrary payloads as every control frame;
// what decodes must re-encode to bytes that decode to the same value.
func FuzzControlPayload(f *testing.F) {
	seedStreams(f, func(s []byte) {
		d := NewDecoder(Limits{})
		d.Feed(s)
		for {
			fr, err := d.Next()
			if err != nil || fr == nil {
				return
			}
			if fr.Tag != TagMessage {
				f.Add(uint8(fr.Tag), bytes.Clone(fr.Payload()))
			}
		}
	})
	f.Fuzz(func(t *testing.T, tag uint8, p []byte) {
		cf, err := DecodeControlFrame(Tag(tag), p)
		if err != nil {
			return
		}
		b := cf.AppendPayload(nil)
		cf2, err := DecodeControlFrame(Tag(tag), b)
		if err != nil {
			t.Fatalf("%v: re-decode: %v", Tag(tag), err)
		}
		if x, y := fmt.Sprintf("%+v", cf), fmt.Sprintf("%+v", cf2); x != y {
			t.Fatalf("%v: %s != %s", Tag(tag), x, y)
		}
		if b2 := cf2.AppendPayload(nil); !bytes.Equal(b, b2) {
			t.Fatalf("%v: unstable encoding", Tag(tag))
		}
	})
}

// FuzzBanner: any input gives a banner, "need more" or a typed error.
func FuzzBanner(f *testing.F) {
	f.Add(AppendBanner(nil, Banner{Supported: 1}))
	f.Add([]byte("ceph v027\n"))
	f.Add(binary.LittleEndian.AppendUint16([]byte(BannerPrefix), 40))
	f.Fuzz(func(t *testing.T, in []byte) {
		bn, n, err := ParseBanner(in)
		if err != nil || n == 0 {
			return
		}
		if n > len(in) || n < BannerSize {
			t.Fatalf("n = %d of %d", n, len(in))
		}
		if got, _, _ := ParseBanner(AppendBanner(nil, bn)); got != bn {
			t.Fatal("banner round trip")
		}
	})
}
