package osdmap

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// The testdata/mon vectors come from scripts/oracle/mon-maps.sh: a real
// Pacific mon's full maps (full.N) and the incrementals it stored (inc.N).

// testdata/mon-osd comes from scripts/oracle/mon-osd-maps.sh, with four
// OSD daemons running: pg_temps the OSDs asked for while peering, a
// primary_temp, up, down and out OSDs.

func readMon(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameMap compares everything both encodings carry, reporting differences.
func sameMap(t *testing.T, epoch int, got, want *OSDMap) {
	t.Helper()
	g, w := *got, *want
	// The crc is of the encoding, not of the map's content.
	g.CRC, w.CRC = 0, 0
	if reflect.DeepEqual(&g, &w) {
		return
	}
	gv, wv := reflect.ValueOf(g), reflect.ValueOf(w)
	for i := 0; i < gv.NumField(); i++ {
		f := gv.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("epoch %d: %s differs:\n applied %+v\n full    %+v", epoch, f.Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}

func TestMonIncrementalsRebuildFullMaps(t *testing.T) {
	for _, dir := range []string{"mon", "mon-osd"} {
		t.Run(dir, func(t *testing.T) { rebuild(t, dir) })
	}
}

func rebuild(t *testing.T, dir string) {
	m, err := Decode(readMon(t, dir+"/full.1"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for e := 2; ; e++ {
		raw, err := os.ReadFile(filepath.Join("testdata", dir, "inc."+strconv.Itoa(e)))
		if err != nil {
			break
		}
		inc, err := DecodeIncremental(raw)
		if err != nil {
			t.Fatalf("inc.%d: %v", e, err)
		}
		if err := m.Apply(inc); err != nil {
			t.Fatalf("apply inc.%d: %v", e, err)
		}
		full, err := os.ReadFile(filepath.Join("testdata", dir, "full."+strconv.Itoa(e)))
		if err != nil {
			continue
		}
		want, err := Decode(full)
		if err != nil {
			t.Fatalf("full.%d: %v", e, err)
		}
		sameMap(t, e, m, want)
		checked++
	}
	if checked < 8 {
		t.Fatalf("only %d epochs checked", checked)
	}
	t.Logf("applied incrementals up to epoch %d, %d epochs equal to the mon's full maps", m.Epoch, checked)
}

// TestOracleMonMaps maps every PG of the mon's maps (an erasure pool,
// pg_temp, primary_temp, primary affinity, pg_upmap, pg_upmap_items, an out
// OSD, a fractional crush weight) and compares with osdmaptool.
func TestOracleMonMaps(t *testing.T) {
	needTool(t, "osdmaptool")
	total := 0
	for _, e := range []string{"mon/full.36", "mon/full.38", "mon/full.40", "mon/full.44", "mon/full.45",
		"mon/full.47", "mon/full.49", "mon/full.50", "mon-osd/full.37", "mon-osd/full.40", "mon-osd/full.44",
		"mon-osd/full.47", "mon-osd/full.48", "mon-osd/full.50", "mon-osd/full.53"} {
		fn := filepath.Join("testdata", e)
		total += compareDumpAll(t, fn, nil, nil)
		total += compareDumpAll(t, fn, []string{"--mark-up-in"}, func(m *OSDMap) { markUpIn(t, m) })
		total += compareDumpAll(t, fn, []string{"--mark-up-in", "--mark-out", "4"},
			func(m *OSDMap) { markUpIn(t, m); markOut(m, 4) })
	}
	m, err := Decode(readMon(t, "mon-osd/full.53"))
	if err != nil {
		t.Fatal(err)
	}
	down, out := 0, 0
	for o := int32(0); o < m.MaxOSD; o++ {
		if m.Exists(o) && !m.IsUp(o) {
			down++
		}
		if m.Exists(o) && !m.IsIn(o) {
			out++
		}
	}
	if m.Pools[2].Type != PoolTypeErasure || len(m.PGUpmap) == 0 || len(m.PGUpmapItems) == 0 ||
		m.PrimaryAffinity == nil || len(m.PGTemp) == 0 || down == 0 || out == 0 {
		t.Fatalf("vector lacks a feature: pools %+v temp %v ptemp %v upmap %v items %v aff %v",
			m.Pools, m.PGTemp, m.PrimaryTemp, m.PGUpmap, m.PGUpmapItems, m.PrimaryAffinity)
	}
	t.Logf("compared %d PGs of mon-generated maps with osdmaptool", total)
}

// TestCloneIsolatesApply applies the mon's incrementals to clones and
// checks that every earlier map still equals its own full map.
func TestCloneIsolatesApply(t *testing.T) {
	cur, err := Decode(readMon(t, "mon-osd/full.1"))
	if err != nil {
		t.Fatal(err)
	}
	kept := map[int]*OSDMap{}
	for e := 2; ; e++ {
		raw, err := os.ReadFile(filepath.Join("testdata", "mon-osd", "inc."+strconv.Itoa(e)))
		if err != nil {
			break
		}
		inc, err := DecodeIncremental(raw)
		if err != nil {
			t.Fatal(err)
		}
		next := cur.Clone()
		if err := next.Apply(inc); err != nil {
			t.Fatal(err)
		}
		kept[e-1] = cur
		cur = next
	}
	n := 0
	for e, m := range kept {
		full, err := os.ReadFile(filepath.Join("testdata", "mon-osd", "full."+strconv.Itoa(e)))
		if err != nil {
			continue
		}
		want, err := Decode(full)
		if err != nil {
			t.Fatal(err)
		}
		sameMap(t, e, m, want)
		n++
	}
	if n < 5 {
		t.Fatalf("only %d maps checked", n)
	}
}
