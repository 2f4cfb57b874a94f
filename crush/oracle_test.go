package crush

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// needTool returns the path of a Ceph tool, skipping the test when it is
// missing (failing instead under CI=true, where Ceph is installed).
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

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.Bytes()
}

type mapping struct {
	rule, x int
	osds    []int32
}

// parseMappings reads "CRUSH rule R x X [a,b,c]" lines.
func parseMappings(t testing.TB, out []byte) []mapping {
	t.Helper()
	var ms []mapping
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "CRUSH rule ") {
			continue
		}
		var m mapping
		var set string
		if _, err := fmt.Sscanf(line, "CRUSH rule %d x %d %s", &m.rule, &m.x, &set); err != nil {
			t.Fatalf("parse %q: %v", line, err)
		}
		set = strings.Trim(set, "[]")
		if set != "" {
			for _, f := range strings.Split(set, ",") {
				v, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					t.Fatalf("parse %q: %v", line, err)
				}
				m.osds = append(m.osds, int32(v))
			}
		}
		ms = append(ms, m)
	}
	return ms
}

type crushCase struct {
	name    string
	build   [][]string // successive crushtool invocations producing map.bin
	text    string     // or a text map compiled with crushtool -c
	numReps []int
	weights map[int]float64 // --weight overrides for the test
	maxX    int
}

func defaultWeights(m *Map, over map[int]float64) []uint32 {
	present := map[int32]bool{}
	for _, b := range m.Buckets {
		if b == nil {
			continue
		}
		for _, it := range b.Items {
			if it >= 0 {
				present[it] = true
			}
		}
	}
	w := make([]uint32, m.MaxDevices)
	for i := range w {
		if f, ok := over[i]; ok {
			w[i] = uint32(float32(f) * 0x10000)
		} else if present[int32(i)] {
			w[i] = 0x10000
		}
	}
	return w
}

