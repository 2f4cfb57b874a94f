package osdmap

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fullMapVectors are every captured full OSDMap: this package's test data
// and the shared captures when present.
func fullMapVectors(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, g := range []string{"testdata/*.bin", "testdata/*/osdmap.bin", "testdata/mon*/full.*",
		"../messages/testdata/osd/*/osdmap.bin", "/work/shared/vectors/*/*/*/osdmap.bin"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("only %d full maps", len(files))
	}
	return files
}

func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func TestAppendReencodesCaptures(t *testing.T) {
	for _, f := range fullMapVectors(t) {
		t.Run(strings.ReplaceAll(f, "/", "_"), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			crc := m.CRC
			out := m.Append(nil)
			if !bytes.Equal(in, out) {
				t.Fatalf("re-encoding differs at byte %d (in %d bytes, out %d)", firstDiff(in, out), len(in), len(out))
			}
			if m.CRC != crc {
				t.Fatalf("crc %#x, decoded %#x", m.CRC, crc)
			}
		})
	}
}

// TestNewPoolEncodesLikeMon: a pool made here (nothing kept from a
// decoding) encodes as the Pacific mon encoded pools it created with the
// same settings.
func TestNewPoolEncodesLikeMon(t *testing.T) {
	for _, f := range []string{"testdata/mon-osd/full.53", "testdata/cephx-crc/osdmap.bin"} {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(in)
		if err != nil {
			t.Fatal(err)
		}
		for id, p := range m.Pools {
			q := *p
			q.kept = poolKept{}
			want, got := p.Append(nil, 0), q.Append(nil, 0)
			if !bytes.Equal(want, got) {
				t.Errorf("%s pool %d: differs at byte %d:\n mon  %x\n here %x", f, id, firstDiff(want, got), want, got)
			}
		}
	}
}

// TestNewMapEncodesLikeMon: a map whose unmodelled parts are defaults
// encodes as the mon encoded it (the OSDs' xinfo, which only OSDs use, is
// taken from the capture).
func TestNewMapEncodesLikeMon(t *testing.T) {
	for _, f := range []string{"testdata/cephx-crc/osdmap.bin", "testdata/none-crc/osdmap.bin"} {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(in)
		if err != nil {
			t.Fatal(err)
		}
		q := *m
		q.kept = mapKept{xinfo: m.kept.xinfo}
		q.Pools = map[int64]*Pool{}
		for id, p := range m.Pools {
			np := *p
			np.kept = poolKept{}
			q.Pools[id] = &np
		}
		if got := q.Append(nil); !bytes.Equal(in, got) {
			t.Errorf("%s: differs at byte %d of %d", f, firstDiff(in, got), len(in))
		}
	}
}

// TestIncrementalAppendReencodesCaptures: every incremental a Pacific mon
// stored re-encodes byte for byte (crc and full crc included).
func TestIncrementalAppendReencodesCaptures(t *testing.T) {
	files, _ := filepath.Glob("testdata/mon*/inc.*")
	if len(files) < 20 {
		t.Fatalf("only %d incrementals", len(files))
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inc, err := DecodeIncremental(in)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if out := inc.Append(nil); !bytes.Equal(in, out) {
			t.Errorf("%s: re-encoding differs at byte %d (in %d bytes, out %d)", f, firstDiff(in, out), len(in), len(out))
		}
	}
}

// TestDiffMatchesMon: the incremental Diff builds between two of the mon's
// full maps (a pool creation) is the mon's own, and applying it gives the
// later map.
func TestDiffMatchesMon(t *testing.T) {
	prev, err := Decode(readMon(t, "mon/full.34"))
	if err != nil {
		t.Fatal(err)
	}
	next, err := Decode(readMon(t, "mon/full.35"))
	if err != nil {
		t.Fatal(err)
	}
	want := readMon(t, "mon/inc.35")
	got := Diff(prev, next).Append(nil)
	if !bytes.Equal(got, want) {
		t.Errorf("differs at byte %d (mon %d bytes, here %d)\n mon  %x\n here %x", firstDiff(want, got), len(want), len(got), want, got)
	}
	inc, err := DecodeIncremental(got)
	if err != nil {
		t.Fatal(err)
	}
	if err := prev.Apply(inc); err != nil {
		t.Fatal(err)
	}
	sameMap(t, 35, prev, next)
}

// FuzzAppendRoundTrip: whatever decodes re-encodes to bytes that decode
// and re-encode to themselves.
func FuzzAppendRoundTrip(f *testing.F) {
	for _, b := range testMaps(f) {
		f.Add(b)
	}
	incs, _ := filepath.Glob("testdata/mon*/inc.*")
	for _, fn := range incs {
		if b, err := os.ReadFile(fn); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := Decode(b); err == nil {
			out := m.Append(nil)
			m2, err := Decode(out)
			if err != nil {
				t.Fatalf("re-encoded map does not decode: %v", err)
			}
			if out2 := m2.Append(nil); !bytes.Equal(out, out2) {
				t.Fatalf("map re-encoding not stable at byte %d", firstDiff(out, out2))
			}
		}
		if inc, err := DecodeIncremental(b); err == nil {
			out := inc.Append(nil)
			inc2, err := DecodeIncremental(out)
			if err != nil {
				t.Fatalf("re-encoded incremental does not decode: %v", err)
			}
			if out2 := inc2.Append(nil); !bytes.Equal(out, out2) {
				t.Fatalf("incremental re-encoding not stable at byte %d", firstDiff(out, out2))
			}
		}
	})
}
