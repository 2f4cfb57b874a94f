package crush

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

func loadTestMaps(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/*.bin")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func TestDecodeTestdata(t *testing.T) {
	for name, b := range loadTestMaps(t) {
		m, err := Decode(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(m.Rules) == 0 || len(m.Buckets) == 0 || m.MaxDevices <= 0 {
			t.Errorf("%s: empty map %+v", name, m)
		}
		for i, bk := range m.Buckets {
			if bk != nil && int(-1-bk.ID) != i {
				t.Errorf("%s: bucket %d at index %d", name, bk.ID, i)
			}
		}
	}
}

func TestShadowTreesAndChooseArgs(t *testing.T) {
	m, err := Decode(loadTestMaps(t)["classes-chooseargs.bin"])
	if err != nil {
		t.Fatal(err)
	}
	devicesWithClass := 0
	for id := range m.ClassMap {
		if id >= 0 {
			devicesWithClass++
		}
	}
	if len(m.ClassNames) != 2 || devicesWithClass != 9 {
		t.Fatalf("classes %v map %v", m.ClassNames, m.ClassMap)
	}
	// Every real bucket has one shadow bucket per class, and shadow
	// buckets hold only devices of their class.
	for bid, per := range m.ClassBuckets {
		for class, shadow := range per {
			sb := m.Bucket(shadow)
			if sb == nil {
				t.Fatalf("shadow bucket %d of %d missing", shadow, bid)
			}
			for _, it := range sb.Items {
				if it >= 0 && m.ClassMap[it] != class {
					t.Errorf("shadow %d (class %d) holds osd.%d of class %d", shadow, class, it, m.ClassMap[it])
				}
			}
		}
	}
	args := m.ChooseArgsFor(7)
	if args == nil || len(args[0].WeightSet) != 2 {
		t.Fatalf("default choose_args not found for pool 7: %+v", m.ChooseArgs)
	}
	// The weight set must change some mappings, or the oracle test
	// would not be testing it.
	w := defaultWeights(m, nil)
	differ := 0
	for x := int32(0); x < 200; x++ {
		a := m.DoRule(2, x, 3, w, args, nil)
		b := m.DoRule(2, x, 3, w, nil, nil)
		if !equal32(a, b) {
			differ++
		}
	}
	if differ == 0 {
		t.Errorf("choose_args never changed a mapping")
	}
}

func TestDecodeErrors(t *testing.T) {
	good := loadTestMaps(t)["mixed-40.bin"]
	for n := 0; n < len(good); n++ {
		_, err := Decode(good[:n])
		if err == nil {
			continue // a prefix ending after the names is a valid older map
		}
		if !errors.Is(err, encoding.ErrTruncated) && !errors.Is(err, encoding.ErrTooLarge) &&
			!errors.Is(err, encoding.ErrMalformed) && !errors.Is(err, ErrBadMagic) {
			t.Fatalf("prefix %d: untyped error %v", n, err)
		}
	}
	bad := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(bad, 0x12345678)
	if _, err := Decode(bad); !errors.Is(err, ErrBadMagic) {
		t.Errorf("bad magic: %v", err)
	}
	// A huge bucket count must be refused before allocating.
	huge := binary.LittleEndian.AppendUint32(nil, Magic)
	huge = binary.LittleEndian.AppendUint32(huge, 0x7fffffff)
	huge = append(huge, make([]byte, 8)...)
	if _, err := Decode(huge); !errors.Is(err, encoding.ErrTooLarge) {
		t.Errorf("huge max_buckets: %v", err)
	}
	// A bucket with an unknown algorithm.
	alg := append([]byte(nil), good[:16]...)
	alg = binary.LittleEndian.AppendUint32(alg, 9)
	if _, err := Decode(append(alg, make([]byte, 64)...)); !errors.Is(err, encoding.ErrMalformed) {
		t.Errorf("bad alg: %v", err)
	}
}

func TestCrushLnApproximatesLog2(t *testing.T) {
	// crush_ln(x) ~ 2^44*log2(x+1); the tables carry small historical
	// errors, so check a relative bound over the whole domain.
	for x := uint32(0); x <= 0xffff; x++ {
		want := math.Ldexp(math.Log2(float64(x)+1), 44)
		got := float64(crushLn(x))
		if math.Abs(got-want) > math.Ldexp(1, 44)*1e-4 {
			t.Fatalf("crushLn(%d) = %v, log2 says %v", x, got, want)
		}
	}
}

func TestRHTableIsReciprocal(t *testing.T) {
	for k := 0; k <= 128; k++ {
		want := math.Ldexp(1, 48) / (1 + float64(k)/128)
		if math.Abs(float64(rhlhTable[2*k])-want) > 1 {
			t.Errorf("rh[%d] = %#x, want ~%v", k, rhlhTable[2*k], want)
		}
	}
}

// TestLnTablesMatchInstalledCeph compares the transcribed tables with the
// ones in the installed libceph-common, when present.
func TestLnTablesMatchInstalledCeph(t *testing.T) {
	lib := "/usr/lib/x86_64-linux-gnu/ceph/libceph-common.so.2"
	d, err := os.ReadFile(lib)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libceph-common not found: %v", err)
		}
		t.Skipf("libceph-common not installed: %v", err)
	}
	find := func(v []int64) bool {
		b := make([]byte, 0, 8*len(v))
		for _, x := range v {
			b = binary.LittleEndian.AppendUint64(b, uint64(x))
		}
		return bytes.Contains(d, b)
	}
	if !find(rhlhTable[:]) {
		t.Errorf("__RH_LH_tbl not found verbatim in %s", lib)
	}
	if !find(llTable[:]) {
		t.Errorf("__LL_tbl not found verbatim in %s", lib)
	}
}

func TestHashesAreRjenkins(t *testing.T) {
	// Unknown hash types yield 0 as in hash.c; rjenkins must not.
	if hash2(1, 1, 2) != 0 || hash3(7, 1, 2, 3) != 0 || hash4(3, 1, 2, 3, 4) != 0 {
		t.Errorf("unknown hash types must hash to 0")
	}
	seen := map[uint32]bool{}
	for i := uint32(0); i < 1000; i++ {
		seen[Hash32_2(i, 1)] = true
		seen[Hash32_3(i, 1, 2)] = true
		seen[Hash32_4(i, 1, 2, 3)] = true
		seen[Hash32_5(i, 1, 2, 3, 4)] = true
		seen[Hash32(i)] = true
	}
	if len(seen) < 4990 {
		t.Errorf("only %d distinct hashes of 5000 inputs", len(seen))
	}
}

func TestDoRuleBadArguments(t *testing.T) {
	m, err := Decode(loadTestMaps(t)["straw2-24.bin"])
	if err != nil {
		t.Fatal(err)
	}
	w := defaultWeights(m, nil)
	for _, tc := range []struct {
		rule, max int
	}{{-1, 3}, {len(m.Rules), 3}, {0, 0}, {0, -5}} {
		if got := m.DoRule(tc.rule, 1, tc.max, w, nil, nil); len(got) != 0 {
			t.Errorf("rule %d max %d: got %v", tc.rule, tc.max, got)
		}
	}
	// No weights: every device is out.
	if got := m.DoRule(0, 1, 3, nil, nil, nil); len(got) != 0 {
		t.Errorf("all out: got %v", got)
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range loadTestMaps(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if !errors.Is(err, encoding.ErrTruncated) && !errors.Is(err, encoding.ErrTooLarge) &&
				!errors.Is(err, encoding.ErrMalformed) && !errors.Is(err, ErrBadMagic) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Mapping a decoded map must not panic. Absurd retry tunables
		// make CRUSH spin in Ceph too, so keep them small here.
		if m.MaxTries() > 10 || bigBucket(m) {
			return
		}
		w := make([]uint32, 64)
		for i := range w {
			w[i] = uint32(i) * 0x1000
		}
		for ri := range m.Rules {
			for x := int32(0); x < 4; x++ {
				m.DoRule(ri, x, 5, w, m.ChooseArgsFor(DefaultChooseArgs), nil)
			}
		}
	})
}

func BenchmarkDoRuleStraw2(b *testing.B) {
	m, err := Decode(loadTestMaps(b)["straw2-24.bin"])
	if err != nil {
		b.Fatal(err)
	}
	w := defaultWeights(m, nil)
	var dst []int32
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		dst = m.DoRule(0, int32(i), 3, w, nil, dst[:0])
	}
}

// bigBucket keeps fuzzing fast: CRUSH's retry loops cost O(size^2) per
// replica on large buckets, in Ceph too.
func bigBucket(m *Map) bool { return m.MaxBucketSize() > 64 }
