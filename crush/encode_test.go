package crush

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// crushVectors are every captured CRUSH map: this package's test data and
// the shared captures when present.
func crushVectors(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("testdata/*.bin")
	shared, _ := filepath.Glob("../../shared/vectors/*/*/*/crushmap.bin")
	more, _ := filepath.Glob("/work/shared/vectors/*/*/*/crushmap.bin")
	files = append(files, shared...)
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no crush maps")
	}
	return files
}

func TestAppendReencodesCaptures(t *testing.T) {
	for _, f := range crushVectors(t) {
		t.Run(f, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			out := m.Append(nil)
			if !bytes.Equal(in, out) {
				i := 0
				for i < len(in) && i < len(out) && in[i] == out[i] {
					i++
				}
				t.Fatalf("re-encoding differs at byte %d (in %d bytes, out %d)", i, len(in), len(out))
			}
		})
	}
}

// FuzzAppendRoundTrip: whatever decodes re-encodes to bytes that decode
// and re-encode to themselves.
func FuzzAppendRoundTrip(f *testing.F) {
	for _, b := range loadTestMaps(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		out := m.Append(nil)
		m2, err := Decode(out)
		if err != nil {
			t.Fatalf("re-encoded map does not decode: %v", err)
		}
		if out2 := m2.Append(nil); !bytes.Equal(out, out2) {
			t.Fatalf("re-encoding not stable at byte %d", firstDiff(out, out2))
		}
	})
}

func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}
