package osdmap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/gomsgr/msgr/crush"
)

type dumpAddr struct {
	Type  string `json:"type"`
	Addr  string `json:"addr"`
	Nonce uint32 `json:"nonce"`
}

type dumpAddrVec struct {
	AddrVec []dumpAddr `json:"addrvec"`
}

type osdDump struct {
	Epoch        uint32  `json:"epoch"`
	FSID         string  `json:"fsid"`
	FlagsNum     uint32  `json:"flags_num"`
	CrushVersion int32   `json:"crush_version"`
	PoolMax      int32   `json:"pool_max"`
	MaxOSD       int32   `json:"max_osd"`
	FullRatio    float64 `json:"full_ratio"`
	NearRatio    float64 `json:"nearfull_ratio"`
	Pools        []struct {
		Pool        int64                        `json:"pool"`
		Name        string                       `json:"pool_name"`
		Flags       uint64                       `json:"flags"`
		Type        uint8                        `json:"type"`
		Size        uint8                        `json:"size"`
		MinSize     uint8                        `json:"min_size"`
		CrushRule   uint8                        `json:"crush_rule"`
		ObjectHash  uint8                        `json:"object_hash"`
		PGNum       uint32                       `json:"pg_num"`
		PGPNum      uint32                       `json:"pg_placement_num"`
		LastChange  string                       `json:"last_change"`
		StripeWidth uint32                       `json:"stripe_width"`
		Application map[string]map[string]string `json:"application_metadata"`
	} `json:"pools"`
	OSDs []struct {
		OSD             int32       `json:"osd"`
		UUID            string      `json:"uuid"`
		Up              int         `json:"up"`
		In              int         `json:"in"`
		Weight          float64     `json:"weight"`
		PrimaryAffinity float64     `json:"primary_affinity"`
		UpFrom          uint32      `json:"up_from"`
		UpThru          uint32      `json:"up_thru"`
		DownAt          uint32      `json:"down_at"`
		PublicAddrs     dumpAddrVec `json:"public_addrs"`
		ClusterAddrs    dumpAddrVec `json:"cluster_addrs"`
		HBBackAddrs     dumpAddrVec `json:"heartbeat_back_addrs"`
		HBFrontAddrs    dumpAddrVec `json:"heartbeat_front_addrs"`
	} `json:"osds"`
}

func realMapDirs(t *testing.T) []string {
	dirs, err := filepath.Glob("testdata/*/osdmap.bin")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no testdata maps: %v", err)
	}
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i])
	}
	return dirs
}

func addrsMatch(t *testing.T, what string, gotList []string, want dumpAddrVec) {
	t.Helper()
	var w []string
	for _, a := range want.AddrVec {
		w = append(w, a.Type+":"+a.Addr+"/"+strconv.FormatUint(uint64(a.Nonce), 10))
	}
	if !reflect.DeepEqual(gotList, w) {
		t.Errorf("%s: got %v want %v", what, gotList, w)
	}
}

