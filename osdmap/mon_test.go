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

func readMon(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mon", name))
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
	m, err := Decode(readMon(t, "full.1"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for e := 2; ; e++ {
		raw, err := os.ReadFile(filepath.Join("testdata", "mon", "inc."+strconv.Itoa(e)))
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
		full, err := os.ReadFile(filepath.Join("testdata", "mon", "full."+strconv.Itoa(e)))
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
	if checked < 10 {
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
	for _, e := range []string{"36", "38", "40", "44", "45", "47", "49", "50"} {
		fn := filepath.Join("testdata", "mon", "full."+e)
		total += compareDumpAll(t, fn, nil, nil)
		total += compareDumpAll(t, fn, []string{"--mark-up-in"}, func(m *OSDMap) { markUpIn(t, m) })
		total += compareDumpAll(t, fn, []string{"--mark-up-in", "--mark-out", "4"},
			func(m *OSDMap) { markUpIn(t, m); markOut(m, 4) })
	}
	m, err := Decode(readMon(t, "full.50"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Pools[2].Type != PoolTypeErasure || len(m.PGUpmap) == 0 || m.PrimaryAffinity == nil {
		t.Fatalf("vector lacks a feature: pools %+v temp %v ptemp %v upmap %v items %v aff %v",
			m.Pools, m.PGTemp, m.PrimaryTemp, m.PGUpmap, m.PGUpmapItems, m.PrimaryAffinity)
	}
	t.Logf("compared %d PGs of mon-generated maps with osdmaptool", total)
}
