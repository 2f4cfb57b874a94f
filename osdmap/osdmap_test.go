package osdmap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/crush"
	"github.com/gomsgr/msgr/encoding"
)

func testMaps(t testing.TB) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob("testdata/*.bin")
	more, _ := filepath.Glob("testdata/*/osdmap.bin")
	files = append(files, more...)
	mon, _ := filepath.Glob("testdata/mon*/full.*")
	files = append(files, mon...)
	if len(files) == 0 {
		t.Fatal("no testdata maps")
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

func isTyped(err error) bool {
	return errors.Is(err, encoding.ErrTruncated) || errors.Is(err, encoding.ErrTooLarge) ||
		errors.Is(err, encoding.ErrMalformed) || errors.Is(err, ErrBadCRC) || errors.Is(err, crush.ErrBadMagic)
}

func TestDecodePrefixesAndCorruption(t *testing.T) {
	for name, b := range testMaps(t) {
		if _, err := Decode(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for n := 0; n < len(b); n += 1 + n/64 {
			if _, err := Decode(b[:n]); err == nil || !isTyped(err) {
				t.Fatalf("%s prefix %d: %v", name, n, err)
			}
		}
		// Flipping any byte must be caught: by the crc, or earlier by a
		// structural check.
		for i := 0; i < len(b); i += 1 + i/32 {
			c := append([]byte(nil), b...)
			c[i] ^= 0x40
			if _, err := Decode(c); err == nil || !isTyped(err) {
				t.Fatalf("%s flip at %d: %v", name, i, err)
			}
		}
	}
}

func TestPGStringParse(t *testing.T) {
	for _, tc := range []struct {
		pg PG
		s  string
	}{{PG{1, 0}, "1.0"}, {PG{1, 0x1f}, "1.1f"}, {PG{12, 0xdeadbeef}, "12.deadbeef"}} {
		if got := tc.pg.String(); got != tc.s {
			t.Errorf("%+v: %q want %q", tc.pg, got, tc.s)
		}
		p, err := ParsePG(tc.s)
		if err != nil || p != tc.pg {
			t.Errorf("ParsePG(%q) = %+v, %v", tc.s, p, err)
		}
	}
	for _, bad := range []string{"", "1", ".1", "1.", "x.1", "1.g", "-1.0", "1.123456789"} {
		if _, err := ParsePG(bad); err == nil {
			t.Errorf("ParsePG(%q) accepted", bad)
		}
	}
}

func TestStableMod(t *testing.T) {
	// pg_num 12 (mask 15): seeds below 12 stay, the rest fold by mask 7.
	for x := uint32(0); x < 64; x++ {
		got := StableMod(x, 12, calcMask(12))
		want := x & 15
		if want >= 12 {
			want = x & 7
		}
		if got != want || got >= 12 {
			t.Errorf("StableMod(%d, 12) = %d want %d", x, got, want)
		}
	}
	for _, tc := range []struct{ n, mask uint32 }{{0, 0}, {1, 0}, {2, 1}, {3, 3}, {8, 7}, {9, 15}, {1024, 1023}} {
		if got := calcMask(tc.n); got != tc.mask {
			t.Errorf("calcMask(%d) = %d want %d", tc.n, got, tc.mask)
		}
	}
}

func TestStrHashLinux(t *testing.T) {
	// ceph_str_hash_linux: h = (h + (c<<4) + (c>>4)) * 11 per byte.
	var want uint32
	for _, c := range []byte("ab") {
		want = (want + uint32(c)<<4 + uint32(c)>>4) * 11
	}
	if got := StrHash(HashLinux, "ab"); got != want {
		t.Errorf("linux hash %d want %d", got, want)
	}
	if StrHash(9, "x") != 0xffffffff {
		t.Errorf("unknown hash type must give 0xffffffff")
	}
	p := &Pool{ObjectHash: HashRjenkins}
	if p.HashKey("obj", "ns") != StrHash(HashRjenkins, "ns\x1fobj") {
		t.Errorf("namespace must prefix the key with a 0x1f separator")
	}
	long := strings.Repeat("n", 300)
	if p.HashKey("obj", long) != StrHash(HashRjenkins, long+"\x1fobj") {
		t.Errorf("long namespace")
	}
}

func TestLocatorKeyAndHash(t *testing.T) {
	m := buildMap(4, 3, 32)
	a, _ := m.ObjectToPG("name", Locator{Pool: 1, Key: "key"})
	b, _ := m.ObjectToPG("key", Locator{Pool: 1})
	if a != b {
		t.Errorf("locator key must replace the name: %v vs %v", a, b)
	}
	c, _ := m.ObjectToPG("name", Locator{Pool: 1, HasHash: true, Hash: 77})
	if c != (PG{Pool: 1, Seed: 77}) {
		t.Errorf("explicit hash: %v", c)
	}
	if _, err := m.ObjectToPG("x", Locator{Pool: 9}); !errors.Is(err, ErrNoPool) {
		t.Errorf("missing pool: %v", err)
	}
	if _, err := m.MapObject("x", Locator{Pool: 9}); !errors.Is(err, ErrNoPool) {
		t.Errorf("missing pool: %v", err)
	}
}

func TestErasurePoolKeepsPositions(t *testing.T) {
	m := buildMap(6, 2, 64)
	pg := PG{Pool: 2, Seed: 5}
	up, upp, _, _ := m.PGToUpActing(pg)
	if len(up) != 4 || upp != up[0] {
		t.Fatalf("ec up %v p%d", up, upp)
	}
	victim := up[1]
	m.OSDState[victim] &^= StateUp
	up2, upp2, act2, actp2 := m.PGToUpActing(pg)
	if len(up2) != 4 || up2[1] != crush.ItemNone || up2[0] != up[0] || up2[2] != up[2] || upp2 != up[0] {
		t.Errorf("down osd in ec pool: up %v p%d, was %v", up2, upp2, up)
	}
	if !vecEq(act2, up2) || actp2 != upp2 {
		t.Errorf("acting %v p%d should follow up", act2, actp2)
	}
	// A replicated PG on the same OSD shifts instead.
	for s := uint32(0); s < 64; s++ {
		rup, _, _, _ := m.PGToUpActing(PG{Pool: 1, Seed: s})
		for _, o := range rup {
			if o == victim || o == crush.ItemNone {
				t.Fatalf("replicated up set %v holds down/none osd", rup)
			}
		}
	}
}

func TestTempsAndAffinity(t *testing.T) {
	m := buildMap(5, 2, 16)
	pg := PG{Pool: 1, Seed: 3}
	up, upp, _, _ := m.PGToUpActing(pg)
	// pg_temp replaces acting; a down OSD in it is dropped (replicated).
	m.OSDState[9] &^= StateUp
	m.PGTemp[pg] = []int32{9, 7, 8}
	_, _, act, actp := m.PGToUpActing(pg)
	if !vecEq(act, []int32{7, 8}) || actp != 7 {
		t.Errorf("pg_temp acting %v p%d", act, actp)
	}
	m.PrimaryTemp[pg] = 8
	if _, _, _, actp = m.PGToUpActing(pg); actp != 8 {
		t.Errorf("primary_temp ignored: p%d", actp)
	}
	// Raw seeds fold onto pg_num before temp lookups.
	if _, _, act2, _ := m.PGToUpActing(PG{Pool: 1, Seed: 3 + 16}); !vecEq(act2, act) {
		t.Errorf("unfolded seed: %v vs %v", act2, act)
	}
	delete(m.PGTemp, pg)
	delete(m.PrimaryTemp, pg)
	m.OSDState[9] |= StateUp
	// Primary affinity 0 on the up primary moves primacy to the next.
	m.setPrimaryAffinity(up[0], 0)
	up3, upp3, _, _ := m.PGToUpActing(pg)
	if upp3 == up[0] || up3[0] != upp3 || len(up3) != len(up) {
		t.Errorf("affinity 0: up %v p%d (was %v p%d)", up3, upp3, up, upp)
	}
}

func TestUpmap(t *testing.T) {
	m := buildMap(5, 2, 16)
	pg := PG{Pool: 1, Seed: 2}
	up, _, _, _ := m.PGToUpActing(pg)
	target := int32(-1)
	for o := int32(0); o < 10; o++ {
		if !vecEq([]int32{o}, []int32{up[0]}) && o != up[1] && o != up[2] {
			target = o
			break
		}
	}
	m.PGUpmapItems[pg] = [][2]int32{{up[1], target}}
	got, _, _, _ := m.PGToUpActing(pg)
	if got[1] != target || got[0] != up[0] || got[2] != up[2] {
		t.Errorf("upmap item: %v from %v", got, up)
	}
	// An upmap to an out OSD is ignored.
	m.OSDWeight[target] = 0
	if got, _, _, _ = m.PGToUpActing(pg); got[1] != up[1] {
		t.Errorf("upmap to out osd applied: %v", got)
	}
	m.OSDWeight[target] = WeightIn
	m.PGUpmap[pg] = []int32{target, up[0]}
	if got, _, _, _ = m.PGToUpActing(pg); !vecEq(got, []int32{target, up[0]}) {
		t.Errorf("pg_upmap: %v", got)
	}
}

func TestApplyIncremental(t *testing.T) {
	m := buildMap(3, 2, 8)
	m.FSID = encoding.UUID{1}
	inc := &Incremental{FSID: m.FSID, Epoch: 2, NewPoolMax: -1, NewFlags: -1, NewMaxOSD: 8,
		NewNearfullRatio: -1, NewFullRatio: -1, NewBackfillfullRatio: -1, NewRequireOSDRelease: -1,
		NewWeight:          map[int32]uint32{6: WeightIn, 1: 0x8000},
		NewState:           map[int32]uint32{2: StateUp},
		NewUpClient:        map[int32]encoding.EntityAddrVec{6: {{Type: encoding.AddrTypeMsgr2, Nonce: 7}}},
		NewPrimaryAffinity: map[int32]uint32{0: 0x4000},
		NewPGTemp:          map[PG][]int32{{Pool: 1, Seed: 1}: {0, 1}},
		NewPrimaryTemp:     map[PG]int32{{Pool: 1, Seed: 1}: 1},
		NewPools: map[int64]*Pool{3: {ID: 3, Type: PoolTypeReplicated, Size: 2, PGNum: 4, PGPNum: 4,
			ObjectHash: HashRjenkins}},
		NewPoolNames: map[int64]string{3: "new"},
		OldPools:     []int64{2},
	}
	if err := m.Apply(inc); err != nil {
		t.Fatal(err)
	}
	if m.Epoch != 2 || m.MaxOSD != 8 || len(m.OSDState) != 8 || len(m.PrimaryAffinity) != 8 {
		t.Fatalf("epoch %d max_osd %d", m.Epoch, m.MaxOSD)
	}
	if !m.IsUp(6) || !m.IsIn(6) || m.IsUp(2) || !m.Exists(2) || m.OSDWeight[1] != 0x8000 || m.IsUp(7) {
		t.Errorf("states %v weights %v", m.OSDState, m.OSDWeight)
	}
	if m.Addrs(6)[0].Nonce != 7 || m.OSDInfo[6].UpFrom != 2 || m.OSDInfo[2].DownAt != 2 {
		t.Errorf("addrs %v info %+v %+v", m.Addrs(6), m.OSDInfo[6], m.OSDInfo[2])
	}
	if m.Pools[2] != nil || m.Pools[3] == nil || m.Pools[3].Name != "new" || m.Pools[3].LastChange != 2 ||
		m.PoolByName("new") != m.Pools[3] {
		t.Errorf("pools %v", m.Pools)
	}
	if _, _, act, p := m.PGToUpActing(PG{Pool: 1, Seed: 1}); !vecEq(act, []int32{0, 1}) || p != 1 {
		t.Errorf("pg_temp after apply: %v p%d", act, p)
	}
	// Removing temps.
	inc2 := &Incremental{FSID: m.FSID, Epoch: 3, NewPoolMax: -1, NewFlags: -1, NewMaxOSD: -1,
		NewNearfullRatio: -1, NewFullRatio: -1, NewBackfillfullRatio: -1, NewRequireOSDRelease: -1,
		NewPGTemp:      map[PG][]int32{{Pool: 1, Seed: 1}: nil},
		NewPrimaryTemp: map[PG]int32{{Pool: 1, Seed: 1}: -1},
		NewState:       map[int32]uint32{6: StateExists | StateUp}, // destroy osd.6
	}
	if err := m.Apply(inc2); err != nil {
		t.Fatal(err)
	}
	if len(m.PGTemp) != 0 || len(m.PrimaryTemp) != 0 || m.Exists(6) || m.Addrs(6) != nil {
		t.Errorf("after removal: temp %v ptemp %v osd6 %v", m.PGTemp, m.PrimaryTemp, m.OSDState[6])
	}
	for _, bad := range []*Incremental{
		{FSID: m.FSID, Epoch: 9, NewMaxOSD: -1},
		{FSID: encoding.UUID{2}, Epoch: 4, NewMaxOSD: -1},
	} {
		if err := m.Apply(bad); !errors.Is(err, ErrIncrementalMismatch) {
			t.Errorf("mismatch: %v", err)
		}
	}
	before := m.Epoch
	if err := m.Apply(&Incremental{FSID: m.FSID, Epoch: 4, NewMaxOSD: 1 << 30}); !errors.Is(err, encoding.ErrTooLarge) || m.Epoch != before {
		t.Errorf("huge max_osd: %v", err)
	}
	if err := m.Apply(&Incremental{FSID: m.FSID, Epoch: 4, NewMaxOSD: -1, NewWeight: map[int32]uint32{99: 1}}); !errors.Is(err, encoding.ErrMalformed) || m.Epoch != before {
		t.Errorf("out-of-range osd: %v (epoch %d)", err, m.Epoch)
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range testMaps(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if !isTyped(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if m.Crush.MaxTries() > 10 || bigBucket(m.Crush) {
			return // CRUSH spins on absurd tunables, in Ceph too
		}
		for id, p := range m.Pools {
			if p.Size > 12 {
				continue // cost grows with size x tries, in Ceph too
			}
			for s := uint32(0); s < 8 && s < p.PGNum; s++ {
				m.PGToUpActing(PG{Pool: id, Seed: s})
				m.PGToRawOSDs(PG{Pool: id, Seed: s})
			}
			m.MapObject("obj", Locator{Pool: id})
		}
	})
}

func FuzzDecodeIncremental(f *testing.F) {
	incs, _ := filepath.Glob("testdata/mon*/inc.*")
	for _, fn := range incs {
		if b, err := os.ReadFile(fn); err == nil {
			f.Add(b)
		}
	}
	for _, b := range testMaps(f) {
		f.Add(b)
	}
	baseRaw := testMaps(f)["testdata/createsimple-6.bin"]
	f.Fuzz(func(t *testing.T, b []byte) {
		inc, err := DecodeIncremental(b)
		if err != nil {
			if !isTyped(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		m, err := Decode(baseRaw)
		if err != nil {
			t.Fatal(err)
		}
		inc.FSID, inc.Epoch = m.FSID, m.Epoch+1
		if err := m.Apply(inc); err != nil {
			if !isTyped(err) && !errors.Is(err, ErrIncrementalMismatch) {
				t.Fatalf("untyped apply error: %v", err)
			}
			return
		}
		if m.Crush.MaxTries() > 10 || bigBucket(m.Crush) {
			return
		}
		for id, p := range m.Pools {
			if p.Size > 12 {
				continue
			}
			for s := uint32(0); s < 4 && s < p.PGNum; s++ {
				m.PGToUpActing(PG{Pool: id, Seed: s})
			}
		}
	})
}

// bigBucket keeps fuzzing fast: CRUSH's retry loops cost O(size^2) per
// replica on large buckets, in Ceph too.
func bigBucket(m *crush.Map) bool { return m.MaxBucketSize() > 64 }
