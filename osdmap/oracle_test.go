package osdmap

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (CI=true requires Ceph's tools)", name)
		}
		t.Skipf("%s not installed; install ceph-base to run oracle tests", name)
	}
	return p
}

func runTool(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.Bytes()
}

var dumpAllLine = regexp.MustCompile(`^(\d+)\.([0-9a-f]+) raw \(\[([-0-9,]*)\], p(-?\d+)\) up \(\[([-0-9,]*)\], p(-?\d+)\) acting \(\[([-0-9,]*)\], p(-?\d+)\)$`)

func parseVec(t testing.TB, s string) []int32 {
	if s == "" {
		return nil
	}
	var v []int32
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			t.Fatalf("bad vector %q", s)
		}
		v = append(v, int32(n))
	}
	return v
}

func vecEq(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// markUpIn and markOut do what osdmaptool's --mark-up-in and --mark-out do.
func markUpIn(t testing.TB, m *OSDMap) {
	for i := int32(0); i < m.MaxOSD; i++ {
		m.OSDState[i] |= StateUp | StateExists
		m.OSDWeight[i] = WeightIn
		if w, ok := m.Crush.ItemWeight(i); ok && w == 0 {
			if err := m.Crush.AdjustItemWeight(i, 0x10000); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func markOut(m *OSDMap, o int32) {
	m.OSDState[o] |= StateUp
	m.OSDWeight[o] = WeightOut
}

// compareDumpAll runs osdmaptool --test-map-pgs-dump-all on fn with extra
// options and checks every PG against the library. It returns the number
// of PGs compared.
func compareDumpAll(t *testing.T, fn string, extra []string, prep func(*OSDMap)) int {
	t.Helper()
	osdmaptool := needTool(t, "osdmaptool")
	raw, err := os.ReadFile(fn)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", fn, err)
	}
	if prep != nil {
		prep(m)
	}
	out := runTool(t, osdmaptool, append([]string{fn, "--test-map-pgs-dump-all"}, extra...)...)
	n, bad := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := dumpAllLine.FindStringSubmatch(sc.Text())
		if f == nil {
			continue
		}
		pool, _ := strconv.ParseInt(f[1], 10, 64)
		seed, _ := strconv.ParseUint(f[2], 16, 32)
		pg := PG{Pool: pool, Seed: uint32(seed)}
		raw, rp := m.PGToRawOSDs(pg)
		up, upp, act, actp := m.PGToUpActing(pg)
		wrp, _ := strconv.Atoi(f[4])
		wupp, _ := strconv.Atoi(f[6])
		wactp, _ := strconv.Atoi(f[8])
		if !vecEq(raw, parseVec(t, f[3])) || int(rp) != wrp || !vecEq(up, parseVec(t, f[5])) || int(upp) != wupp ||
			!vecEq(act, parseVec(t, f[7])) || int(actp) != wactp {
			if bad < 5 {
				t.Errorf("%s: got raw %v p%d up %v p%d acting %v p%d; osdmaptool: %s", pg, raw, rp, up, upp, act, actp, sc.Text())
			}
			bad++
		}
		n++
	}
	if n == 0 {
		t.Fatalf("osdmaptool printed no PGs:\n%s", out)
	}
	if bad > 0 {
		t.Errorf("%d of %d PGs differ", bad, n)
	}
	return n
}

func TestOracleOsdmaptool(t *testing.T) {
	osdmaptool := needTool(t, "osdmaptool")
	crushtool := needTool(t, "crushtool")
	type tc struct {
		name  string
		osds  int
		crush []string // crushtool --build layers (imported), if any
		edit  [][]string
		upmap bool
		out   []int
	}
	cases := []tc{
		{name: "simple-6", osds: 6},
		{name: "simple-13-out", osds: 13, out: []int{4}},
		{name: "straw2-hosts", osds: 24, crush: []string{"host", "straw2", "4", "root", "straw2", "0"}, out: []int{7}},
		{name: "straw-racks", osds: 30, crush: []string{"host", "straw", "3", "rack", "straw", "2", "root", "straw", "0"}},
		{name: "list-tree-uniform", osds: 32, crush: []string{"host", "uniform", "4", "rack", "tree", "2", "root", "list", "0"}, out: []int{0}},
		{name: "reweighted", osds: 20, crush: []string{"host", "straw2", "5", "root", "straw2", "0"},
			edit: [][]string{{"--reweight-item", "osd.3", "0.3"}, {"--reweight-item", "osd.11", "0"}, {"--set-chooseleaf-vary-r", "0"}}},
		{name: "upmap", osds: 24, crush: []string{"host", "straw2", "4", "root", "straw2", "0"}, upmap: true},
		{name: "upmap-out", osds: 16, crush: []string{"host", "straw2", "2", "root", "straw2", "0"}, upmap: true, out: []int{3}},
	}
	total := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			fn := filepath.Join(dir, "osdmap")
			runTool(t, osdmaptool, "--createsimple", strconv.Itoa(c.osds), "--with-default-pool", "--pg-bits", "4", "--clobber", fn)
			if c.crush != nil {
				cfn := filepath.Join(dir, "crush")
				runTool(t, crushtool, append(append([]string{"--build", "--num_osds", strconv.Itoa(c.osds)}, c.crush...), "-o", cfn)...)
				for _, e := range c.edit {
					runTool(t, crushtool, append(append([]string{"-i", cfn}, e...), "-o", cfn)...)
				}
				runTool(t, osdmaptool, fn, "--import-crush", cfn)
			}
			if c.upmap {
				runTool(t, osdmaptool, fn, "--mark-up-in", "--upmap", filepath.Join(dir, "upmap.txt"),
					"--upmap-deviation", "1", "--upmap-max", "100", "--save")
				raw, _ := os.ReadFile(fn)
				m, err := Decode(raw)
				if err != nil {
					t.Fatal(err)
				}
				if len(m.PGUpmapItems) == 0 {
					t.Fatalf("osdmaptool --upmap produced no pg_upmap_items")
				}
			}
			// Down and out as created, then all up and in, then with
			// OSDs marked out.
			total += compareDumpAll(t, fn, nil, nil)
			total += compareDumpAll(t, fn, []string{"--mark-up-in"}, func(m *OSDMap) { markUpIn(t, m) })
			for _, o := range c.out {
				total += compareDumpAll(t, fn, []string{"--mark-up-in", "--mark-out", strconv.Itoa(o)},
					func(m *OSDMap) { markUpIn(t, m); markOut(m, int32(o)) })
			}
		})
	}
	t.Logf("compared %d PGs with osdmaptool", total)
}

