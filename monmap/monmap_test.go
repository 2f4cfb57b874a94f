package monmap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// printed is what `monmaptool --print` shows of a map.
type printed struct {
	epoch, fsid, minRelease, strategy string
	ranks                             []string // "ADDRS mon.NAME"
}

func readPrinted(t *testing.T, path string) printed {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p printed
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "epoch":
			p.epoch = v
		case "fsid":
			p.fsid = v
		case "min_mon_release":
			p.minRelease, _, _ = strings.Cut(v, " ")
		case "election_strategy:":
			p.strategy = v
		default:
			if _, rest, ok := strings.Cut(line, ": "); ok && line[0] >= '0' && line[0] <= '9' {
				p.ranks = append(p.ranks, rest)
			}
		}
	}
	return p
}

// TestDecodeMonmaptool checks maps written by the real monmaptool and
// fetched with `ceph mon getmap` against what monmaptool --print shows,
// and that each re-encodes to the same bytes.
func TestDecodeMonmaptool(t *testing.T) {
	for _, name := range []string{"one", "three", "live"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			want := readPrinted(t, filepath.Join("testdata", name+".txt"))
			m, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			got := printed{
				epoch:      fmt.Sprint(m.Epoch),
				fsid:       m.FSID.String(),
				minRelease: fmt.Sprint(m.MinMonRelease),
				strategy:   fmt.Sprint(m.Strategy),
			}
			for r := range m.Ranks {
				addrs, ok := m.AddrsByRank(r)
				if !ok {
					t.Fatalf("rank %d has no mon", r)
				}
				got.ranks = append(got.ranks, addrs.String()+" mon."+m.Ranks[r])
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n %+v\nmonmaptool printed\n %+v", got, want)
			}
			again, err := m.Append(nil, encoding.FeaturesAll)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, raw) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", again, raw)
			}
		})
	}
}

