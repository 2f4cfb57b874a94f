package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/gomsgr/msgr/crush"
	"github.com/gomsgr/msgr/osdmap"
)

func init() {
	register("osdmaptool", "map objects and PGs with an osdmap file, as Ceph's osdmaptool does", runOsdmaptool)
}

const osdmaptoolUsage = `usage: msgr osdmaptool FILE [options]
  --test-map-object NAME [--pool ID]   map an object to its PG and acting set
  --test-map-pg PGID                   map one PG (raw, up, acting)
  --test-map-pgs [--pool ID]           map all PGs, print statistics
  --test-map-pgs-dump [--pool ID]      also print each PG's acting set
  --test-map-pgs-dump-all [--pool ID]  also print raw, up and acting sets
  --mark-up-in                         mark every OSD up and in first
  --mark-out ID                        mark one OSD out first
`

type osdmaptoolOpts struct {
	file          string
	object        string
	pg            string
	pool          int64
	mapPGs        bool
	dump          bool
	dumpAll       bool
	markUpIn      bool
	markOut       int64
	haveMarkedOut bool
}

func parseOsdmaptoolArgs(args []string) (*osdmaptoolOpts, error) {
	o := &osdmaptoolOpts{pool: -1, markOut: -1}
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		// Ceph's option parser treats '_' and '-' alike.
		name := a
		if strings.HasPrefix(a, "--") {
			name = "--" + strings.ReplaceAll(a[2:], "_", "-")
		}
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "--test-map-object":
			v, err := val()
			if err != nil {
				return nil, err
			}
			o.object = v
		case "--test-map-pg":
			v, err := val()
			if err != nil {
				return nil, err
			}
			o.pg = v
		case "--pool":
			v, err := val()
			if err != nil {
				return nil, err
			}
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("bad --pool %q", v)
			}
			o.pool = n
		case "--test-map-pgs":
			o.mapPGs = true
		case "--test-map-pgs-dump":
			o.dump = true
		case "--test-map-pgs-dump-all":
			o.dumpAll = true
		case "--mark-up-in":
			o.markUpIn = true
		case "--mark-out":
			v, err := val()
			if err != nil {
				return nil, err
			}
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("bad --mark-out %q", v)
			}
			o.markOut, o.haveMarkedOut = n, true
		case "-h", "--help":
			return nil, errHelp
		default:
			if strings.HasPrefix(a, "-") && a != "-" {
				return nil, fmt.Errorf("unknown option %s", a)
			}
			files = append(files, a)
		}
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("need exactly one osdmap file")
	}
	o.file = files[0]
	if o.object == "" && o.pg == "" && !o.mapPGs && !o.dump && !o.dumpAll {
		return nil, fmt.Errorf("no action specified")
	}
	return o, nil
}

var errHelp = fmt.Errorf("help")

