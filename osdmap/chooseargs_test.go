package osdmap

import (
	"os"
	"path/filepath"
	"testing"
)

// poolChooseArgsText is a CRUSH map whose choose_args are keyed by pool 1,
// so placement must pick them by pool id (CrushWrapper's
// choose_args_get_with_fallback), plus a device class rule.
const poolChooseArgsText = `
tunable choose_local_tries 0
tunable choose_local_fallback_tries 0
tunable choose_total_tries 50
tunable chooseleaf_descend_once 1
tunable chooseleaf_vary_r 1
tunable chooseleaf_stable 1
tunable straw_calc_version 1
tunable allowed_bucket_algs 54
device 0 osd.0 class ssd
device 1 osd.1 class hdd
device 2 osd.2 class ssd
device 3 osd.3 class hdd
device 4 osd.4 class ssd
device 5 osd.5 class hdd
device 6 osd.6 class ssd
device 7 osd.7 class hdd
device 8 osd.8 class hdd
type 0 osd
type 1 host
type 11 root
host h0 {
	id -2
	alg straw2
	hash 0
	item osd.0 weight 1.000
	item osd.1 weight 2.000
	item osd.2 weight 0.500
}
host h1 {
	id -3
	alg straw2
	hash 0
	item osd.3 weight 1.000
	item osd.4 weight 1.000
	item osd.5 weight 3.000
}
host h2 {
	id -4
	alg straw2
	hash 0
	item osd.6 weight 1.500
	item osd.7 weight 1.000
	item osd.8 weight 1.000
}
root default {
	id -1
	alg straw2
	hash 0
	item h0 weight 3.500
	item h1 weight 5.000
	item h2 weight 3.500
}
rule replicated_rule {
	id 0
	type replicated
	min_size 1
	max_size 10
	step take default
	step chooseleaf firstn 0 type host
	step emit
}
rule ssd {
	id 1
	type replicated
	min_size 1
	max_size 10
	step take default class ssd
	step chooseleaf firstn 0 type host
	step emit
}
choose_args 1 {
  {
    bucket_id -1
    weight_set [
      [ 0.500 4.000 1.000 ]
      [ 3.000 1.000 1.000 ]
    ]
  }
  {
    bucket_id -3
    weight_set [
      [ 2.000 0.100 1.000 ]
    ]
  }
}
`

func TestOraclePoolChooseArgs(t *testing.T) {
	osdmaptool := needTool(t, "osdmaptool")
	crushtool := needTool(t, "crushtool")
	dir := t.TempDir()
	txt := filepath.Join(dir, "crush.txt")
	if err := os.WriteFile(txt, []byte(poolChooseArgsText), 0o644); err != nil {
		t.Fatal(err)
	}
	cm := filepath.Join(dir, "crush")
	runTool(t, crushtool, "-c", txt, "-o", cm)
	fn := filepath.Join(dir, "osdmap")
	runTool(t, osdmaptool, "--createsimple", "9", "--with-default-pool", "--pg-bits", "5", "--clobber", fn)
	runTool(t, osdmaptool, fn, "--import-crush", cm)
	raw, _ := os.ReadFile(fn)
	m, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.Crush.ChooseArgs[1] == nil {
		t.Fatalf("choose_args for pool 1 missing: %v", m.Crush.ChooseArgs)
	}
	// The weight sets must matter, or this test would prove nothing.
	markUpIn(t, m)
	with := map[uint32][]int32{}
	for s := uint32(0); s < m.Pools[1].PGNum; s++ {
		up, _, _, _ := m.PGToUpActing(PG{Pool: 1, Seed: s})
		with[s] = up
	}
	saved := m.Crush.ChooseArgs
	m.Crush.ChooseArgs = nil
	differ := 0
	for s := uint32(0); s < m.Pools[1].PGNum; s++ {
		if up, _, _, _ := m.PGToUpActing(PG{Pool: 1, Seed: s}); !vecEq(up, with[s]) {
			differ++
		}
	}
	m.Crush.ChooseArgs = saved
	if differ == 0 {
		t.Fatalf("choose_args changed no mapping")
	}
	n := compareDumpAll(t, fn, []string{"--mark-up-in"}, func(m *OSDMap) { markUpIn(t, m) })
	n += compareDumpAll(t, fn, []string{"--mark-up-in", "--mark-out", "5"}, func(m *OSDMap) { markUpIn(t, m); markOut(m, 5) })
	t.Logf("compared %d PGs using pool-keyed choose_args", n)
}
