package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// series is one line of the plot: one stack at one connections×depth.
type series struct {
	label  string
	stack  string
	points []Result // sorted by size
}

// plotSeries picks the lines to draw: per stack, the connections×depth
// combinations measured at two sizes or more (all results when none is).
func plotSeries(results []Result) []series {
	type key struct {
		stack, mode, shape string
	}
	by := map[key][]Result{}
	var order []key
	for _, r := range results {
		k := key{r.Stack, r.Mode, r.Shape()}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], r)
	}
	var out []series
	for _, k := range order {
		if len(by[k]) < 2 {
			continue
		}
		pts := append([]Result(nil), by[k]...)
		sort.Slice(pts, func(i, j int) bool { return pts[i].Size < pts[j].Size })
		out = append(out, series{label: seriesLabel(k.stack, k.mode, k.shape), stack: k.stack, points: pts})
	}
	if len(out) == 0 {
		for _, k := range order {
			out = append(out, series{label: seriesLabel(k.stack, k.mode, k.shape), stack: k.stack, points: by[k]})
		}
	}
	return out
}

func seriesLabel(stack, mode, shape string) string {
	if mode != "" && mode != "-" {
		stack += " " + mode
	}
	return fmt.Sprintf("%s, %s", stack, shape)
}

var stackColors = map[string]string{"eventloop": "#1f77b4", "gonet": "#d62728", "raw": "#7f7f7f"}

var extraColors = []string{"#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

// WritePlotFile writes the SVG plot of results to path.
func WritePlotFile(path string, results []Result, title string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WritePlot(f, results, title); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WritePlot draws two panels, throughput (MB/s) and p99 latency against
// message size, both on log scales, one line per stack.
func WritePlot(w io.Writer, results []Result, title string) error {
	ss := plotSeries(results)
	if len(ss) == 0 {
		return fmt.Errorf("bench: nothing to plot")
	}
	const (
		width, height = 1100, 520
		panelW        = 440
		panelH        = 330
		top           = 70
	)
	lefts := [2]float64{80, 80 + panelW + 110}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="30" font-size="18" text-anchor="middle">%s</text>`+"\n", width/2, xmlEscape(title))

	minS, maxS := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.points {
			minS = math.Min(minS, float64(p.Size))
			maxS = math.Max(maxS, float64(p.Size))
		}
	}
	if minS == maxS {
		minS, maxS = minS/2, maxS*2
	}
	xlo, xhi := math.Log2(minS), math.Log2(maxS)
	pad := (xhi - xlo) * 0.05
	xlo, xhi = xlo-pad, xhi+pad

	panels := []struct {
		name string
		unit string
		get  func(Result) float64
	}{
		{"throughput", "MB/s", func(r Result) float64 { return r.MBPerSec }},
		{"p99 latency", "µs", func(r Result) float64 { return float64(r.P99) / 1e3 }},
	}
	type style struct{ color, dash string }
	styles := make([]style, len(ss))
	seen := map[string]bool{}
	for i, s := range ss {
		if c, ok := stackColors[s.stack]; ok && !seen[s.stack] {
			styles[i] = style{color: c}
		} else {
			styles[i] = style{color: extraColors[i%len(extraColors)], dash: ` stroke-dasharray="6 3"`}
		}
		seen[s.stack] = true
	}
	for pi, pn := range panels {
		left := lefts[pi]
		ylo, yhi := math.Inf(1), math.Inf(-1)
		for _, s := range ss {
			for _, p := range s.points {
				if v := pn.get(p); v > 0 {
					ylo = math.Min(ylo, v)
					yhi = math.Max(yhi, v)
				}
			}
		}
		if math.IsInf(ylo, 1) {
			ylo, yhi = 1, 10
		}
		ylo = math.Pow(10, math.Floor(math.Log10(ylo)))
		yhi = math.Pow(10, math.Ceil(math.Log10(yhi)))
		if ylo == yhi {
			yhi *= 10
		}
		lylo, lyhi := math.Log10(ylo), math.Log10(yhi)
		px := func(size float64) float64 { return left + (math.Log2(size)-xlo)/(xhi-xlo)*panelW }
		py := func(v float64) float64 { return top + panelH - (math.Log10(v)-lylo)/(lyhi-lylo)*panelH }

		fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="15" text-anchor="middle">%s (%s, log scale)</text>`+"\n", left+panelW/2, top-12, pn.name, pn.unit)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, panelW, panelH)
		// y grid: decades, with 2 and 5 minor lines
		for e := lylo; e <= lyhi+1e-9; e++ {
			v := math.Pow(10, e)
			y := py(v)
			fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ccc"/>`+"\n", left, y, left+panelW, y)
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12" text-anchor="end">%s</text>`+"\n", left-6, y+4, axisNum(v))
			for _, m := range []float64{2, 5} {
				if mv := v * m; mv < yhi {
					fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/>`+"\n", left, py(mv), left+panelW, py(mv))
				}
			}
		}
		// x ticks: the measured sizes
		sizes := map[int]bool{}
		for _, s := range ss {
			for _, p := range s.points {
				sizes[p.Size] = true
			}
		}
		for sz := range sizes {
			x := px(float64(sz))
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, top, x, top+panelH)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" text-anchor="middle">%s</text>`+"\n", x, top+panelH+18, FormatSize(sz))
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="13" text-anchor="middle">message size (bytes, log scale)</text>`+"\n", left+panelW/2, top+panelH+40)

		for si, s := range ss {
			color, dash := styles[si].color, styles[si].dash
			var pts []string
			for _, p := range s.points {
				if v := pn.get(p); v > 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(float64(p.Size)), py(v)))
				}
			}
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5"%s/>`+"\n", strings.Join(pts, " "), color, dash)
			}
			for _, pt := range pts {
				var x, y float64
				fmt.Sscanf(pt, "%f,%f", &x, &y)
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", x, y, color)
			}
		}
	}
	// legend
	ly := float64(top + panelH + 62)
	lx := lefts[0]
	for si, s := range ss {
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="3"%s/>`+"\n", lx, ly, lx+28, ly, styles[si].color, styles[si].dash)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="13">%s</text>`+"\n", lx+34, ly+4, xmlEscape(s.label))
		lx += 300
		if lx > width-250 {
			lx = lefts[0]
			ly += 22
		}
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func axisNum(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