// captureMonMaps returns the MonMap bufferlists of every MMonMap in a
// captured mon-to-client stream.
func captureMonMaps(t testing.TB, path string) [][]byte {
	t.Helper()
	stream, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var maps [][]byte
	_, err = wire.ReplayCapture(stream, nil, wire.RoleClient, func(f *wire.Frame) error {
		if f.Tag != wire.TagMessage {
			return nil
		}
		var h message.Header
		if err := message.DecodeHeader2(&h, f.Segment(wire.SegHeader)); err != nil {
			return err
		}
		if h.Type == 4 { // CEPH_MSG_MON_MAP: the front is one bufferlist
			d := encoding.NewDecoder(f.Segment(wire.SegFront))
			maps = append(maps, bytes.Clone(d.Blob()))
			if d.Err() != nil || d.Remaining() != 0 {
				return fmt.Errorf("MMonMap front: %v, %d bytes left", d.Err(), d.Remaining())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return maps
}

// TestDecodeCapture decodes the MMonMaps the real ceph-mon sent the ceph CLI.
func TestDecodeCapture(t *testing.T) {
	for _, tt := range []struct{ file, fsid string }{
		{"none-crc.conn1.mon-to-client.bin", "a6c7f451-ea9b-458a-bde4-13fe4e0254d7"},
		{"cephx-crc.conn1.mon-to-client.bin", "d915a6b9-d078-40f8-b99c-7b7a959268ce"},
	} {
		maps := captureMonMaps(t, filepath.Join("testdata", tt.file))
		if len(maps) == 0 {
			t.Fatalf("%s: no MMonMap", tt.file)
		}
		for _, raw := range maps {
			m, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if m.FSID.String() != tt.fsid || m.Epoch != 1 || m.StructVersion != 9 || m.MinMonRelease != 16 {
				t.Errorf("%s: %+v", tt.file, m)
			}
			want := encoding.EntityAddrVec{
				{Type: encoding.AddrTypeMsgr2, Addr: netip.MustParseAddrPort("127.0.0.1:3300")},
				{Type: encoding.AddrTypeLegacy, Addr: netip.MustParseAddrPort("127.0.0.1:6789")},
			}
			if a, ok := m.AddrsByRank(0); !ok || !reflect.DeepEqual(a, want) || m.Ranks[0] != "a" {
				t.Errorf("%s: rank 0 = %v", tt.file, a)
			}
			if m.Strategy != StrategyClassic || m.PersistentFeatures == 0 {
				t.Errorf("%s: strategy %d features %#x", tt.file, m.Strategy, m.PersistentFeatures)
			}
			again, err := m.Append(nil, encoding.FeaturesAll)
			if err != nil || !bytes.Equal(again, raw) {
				t.Errorf("%s: re-encoding differs (%v):\n got %x\nwant %x", tt.file, err, again, raw)
			}
		}
	}
}

func legacyAddr(s string) encoding.EntityAddr {
	return encoding.EntityAddr{Type: encoding.AddrTypeLegacy, Addr: netip.MustParseAddrPort(s)}
}

// TestDecodeLegacy builds the v2 (bare u16 version) and v5 encodings by
// hand and checks the ranks Ceph would compute.
func TestDecodeLegacy(t *testing.T) {
	fsid := encoding.UUID{1, 2, 3}
	addrs := map[string]encoding.EntityAddr{
		"x": legacyAddr("10.0.0.9:6789"),
		"y": legacyAddr("10.0.0.1:6789"),
	}
	appendLegacyMap := func(b []byte) []byte {
		b = encoding.AppendU32(b, 2)
		for _, n := range []string{"x", "y"} {
			b = encoding.AppendString(b, n)
			b = encoding.AppendEntityAddr(b, addrs[n], 0) // no MSG_ADDR2: legacy form
		}
		return b
	}
	var v2 []byte
	v2 = encoding.AppendU16(v2, 2)
	v2 = encoding.AppendUUID(v2, fsid)
	v2 = encoding.AppendU32(v2, 7)
	v2 = appendLegacyMap(v2)
	v2 = encoding.AppendUTime(v2, encoding.UTime{Sec: 1})
	v2 = encoding.AppendUTime(v2, encoding.UTime{Sec: 2})

	v5, start := encoding.StructStart(nil, 5, 3)
	v5 = encoding.AppendUUID(v5, fsid)
	v5 = encoding.AppendU32(v5, 7)
	v5 = appendLegacyMap(v5)
	v5 = encoding.AppendUTime(v5, encoding.UTime{Sec: 1})
	v5 = encoding.AppendUTime(v5, encoding.UTime{Sec: 2})
	v5 = appendMonFeature(v5, 3)
	v5 = appendMonFeature(v5, 0)
	v5 = encoding.AppendU32(v5, 2)
	for _, n := range []string{"x", "y"} {
		v5 = encoding.AppendString(v5, n)
		v5 = appendMonInfo(v5, MonInfo{Name: n, PublicAddrs: encoding.EntityAddrVec{addrs[n]}, Priority: 4}, encoding.FeaturesAll)
	}
	v5 = encoding.StructEnd(v5, start)

	for name, raw := range map[string][]byte{"v2": v2, "v5": v5} {
		m, err := Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Ranks by address: 10.0.0.1 (y) before 10.0.0.9 (x).
		if m.Epoch != 7 || m.FSID != fsid || !reflect.DeepEqual(m.Ranks, []string{"y", "x"}) || len(m.Mons) != 2 {
			t.Errorf("%s: %+v", name, m)
		}
		if mi, _ := m.Mon("x"); mi.PublicAddrs.Legacy().Addr != addrs["x"].Addr {
			t.Errorf("%s: mon x = %+v", name, mi)
		}
		if name == "v5" {
			if mi, _ := m.Mon("y"); mi.Priority != 4 || m.PersistentFeatures != 3 {
				t.Errorf("v5: %+v features %d", mi, m.PersistentFeatures)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "three.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(raw); n++ {
		if _, err := Decode(raw[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		} else if !errors.Is(err, encoding.ErrTruncated) && !errors.Is(err, encoding.ErrTooLarge) && !errors.Is(err, encoding.ErrMalformed) {
			t.Fatalf("truncated to %d bytes: untyped error %v", n, err)
		}
	}
	future := bytes.Clone(raw)
	future[1] = 10 // compat 10 > 9
	var ce *encoding.CompatError
	if _, err := Decode(future); !errors.As(err, &ce) {
		t.Errorf("future compat: %v", err)
	}
	if _, err := (&MonMap{}).Append(nil, encoding.FeatureMsgAddr2); !errors.Is(err, ErrFeatures) {
		t.Errorf("legacy peer: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	m := &MonMap{
		FSID:  encoding.UUID{9},
		Epoch: 3,
		Mons: []MonInfo{
			{Name: "b", PublicAddrs: encoding.EntityAddrVec{legacyAddr("10.0.0.2:6789")}, Priority: 1, Weight: 10,
				CrushLoc: map[string]string{"datacenter": "dc1", "rack": "r2"}},
			{Name: "a", PublicAddrs: encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Addr: netip.MustParseAddrPort("[fe80::1]:3300")}}},
		},
		Ranks:                 []string{"a", "b"},
		MinMonRelease:         16,
		RemovedRanks:          []int32{5, 2},
		Strategy:              StrategyConnectivity,
		DisallowedLeaders:     []string{"b"},
		StretchModeEnabled:    true,
		TiebreakerMon:         "a",
		StretchMarkedDownMons: []string{"b"},
	}
	raw, err := m.Append(nil, encoding.FeaturesAll)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := *m
	want.Mons = []MonInfo{m.Mons[1], m.Mons[0]} // name order
	want.RemovedRanks = []int32{2, 5}           // a std::set
	want.StructVersion = Version
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *got, want)
	}
	if s := got.String(); !strings.Contains(s, "e3: 2 mons at {a=v2:[fe80::1]:3300/0,b=v1:10.0.0.2:6789/0}") {
		t.Errorf("String() = %q", s)
	}
	if got.Rank("b") != 1 || got.Rank("zz") != -1 {
		t.Error("Rank")
	}
}
