package monmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"one.bin", "three.bin", "live.bin"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, name := range []string{"none-crc.conn1.mon-to-client.bin", "cephx-crc.conn1.mon-to-client.bin"} {
		for _, m := range captureMonMaps(f, filepath.Join("testdata", name)) {
			f.Add(m)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must encode, and encoding must be stable:
		// decode(encode(m)) encodes to the same bytes again.
		raw, err := m.Append(nil, encoding.FeaturesAll)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decode(raw)
		if err != nil {
			t.Fatalf("re-encoded map does not decode: %v", err)
		}
		raw2, err := again.Append(nil, encoding.FeaturesAll)
		if err != nil || !bytes.Equal(raw, raw2) {
			t.Fatalf("encoding not stable (%v):\n%x\n%x", err, raw, raw2)
		}
	})
}