// TestOracleMapObject checks object -> PG -> acting against
// osdmaptool --test-map-object for many names.
func TestOracleMapObject(t *testing.T) {
	osdmaptool := needTool(t, "osdmaptool")
	dir := t.TempDir()
	fn := filepath.Join(dir, "osdmap")
	runTool(t, osdmaptool, "--createsimple", "12", "--with-default-pool", "--pg-bits", "3", "--clobber", fn)
	raw, _ := os.ReadFile(fn)
	m, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	markUpIn(t, m)
	names := []string{"", "a", "obj1", "rbd_data.1234.0000000000000000", strings.Repeat("x", 11), strings.Repeat("y", 12),
		strings.Repeat("z", 13), "ünïcødé", "with space"}
	for i := 0; i < 60; i++ {
		names = append(names, fmt.Sprintf("object-%d-%s", i, strings.Repeat("q", i%25)))
	}
	for _, name := range names {
		if name == "" {
			continue // osdmaptool treats an empty name as "no action"
		}
		out := runTool(t, osdmaptool, fn, "--mark-up-in", "--test-map-object", name, "--pool", "1")
		pl, err := m.MapObject(name, Locator{Pool: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(" object '%s' -> %s -> %s\n", name, pl.PG, fmtVec(pl.Acting))
		if !strings.Contains(string(out), want) {
			t.Errorf("%q: want line %q in\n%s", name, want, out)
		}
	}
	t.Logf("compared %d objects with osdmaptool --test-map-object", len(names)-1)
}

func fmtVec(v []int32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(int(x))
	}
	return "[" + strings.Join(s, ",") + "]"
}