func TestOracleCrushtool(t *testing.T) {
	crushtool := needTool(t, "crushtool")
	var cases []crushCase
	for _, alg := range []string{"uniform", "list", "tree", "straw", "straw2"} {
		cases = append(cases, crushCase{
			name:    "flat-" + alg,
			build:   [][]string{{"--build", "--num_osds", "24", "host", alg, "4", "root", alg, "0"}},
			numReps: []int{1, 3, 5},
		})
	}
	cases = append(cases,
		crushCase{name: "layers-mixed", build: [][]string{{"--build", "--num_osds", "40", "host", "straw2", "5", "rack", "list", "2", "row", "tree", "2", "root", "straw", "0"}}, numReps: []int{2, 3, 4}},
		crushCase{name: "uneven-uniform", build: [][]string{{"--build", "--num_osds", "17", "host", "uniform", "3", "root", "straw2", "0"}}, numReps: []int{3, 6}},
		crushCase{name: "reweighted", build: [][]string{
			{"--build", "--num_osds", "24", "host", "straw2", "4", "root", "straw2", "0"},
			{"--reweight-item", "osd.3", "0.25"},
			{"--reweight-item", "osd.7", "3.5"},
			{"--reweight-item", "host2", "0"},
		}, numReps: []int{3}},
		crushCase{name: "reweighted-straw", build: [][]string{
			{"--build", "--num_osds", "20", "host", "straw", "5", "root", "straw", "0"},
			{"--reweight-item", "osd.1", "0.5"},
			{"--reweight-item", "osd.12", "2"},
		}, numReps: []int{3}},
		crushCase{name: "out-and-partial", build: [][]string{{"--build", "--num_osds", "16", "host", "straw2", "4", "root", "straw2", "0"}},
			numReps: []int{3}, weights: map[int]float64{0: 0, 5: 0.5, 6: 0.1, 9: 0, 10: 0.75}},
		crushCase{name: "legacy-tunables", build: [][]string{
			{"--build", "--num_osds", "16", "host", "straw", "4", "root", "straw", "0"},
			{"--set-choose-local-tries", "2", "--set-choose-local-fallback-tries", "5", "--set-choose-total-tries", "19", "--set-chooseleaf-descend-once", "0", "--set-chooseleaf-vary-r", "0", "--set-chooseleaf-stable", "0"},
		}, numReps: []int{3}, weights: map[int]float64{2: 0, 3: 0.3}},
		crushCase{name: "vary-r-stable", build: [][]string{
			{"--build", "--num_osds", "30", "host", "straw2", "3", "rack", "straw2", "5", "root", "straw2", "0"},
			{"--set-chooseleaf-vary-r", "1", "--set-chooseleaf-stable", "1", "--set-choose-total-tries", "7"},
		}, numReps: []int{3, 4}, weights: map[int]float64{4: 0, 11: 0.2}},
		crushCase{name: "indep", build: [][]string{
			{"--build", "--num_osds", "24", "host", "straw2", "2", "root", "straw2", "0"},
			{"--create-simple-rule", "ec", "root", "host", "indep"},
			{"--create-simple-rule", "ecosd", "root", "osd", "indep"},
		}, numReps: []int{4, 6, 14}, weights: map[int]float64{1: 0, 8: 0.5, 9: 0}},
		crushCase{name: "indep-uniform", build: [][]string{
			{"--build", "--num_osds", "24", "host", "uniform", "4", "root", "uniform", "0"},
			{"--create-simple-rule", "ec", "root", "host", "indep"},
		}, numReps: []int{3, 6}, weights: map[int]float64{3: 0}},
		crushCase{name: "classes-chooseargs", text: classText, numReps: []int{2, 3}},
	)
	total := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fn := filepath.Join(dir, "map.bin")
			if tc.text != "" {
				txt := filepath.Join(dir, "map.txt")
				if err := os.WriteFile(txt, []byte(tc.text), 0o644); err != nil {
					t.Fatal(err)
				}
				run(t, crushtool, "-c", txt, "-o", fn)
			}
			for i, args := range tc.build {
				if i == 0 && tc.text == "" {
					run(t, crushtool, append(args, "-o", fn)...)
					continue
				}
				run(t, crushtool, append(append([]string{"-i", fn}, args...), "-o", fn)...)
			}
			raw, err := os.ReadFile(fn)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			maxX := tc.maxX
			if maxX == 0 {
				maxX = 1023
			}
			weights := defaultWeights(m, tc.weights)
			mismatches := 0
			for _, nr := range tc.numReps {
				args := []string{"-i", fn, "--test", "--show-mappings", "--num-rep", strconv.Itoa(nr),
					"--min-x", "0", "--max-x", strconv.Itoa(maxX)}
				for dev, w := range tc.weights {
					args = append(args, "--weight", strconv.Itoa(dev), strconv.FormatFloat(w, 'f', -1, 64))
				}
				got := parseMappings(t, run(t, crushtool, args...))
				if len(got) == 0 {
					t.Fatalf("crushtool printed no mappings")
				}
				for _, want := range got {
					res := m.DoRule(want.rule, int32(want.x), nr, weights, m.ChooseArgsFor(DefaultChooseArgs), nil)
					if !equal32(res, want.osds) {
						if mismatches < 5 {
							t.Errorf("rule %d x %d numrep %d: got %v want %v", want.rule, want.x, nr, res, want.osds)
						}
						mismatches++
					}
					total++
				}
			}
			if mismatches > 0 {
				t.Errorf("%d mismatches", mismatches)
			}
		})
	}
	t.Logf("compared %d crushtool mappings", total)
}

func equal32(a, b []int32) bool {
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

// classText exercises device classes (shadow trees) and a default
// choose_args weight set.
const classText = `
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

rule ssd_rule {
	id 0
	type replicated
	min_size 1
	max_size 10
	step take default class ssd
	step chooseleaf firstn 0 type host
	step emit
}
rule hdd_rule {
	id 1
	type replicated
	min_size 1
	max_size 10
	step take default class hdd
	step chooseleaf firstn 0 type host
	step emit
}
rule any_rule {
	id 2
	type replicated
	min_size 1
	max_size 10
	step take default
	step choose firstn 0 type host
	step choose firstn 1 type osd
	step emit
}

choose_args 18446744073709551615 {
  {
    bucket_id -1
    weight_set [
      [ 1.000 3.000 0.200 ]
      [ 2.000 1.000 1.000 ]
    ]
  }
  {
    bucket_id -2
    weight_set [
      [ 0.300 2.000 1.000 ]
    ]
  }
}
`