func TestRealMapsMatchDump(t *testing.T) {
	for _, dir := range realMapDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "osdmap.bin"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			js, err := os.ReadFile(filepath.Join(dir, "osd-dump.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want osdDump
			if err := json.Unmarshal(js, &want); err != nil {
				t.Fatal(err)
			}
			if m.Epoch != want.Epoch || m.FSID.String() != want.FSID || m.CrushVersion != want.CrushVersion ||
				m.PoolMax != want.PoolMax || m.MaxOSD != want.MaxOSD {
				t.Errorf("header: got epoch %d fsid %s crush_version %d pool_max %d max_osd %d, want %+v",
					m.Epoch, m.FSID, m.CrushVersion, m.PoolMax, m.MaxOSD, want)
			}
			// The dump shows flags after post-decode fixups Ceph applies for
			// require_osd_release >= nautilus (PGLOG_HARDLIMIT, 1<<22).
			if m.Flags|1<<22 != want.FlagsNum {
				t.Errorf("flags: got %#x want %#x", m.Flags, want.FlagsNum)
			}
			if float64(m.FullRatio) != want.FullRatio || float64(m.NearfullRatio) != want.NearRatio {
				t.Errorf("ratios: got %v/%v want %v/%v", m.FullRatio, m.NearfullRatio, want.FullRatio, want.NearRatio)
			}
			if len(m.Pools) != len(want.Pools) {
				t.Fatalf("%d pools, want %d", len(m.Pools), len(want.Pools))
			}
			for _, wp := range want.Pools {
				p := m.Pools[wp.Pool]
				if p == nil {
					t.Fatalf("pool %d missing", wp.Pool)
				}
				got := []any{p.Name, p.Flags, p.Type, p.Size, p.MinSize, p.CrushRule, p.ObjectHash, p.PGNum, p.PGPNum,
					strconv.FormatUint(uint64(p.LastChange), 10), p.StripeWidth}
				exp := []any{wp.Name, wp.Flags, wp.Type, wp.Size, wp.MinSize, wp.CrushRule, wp.ObjectHash, wp.PGNum, wp.PGPNum,
					wp.LastChange, wp.StripeWidth}
				if !reflect.DeepEqual(got, exp) {
					t.Errorf("pool %d: got %v want %v", wp.Pool, got, exp)
				}
				if !reflect.DeepEqual(p.Application, wp.Application) {
					t.Errorf("pool %d application: got %v want %v", wp.Pool, p.Application, wp.Application)
				}
			}
			for _, wo := range want.OSDs {
				o := wo.OSD
				up, in := 0, 0
				if m.IsUp(o) {
					up = 1
				}
				if m.IsIn(o) {
					in = 1
				}
				aff := 1.0
				if m.PrimaryAffinity != nil {
					aff = float64(m.PrimaryAffinity[o]) / 0x10000
				}
				if up != wo.Up || in != wo.In || float64(m.OSDWeight[o])/0x10000 != wo.Weight || aff != wo.PrimaryAffinity {
					t.Errorf("osd.%d: up %d in %d weight %v aff %v, want %+v", o, up, in, m.OSDWeight[o], aff, wo)
				}
				if m.OSDUUID[o].String() != wo.UUID {
					t.Errorf("osd.%d uuid %s want %s", o, m.OSDUUID[o], wo.UUID)
				}
				info := m.OSDInfo[o]
				if info.UpFrom != wo.UpFrom || info.UpThru != wo.UpThru || info.DownAt != wo.DownAt {
					t.Errorf("osd.%d info %+v want %+v", o, info, wo)
				}
				addrsMatch(t, "public", addrStrings(m.Addrs(o)), wo.PublicAddrs)
				addrsMatch(t, "cluster", addrStrings(m.ClusterAddrs[o]), wo.ClusterAddrs)
				addrsMatch(t, "hb_back", addrStrings(m.HBBackAddrs[o]), wo.HBBackAddrs)
				addrsMatch(t, "hb_front", addrStrings(m.HBFrontAddrs[o]), wo.HBFrontAddrs)
			}
			// The crush map embedded in the osdmap is the one
			// "ceph osd getcrushmap" returned.
			craw, err := os.ReadFile(filepath.Join(dir, "crushmap.bin"))
			if err != nil {
				t.Fatal(err)
			}
			cm, err := crush.Decode(craw)
			if err != nil {
				t.Fatalf("crushmap.bin: %v", err)
			}
			if !reflect.DeepEqual(cm, m.Crush) {
				t.Errorf("crushmap.bin differs from the osdmap's crush map")
			}
			// Pool 1 ("vec", 8 PGs, size 1) on the single OSD.
			pl, err := m.MapObject("obj1", Locator{Pool: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(pl.Acting) != 1 || pl.Acting[0] != 0 || pl.ActingPrimary != 0 || pl.PG.Seed >= 8 {
				t.Errorf("obj1 placement %+v", pl)
			}
		})
	}
}
