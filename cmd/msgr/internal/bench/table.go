package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints one row per result, grouped by case, and after each
// group the ratios of every stack to the first one listed in stacks
// (messages/s, and bandwidth against raw TCP).
func WriteTable(w io.Writer, results []Result, stacks []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stack\tmode\tsize\tconns\tdepth/rate\tmsgs\tmsgs/s\tspread\tMB/s\tp50\tp99\tp999\tCPUs/1k\tallocs/msg\tgoroutines\tRSS\tsteal\trunq\tidleP\t")
	for _, g := range groupByCase(results) {
		for _, r := range g {
			spread := "-"
			if r.Repetitions > 1 {
				spread = fmt.Sprintf("%.0f%%", 100*r.Spread())
			}
			depth := fmt.Sprint(r.Depth)
			if r.Rate > 0 {
				depth = formatRate(r.Rate) + "/s"
			}
			steal := "-"
			if r.Steal >= 0 {
				steal = fmt.Sprintf("%.1f%%", r.Steal)
			}
			runq := "-"
			if r.Runq >= 0 {
				runq = fmt.Sprintf("%.2f", r.Runq)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%.1f\t%s\t%s\t%s\t%.4f\t%.1f\t%d\t%s\t%s\t%s\t%.2f\t\n",
				r.Stack, r.Mode, FormatSize(r.Size), r.Conns, depth, r.Messages,
				formatRate(r.MsgsPerSec), spread, r.MBPerSec, formatDur(r.P50), formatDur(r.P99), formatDur(r.P999),
				r.CPUPer1k, r.AllocsPer, r.Goroutines, FormatBytes(float64(r.RSS)), steal, runq, r.IdleP)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if lines := Ratios(results, stacks); len(lines) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "ratios:")
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
	return nil
}

// groupByCase orders results by case (mode, size, connections, depth),
// keeping the order stacks first appeared in within a case. Raw TCP has
// no mode: its result joins every mode's group of the same shape.
func groupByCase(results []Result) [][]Result {
	shape := func(r Result) string { return fmt.Sprintf("%d/%s", r.Size, r.Shape()) }
	raw := map[string]Result{}
	hasMsgr := map[string]bool{}
	for _, r := range results {
		if r.Stack == "raw" {
			raw[shape(r)] = r
		} else {
			hasMsgr[shape(r)] = true
		}
	}
	idx := map[string]int{}
	var groups [][]Result
	var shapes []string // of each group, for adding raw
	for _, r := range results {
		if r.Stack == "raw" && hasMsgr[shape(r)] {
			continue
		}
		k := r.Mode + "/" + shape(r)
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, nil)
			shapes = append(shapes, shape(r))
		}
		groups[i] = append(groups[i], r)
	}
	for i, g := range groups {
		if rr, ok := raw[shapes[i]]; ok && g[0].Stack != "raw" {
			groups[i] = append(g, rr)
		}
	}
	return groups
}

// Ratios describes, per case, each stack's messages/s against each other
// stack's, and each stack's bandwidth as a share of raw TCP.
func Ratios(results []Result, stacks []string) []string {
	var out []string
	for _, g := range groupByCase(results) {
		by := map[string]Result{}
		for _, r := range g {
			by[r.Stack] = r
		}
		var parts []string
		for i, a := range stacks {
			if a == "raw" {
				continue
			}
			for _, b := range stacks[i+1:] {
				if b == "raw" {
					continue
				}
				ra, oka := by[a]
				rb, okb := by[b]
				if oka && okb && rb.MsgsPerSec > 0 {
					parts = append(parts, fmt.Sprintf("%s/%s %.2fx", a, b, ra.MsgsPerSec/rb.MsgsPerSec))
				}
				// Messages per CPU second: steadier than rates when
				// others load the machine.
				if oka && okb && ra.CPUPer1k > 0 && rb.CPUPer1k > 0 {
					parts = append(parts, fmt.Sprintf("(per CPU-second %.2fx)", rb.CPUPer1k/ra.CPUPer1k))
				}
			}
		}
		if raw, ok := by["raw"]; ok && raw.MBPerSec > 0 {
			for _, s := range stacks {
				if r, ok := by[s]; ok && s != "raw" {
					parts = append(parts, fmt.Sprintf("%s %.0f%% of raw", s, 100*r.MBPerSec/raw.MBPerSec))
				}
			}
		}
		if len(parts) > 0 {
			r := g[0]
			out = append(out, fmt.Sprintf("%-6s %-7s %-14s %s", r.Mode, FormatSize(r.Size), r.Shape(), strings.Join(parts, "  ")))
		}
	}
	return out
}

// WriteIdleTable prints the idle-session costs.
func WriteIdleTable(w io.Writer, idle []IdleResult) error {
	if len(idle) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stack\tidle sessions\tRSS before\tRSS after\tRSS/session\theap/session\tgoroutines/session\tsetup\t")
	for _, r := range idle {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.2f\t%s\t\n", r.Stack, r.Sessions,
			FormatBytes(float64(r.RSSBefore)), FormatBytes(float64(r.RSSAfter)),
			FormatBytes(r.RSSPerSession), FormatBytes(r.HeapPerSession), r.GoroutinesPerSess,
			r.Setup.Round(time.Millisecond))
	}
	return tw.Flush()
}

// FormatSize prints a message size the way the flags take it (4K, 64K, 4M).
func FormatSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return fmt.Sprint(n)
}

// FormatBytes prints a byte count with a binary unit.
func FormatBytes(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2fGiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1fMiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1fKiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0fB", v)
}

func formatRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func formatDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d >= time.Microsecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	}
	return fmt.Sprintf("%dns", d.Nanoseconds())
}