func runOsdmaptool(args []string, stdout, stderr io.Writer) int {
	o, err := parseOsdmaptoolArgs(args)
	if err == errHelp {
		fmt.Fprint(stdout, osdmaptoolUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "osdmaptool: %v\n%s", err, osdmaptoolUsage)
		return 2
	}
	fmt.Fprintf(stderr, "osdmaptool: osdmap file '%s'\n", o.file)
	raw, err := os.ReadFile(o.file)
	if err != nil {
		fmt.Fprintf(stderr, "osdmaptool: couldn't open %s: %v\n", o.file, err)
		return 1
	}
	m, err := osdmap.Decode(raw)
	if err != nil {
		fmt.Fprintf(stderr, "osdmaptool: error decoding osdmap '%s': %v\n", o.file, err)
		return 1
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if code := osdmaptool(m, o, w, stderr); code != 0 {
		return code
	}
	return 0
}

func osdmaptool(m *osdmap.OSDMap, o *osdmaptoolOpts, w *bufio.Writer, stderr io.Writer) int {
	if o.markUpIn {
		fmt.Fprintln(w, "marking all OSDs up and in")
		for i := int32(0); i < m.MaxOSD; i++ {
			m.OSDState[i] |= osdmap.StateUp | osdmap.StateExists
			m.OSDWeight[i] = osdmap.WeightIn
			if cw, ok := m.Crush.ItemWeight(i); ok && cw == 0 {
				if err := m.Crush.AdjustItemWeight(i, 0x10000); err != nil {
					w.Flush()
					fmt.Fprintf(stderr, "osdmaptool: cannot give osd.%d a crush weight: %v\n", i, err)
					return 1
				}
			}
		}
	}
	if o.haveMarkedOut && o.markOut >= 0 && o.markOut < int64(m.MaxOSD) {
		fmt.Fprintf(w, "marking OSD@%d as out\n", o.markOut)
		m.OSDState[o.markOut] |= osdmap.StateUp
		m.OSDWeight[o.markOut] = osdmap.WeightOut
	}
	if o.object != "" {
		pool := o.pool
		if pool == -1 {
			fmt.Fprintln(w, "osdmaptool: assuming pool 1 (use --pool to override)")
			pool = 1
		}
		if m.Pool(pool) == nil {
			w.Flush()
			fmt.Fprintf(stderr, "There is no pool %d\n", pool)
			return 1
		}
		raw, _ := m.ObjectToPG(o.object, osdmap.Locator{Pool: pool})
		pg := m.RawPGToPG(raw)
		acting, _ := m.PGToActing(pg)
		fmt.Fprintf(w, " object '%s' -> %s -> %s\n", o.object, pg, vecString(acting))
	}
	if o.pg != "" {
		pg, err := osdmap.ParsePG(o.pg)
		if err != nil {
			w.Flush()
			fmt.Fprintf(stderr, "osdmaptool: failed to parse pg '%s\n", o.pg)
			return 1
		}
		fmt.Fprintf(w, " parsed '%s' -> %s\n", o.pg, pg)
		raw, rp := m.PGToRawOSDs(pg)
		up, upp, act, actp := m.PGToUpActing(pg)
		fmt.Fprintf(w, "%s raw (%s, p%d) up (%s, p%d) acting (%s, p%d)\n", pg, vecString(raw), rp,
			vecString(up), upp, vecString(act), actp)
	}
	if o.mapPGs || o.dump || o.dumpAll {
		if o.pool != -1 && m.Pool(o.pool) == nil {
			w.Flush()
			fmt.Fprintf(stderr, "There is no pool %d\n", o.pool)
			return 1
		}
		mapAllPGs(m, o, w)
	}
	return 0
}

func mapAllPGs(m *osdmap.OSDMap, o *osdmaptoolOpts, w *bufio.Writer) {
	n := int(m.MaxOSD)
	count := make([]int, n)
	first := make([]int, n)
	primaryCount := make([]int, n)
	sizes := map[int]int{}
	maxSize := 0
	ids := make([]int64, 0, len(m.Pools))
	for id := range m.Pools {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if o.pool != -1 && id != o.pool {
			continue
		}
		p := m.Pools[id]
		fmt.Fprintf(w, "pool %d pg_num %d\n", id, p.PGNum)
		for ps := uint32(0); ps < p.PGNum; ps++ {
			pg := osdmap.PG{Pool: id, Seed: ps}
			var osds []int32
			var primary int32
			if o.dumpAll {
				raw, rp := m.PGToRawOSDs(pg)
				up, upp, act, actp := m.PGToUpActing(pg)
				osds, primary = act, actp
				fmt.Fprintf(w, "%s raw (%s, p%d) up (%s, p%d) acting (%s, p%d)\n", pg, vecString(raw), rp,
					vecString(up), upp, vecString(act), actp)
			} else {
				osds, primary = m.PGToActing(pg)
				if o.dump {
					fmt.Fprintf(w, "%s\t%s\t%d\n", pg, vecString(osds), primary)
				}
			}
			sizes[len(osds)]++
			if len(osds) > maxSize {
				maxSize = len(osds)
			}
			for _, x := range osds {
				if x != crush.ItemNone && x >= 0 && int(x) < n {
					count[x]++
				}
			}
			if len(osds) > 0 && osds[0] != crush.ItemNone && osds[0] >= 0 && int(osds[0]) < n {
				first[osds[0]]++
			}
			if primary >= 0 && int(primary) < n {
				primaryCount[primary]++
			}
		}
	}
	var total uint64
	in := 0
	minOSD, maxOSD := -1, -1
	included := func(i int) bool {
		if !m.IsIn(int32(i)) {
			return false
		}
		cw, ok := m.Crush.ItemWeight(int32(i))
		return ok && cw > 0
	}
	fmt.Fprint(w, "#osd\tcount\tfirst\tprimary\tc wt\twt\n")
	for i := 0; i < n; i++ {
		if !included(i) {
			continue
		}
		in++
		cw, _ := m.Crush.ItemWeight(int32(i))
		fmt.Fprintf(w, "osd.%d\t%d\t%d\t%d\t%s\t%s\n", i, count[i], first[i], primaryCount[i],
			cppFloat(float64(float32(cw)/float32(0x10000))), cppFloat(float64(float32(m.OSDWeight[i])/float32(0x10000))))
		total += uint64(count[i])
		if count[i] != 0 && (minOSD < 0 || count[i] < count[minOSD]) {
			minOSD = i
		}
		if count[i] != 0 && (maxOSD < 0 || count[i] > count[maxOSD]) {
			maxOSD = i
		}
	}
	var avg uint64
	if in > 0 {
		avg = total / uint64(in)
	}
	dev := 0.0
	for i := 0; i < n; i++ {
		if !included(i) {
			continue
		}
		// osdmaptool squares an unsigned difference; modulo 2^64 that
		// is still the square.
		d := avg - uint64(count[i])
		dev += float64(d * d)
	}
	dev = cppDiv(dev, float64(in))
	dev = math.Sqrt(dev)
	edev := math.Sqrt(cppDiv(float64(total), float64(in)) * (1.0 - cppDiv(1.0, float64(in))))
	fmt.Fprintf(w, " in %d\n", in)
	fmt.Fprintf(w, " avg %d stddev %s (%sx) (expected %s %sx))\n", avg, cppFloat(dev),
		cppFloat(cppDiv(dev, float64(avg))), cppFloat(edev), cppFloat(cppDiv(edev, float64(avg))))
	if minOSD >= 0 {
		fmt.Fprintf(w, " min osd.%d %d\n", minOSD, count[minOSD])
	}
	if maxOSD >= 0 {
		fmt.Fprintf(w, " max osd.%d %d\n", maxOSD, count[maxOSD])
	}
	for i := 0; i <= maxSize; i++ {
		if sizes[i] != 0 {
			fmt.Fprintf(w, "size %d\t%d\n", i, sizes[i])
		}
	}
}

// cppDiv divides as x86 does: 0/0 gives the negative default NaN.
func cppDiv(a, b float64) float64 {
	if b == 0 && a == 0 {
		return math.Copysign(math.NaN(), -1)
	}
	return a / b
}

// cppFloat formats f as a default-configured C++ ostream does (%g with six
// significant digits, glibc's spelling of NaN and infinity).
func cppFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

// vecString formats a vector<int> as Ceph's operator<< does: "[1,2,3]".
func vecString(v []int32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(int64(x), 10))
	}
	b.WriteByte(']')
	return b.String()
}
