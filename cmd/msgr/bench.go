package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/asok"
	"github.com/gomsgr/msgr/cmd/msgr/internal/bench"
	"github.com/gomsgr/msgr/perf"
)

func init() {
	register("bench", "measure the messenger: event loop vs Go net vs raw TCP (serve, client: two processes)", runBench)
}

const benchUsage = `usage:
  msgr bench [flags]                 servers and clients in this process
  msgr bench serve --addr IP:PORT    servers only: stack i on PORT+i, raw TCP after them
  msgr bench client --addr IP:PORT   clients of a 'msgr bench serve' with the same --stack

With no --size and no --conns, the default cases run: 4K at 1, 16 and 256
connections, 64K and 4M at 1 connection, plus idle sessions per stack.
`

// benchFlags are the flags shared by the one-process run and the client.
type benchFlags struct {
	fs         *flag.FlagSet
	stacks     string
	raw        bool
	modes      string
	sizes      string
	conns      string
	depth      int
	lossless   bool
	duration   time.Duration
	count      int64
	rate       float64
	reps       int
	idle       int
	jsonPath   string
	plotPath   string
	progress   bool
	cpuprofile string
	memprofile string
	timeout    time.Duration
	addr       string
	perf       bool
	adminSock  string
}

func newBenchFlags(name string, stderr io.Writer, client bool) *benchFlags {
	f := &benchFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs := f.fs
	fs.SetOutput(stderr)
	fs.StringVar(&f.stacks, "stack", "eventloop,gonet", "messenger stacks to compare, comma separated (eventloop, gonet)")
	fs.BoolVar(&f.raw, "raw", true, "also measure the raw-TCP ceiling (same payload bytes, no protocol)")
	fs.StringVar(&f.modes, "mode", "crc", "connection modes, comma separated (crc: msgr2, auth none; secure: msgr2, cephx and AES-GCM; v1: msgr1, auth none)")
	fs.StringVar(&f.sizes, "size", "", "message sizes, comma separated (4K, 64K, 4M, or bytes)")
	fs.StringVar(&f.conns, "conns", "", "connection counts, comma separated")
	fs.IntVar(&f.depth, "depth", 1, "messages in flight per connection")
	fs.BoolVar(&f.lossless, "lossless", false, "messenger clients are lossless clients of a stateful server (messages kept until acked, resent after a fault, as between Ceph daemons) instead of lossy ones (as librados')")
	fs.DurationVar(&f.duration, "duration", time.Second, "length of each run (ignored with --count)")
	fs.Int64Var(&f.count, "count", 0, "messages per run instead of a duration")
	fs.Float64Var(&f.rate, "rate", 0, "open loop: offer this many messages per second in all, whatever the answers (--depth ignored); latency counts from when each message was due")
	fs.IntVar(&f.reps, "reps", 2, "repetitions per case and stack, alternating stacks; figures are medians")
	fs.IntVar(&f.idle, "idle", -1, "idle sessions to open per stack (in a server process of its own); default 2000 with the default cases, else 0")
	fs.StringVar(&f.jsonPath, "json", "", "write all results to this JSON file")
	fs.StringVar(&f.plotPath, "plot", "", "write an SVG plot of throughput and p99 against message size")
	fs.BoolVar(&f.progress, "progress", false, "show progress on stderr even when it is not a terminal")
	fs.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of each timed run to PREFIX-STACK[-MODE]-SIZE-CONNS.pprof (MODE unless crc)")
	fs.StringVar(&f.memprofile, "memprofile", "", "write a heap profile at the end of each timed run to PREFIX-STACK[-MODE]-SIZE-CONNS.pprof, and with --idle the server process's with the sessions open to PREFIX-idle-STACK.pprof")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up on a run this long after its duration")
	fs.BoolVar(&f.perf, "perf", false, "count perf counters (AsyncMessenger::Worker-N) during the runs")
	fs.StringVar(&f.adminSock, "admin-socket", "", "serve the perf counters at this admin socket (ceph daemon PATH perf dump); implies --perf")
	if client {
		fs.StringVar(&f.addr, "addr", "", "base address of 'msgr bench serve' (required)")
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	return f
}

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return runBenchServe(args[1:], stdout, stderr)
		case "client":
			return runBenchMain(args[1:], stdout, stderr, true)
		}
	}
	return runBenchMain(args, stdout, stderr, false)
}

// parseBenchSize reads 4096, 4K, 64KiB, 4M, 1G.
func parseBenchSize(s string) (int, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := 1
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || n > (1<<31)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		v, err := parse(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad count %q", s)
	}
	return n, nil
}

// cases builds the case list from the flags; def reports the default plan.
func (f *benchFlags) cases() (cases []bench.Spec, def bool, err error) {
	modes, err := parseList(f.modes, func(s string) (string, error) { return strings.TrimSpace(s), nil })
	if err != nil || len(modes) == 0 {
		return nil, false, fmt.Errorf("bad --mode %q", f.modes)
	}
	for _, m := range modes {
		if err := bench.CheckMode(m); err != nil {
			return nil, false, err
		}
	}
	base := bench.Spec{Depth: f.depth, Duration: f.duration, Count: f.count, Rate: f.rate, Lossless: f.lossless}
	if f.count > 0 {
		base.Duration = 0
	}
	type sc struct{ size, conns int }
	var grid []sc
	if f.sizes == "" && f.conns == "" {
		def = true
		grid = []sc{{4 << 10, 1}, {4 << 10, 16}, {4 << 10, 256}, {64 << 10, 1}, {4 << 20, 1}}
	} else {
		sizes, err := parseList(f.sizes, parseBenchSize)
		if err != nil {
			return nil, false, err
		}
		conns, err := parseList(f.conns, parseCount)
		if err != nil {
			return nil, false, err
		}
		if len(sizes) == 0 {
			sizes = []int{4 << 10}
		}
		if len(conns) == 0 {
			conns = []int{1}
		}
		for _, s := range sizes {
			for _, c := range conns {
				grid = append(grid, sc{s, c})
			}
		}
	}
	for _, m := range modes {
		for _, g := range grid {
			s := base
			s.Mode, s.Size, s.Conns = m, g.size, g.conns
			if err := s.Validate(); err != nil {
				return nil, false, err
			}
			cases = append(cases, s)
		}
	}
	return cases, def, nil
}

func (f *benchFlags) stackList() (msgrStacks, all []string, err error) {
	msgrStacks, err = bench.ParseStacks(f.stacks)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range msgrStacks {
		if s == "raw" {
			return nil, nil, fmt.Errorf("--stack names messenger stacks; the raw ceiling is --raw")
		}
	}
	all = append([]string(nil), msgrStacks...)
	if f.raw {
		all = append(all, "raw")
	}
	return msgrStacks, all, nil
}

// explicit reports whether name was given on the command line.
func explicit(fs *flag.FlagSet, names ...string) bool {
	found := false
	fs.Visit(func(fl *flag.Flag) {
		for _, n := range names {
			if fl.Name == n {
				found = true
			}
		}
	})
	return found
}

func runBenchMain(args []string, stdout, stderr io.Writer, client bool) int {
	name := "bench"
	if client {
		name = "bench client"
	}
	f := newBenchFlags(name, stderr, client)
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "msgr bench: unexpected argument %q\n", f.fs.Arg(0))
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "msgr %s: %v\n", name, err)
		return 1
	}
	cases, def, err := f.cases()
	if err != nil {
		return fail(err)
	}
	msgrStacks, all, err := f.stackList()
	if err != nil {
		return fail(err)
	}
	idle := f.idle
	if idle < 0 {
		idle = 0
		if def {
			idle = 2000
		}
	}
	// --idle alone measures idle sessions only.
	if explicit(f.fs, "idle") && !explicit(f.fs, "size", "conns", "count", "duration", "depth", "rate") {
		cases = nil
	}
	if client && f.addr == "" {
		return fail(errors.New("--addr is required"))
	}

	if f.perf || f.adminSock != "" {
		bench.Perf = perf.NewCollection()
		defer func() { bench.Perf = nil }()
	}
	if f.adminSock != "" {
		s, err := asok.Listen(f.adminSock, asok.Options{Perf: bench.Perf})
		if err != nil {
			return fail(err)
		}
		defer s.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report := bench.NewReport()
	started := time.Now()

	var progress *bench.Progress
	if f.progress || isTerminal(stderr) {
		progress = bench.NewProgress(stderr)
	}
	closeProgress := func() {
		progress.Close()
		progress = nil
	}
	defer closeProgress()

	if len(cases) > 0 {
		var targets map[string]bench.Target
		if client {
			base, err := netip.ParseAddrPort(f.addr)
			if err != nil {
				return fail(fmt.Errorf("--addr: %w", err))
			}
			targets = remoteTargets(base, all)
		} else {
			var closeServers func() error
			targets, closeServers, err = bench.LocalServers(ctx, all)
			if err != nil {
				return fail(err)
			}
			defer closeServers()
		}
		suite := bench.Suite{Stacks: all, Cases: cases, Reps: f.reps, Targets: targets, Progress: progress,
			ProfilePrefix: f.cpuprofile, HeapPrefix: f.memprofile, Timeout: f.timeout}
		medians, runs, err := suite.Run(ctx)
		report.Results, report.Runs = medians, runs
		if err != nil {
			closeProgress()
			return fail(err)
		}
	}
	if idle > 0 {
		exe, err := os.Executable()
		if err != nil {
			return fail(err)
		}
		for _, st := range msgrStacks {
			heap := ""
			if f.memprofile != "" {
				if heap, err = filepath.Abs(fmt.Sprintf("%s-idle-%s.pprof", f.memprofile, st)); err != nil {
					return fail(err)
				}
			}
			r, err := bench.RunIdle(ctx, []string{exe}, st, idle, progress, heap)
			if err != nil {
				closeProgress()
				return fail(fmt.Errorf("idle %s: %w", st, err))
			}
			report.Idle = append(report.Idle, r)
		}
	}
	closeProgress()
	report.Finish()
	report.Elapsed = time.Since(started)

	if err := printReport(stdout, report, f, all, len(cases)); err != nil {
		return fail(err)
	}
	if f.jsonPath != "" {
		if err := report.WriteJSON(f.jsonPath); err != nil {
			return fail(err)
		}
	}
	if f.plotPath != "" && len(report.Results) > 0 {
		title := fmt.Sprintf("msgr bench: %s; %d CPUs, %s; load %s", strings.Join(all, " vs "), report.CPUs, report.GoVersion,
			strings.Fields(report.LoadBefore + " ?")[0])
		if err := bench.WritePlotFile(f.plotPath, report.Results, title); err != nil {
			return fail(err)
		}
	}
	return 0
}

func remoteTargets(base netip.AddrPort, all []string) map[string]bench.Target {
	tg := map[string]bench.Target{}
	for i, st := range all {
		tg[st] = bench.Target{Stack: st, Addr: netip.AddrPortFrom(base.Addr(), base.Port()+uint16(i))}
	}
	return tg
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && bench.IsTerminal(f)
}

func printReport(w io.Writer, r *bench.Report, f *benchFlags, stacks []string, ncases int) error {
	steal := ""
	if r.Steal != "" {
		steal = "; CPU steal " + r.Steal
	}
	fmt.Fprintf(w, "msgr bench: %d CPUs, GOMAXPROCS %d, %s %s/%s; load average before %s, after %s%s; %s\n",
		r.CPUs, r.GOMAXPROCS, r.GoVersion, r.GOOS, r.GOARCH, r.LoadBefore, r.LoadAfter, steal, r.Elapsed.Round(100*time.Millisecond))
	if ncases > 0 {
		each := f.duration.String()
		if f.count > 0 {
			each = fmt.Sprintf("%d messages", f.count)
		}
		if f.rate > 0 {
			each += fmt.Sprintf(" offered at %.0f msgs/s (open loop)", f.rate)
		}
		clients := ""
		if f.lossless {
			clients = " with lossless clients"
		}
		scope := "the whole process (clients and servers)"
		if f.addr != "" {
			scope = "this client process only"
		}
		fmt.Fprintf(w, "%d cases x %d stacks x %d reps of %s each%s, alternating; medians (spread: (max-min)/median of msgs/s over the reps). CPU, allocations, goroutines and RSS are %s; steal is the machine's CPU time the hypervisor gave to others during the run; runq is how many of the process's threads waited for a CPU other work held (average), idleP how many of its Go Ps had nothing to run.\n\n",
			ncases, len(stacks), max(f.reps, 1), each, clients, scope)
		if err := bench.WriteTable(w, r.Results, stacks); err != nil {
			return err
		}
		if t := targets(r); len(t) > 0 {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "targets (measured, not asserted):")
			for _, l := range t {
				fmt.Fprintln(w, "  "+l)
			}
		}
	}
	if len(r.Idle) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "idle sessions (server process only, after GC):")
		if err := bench.WriteIdleTable(w, r.Idle); err != nil {
			return err
		}
		for _, i := range r.Idle {
			if i.Stack == "eventloop" {
				fmt.Fprintf(w, "  target eventloop <= 6KiB RSS per idle session: %s  %s\n", bench.FormatBytes(i.RSSPerSession), verdict(i.RSSPerSession <= 6<<10))
			}
		}
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "SHORT"
}

// targets checks the issues' goals against the results: at 4 KiB,
// eventloop/gonet msgs/s >= 1.1x at 1 connection, 1.5x at 16 and 256,
// 1.3x beyond, at <= 0.8x gonet's CPU per message (issue 12); crc >= 70%
// of raw TCP at 64 KiB and 85% at 4 MiB, secure >= 60% at 4 MiB, CPU per
// 4 MiB message <= 1.5x raw's, p99 <= 3x p50 at 64 KiB and 4 MiB (issue
// 13).
func targets(r *bench.Report) []string {
	type key struct {
		stack       string
		size, conns int
		mode        string
	}
	by := map[key]bench.Result{}
	for _, x := range r.Results {
		by[key{x.Stack, x.Size, x.Conns, x.Mode}] = x
	}
	var out []string
	for _, x := range r.Results {
		if x.Stack != "eventloop" || x.Rate > 0 {
			continue // open-loop rates are what was offered
		}
		if x.Size == 4<<10 {
			if g, ok := by[key{"gonet", x.Size, x.Conns, x.Mode}]; ok && g.MsgsPerSec > 0 {
				want := 1.1
				switch {
				case x.Conns > 256:
					want = 1.3
				case x.Conns >= 16:
					want = 1.5
				}
				ratio := x.MsgsPerSec / g.MsgsPerSec
				out = append(out, fmt.Sprintf("%-6s 4K %4d conns: eventloop/gonet msgs/s %.2fx (target >= %.1fx)  %s", x.Mode, x.Conns, ratio, want, verdict(ratio >= want)))
				if x.CPUPer1k > 0 && g.CPUPer1k > 0 {
					cpu := x.CPUPer1k / g.CPUPer1k
					out = append(out, fmt.Sprintf("%-6s 4K %4d conns: eventloop/gonet CPU per msg %.2fx (target <= 0.8x)  %s", x.Mode, x.Conns, cpu, verdict(cpu <= 0.8)))
				}
			}
		}
		if (x.Size == 64<<10 || x.Size == 4<<20) && x.P50 > 0 {
			tail := float64(x.P99) / float64(x.P50)
			out = append(out, fmt.Sprintf("%-6s %-3s %4d conns: p99/p50 %.1f (target <= 3)  %s", x.Mode, bench.FormatSize(x.Size), x.Conns, tail, verdict(tail <= 3)))
		}
		want := 0.0
		switch {
		case x.Size == 64<<10 && x.Mode == "crc":
			want = 0.70
		case x.Size == 4<<20 && x.Mode == "crc":
			want = 0.85
		case x.Size == 4<<20 && x.Mode == "secure":
			want = 0.60
		}
		if want == 0 {
			continue
		}
		if raw, ok := by[key{"raw", x.Size, x.Conns, "-"}]; ok && raw.MBPerSec > 0 {
			share := x.MBPerSec / raw.MBPerSec
			out = append(out, fmt.Sprintf("%-6s %-3s %4d conns: eventloop %.0f%% of raw TCP bandwidth (target >= %.0f%%)  %s", x.Mode, bench.FormatSize(x.Size), x.Conns, 100*share, 100*want, verdict(share >= want)))
			if x.Size == 4<<20 && x.CPUPer1k > 0 && raw.CPUPer1k > 0 {
				cpu := x.CPUPer1k / raw.CPUPer1k
				out = append(out, fmt.Sprintf("%-6s %-3s %4d conns: CPU per message %.2fx raw's (target <= 1.5x)  %s", x.Mode, bench.FormatSize(x.Size), x.Conns, cpu, verdict(cpu <= 1.5)))
			}
		}
	}
	return out
}

// runBenchServe runs benchmark servers until interrupted, or, with
// --control, one server answering "stats" and "quit" on stdin.
func runBenchServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stacks := fs.String("stack", "eventloop,gonet", "messenger stacks to serve, comma separated")
	raw := fs.Bool("raw", true, "also serve raw TCP (after the messenger stacks)")
	addr := fs.String("addr", "127.0.0.1:6800", "base address: stack i listens on PORT+i (port 0: any)")
	control := fs.Bool("control", false, "one stack; report stats on stdin commands (used by --idle)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "msgr bench serve: %v\n", err)
		return 1
	}
	list, err := bench.ParseStacks(*stacks)
	if err != nil {
		return fail(err)
	}
	base, err := netip.ParseAddrPort(*addr)
	if err != nil {
		return fail(fmt.Errorf("--addr: %w", err))
	}
	// Every connection costs a descriptor: use all the hard limit allows.
	if _, err := bench.RaiseNoFile(); err != nil {
		fmt.Fprintf(stderr, "msgr bench serve: cannot raise the open-file limit: %v\n", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	port := func(i int) netip.AddrPort {
		if base.Port() == 0 {
			return base
		}
		return netip.AddrPortFrom(base.Addr(), base.Port()+uint16(i))
	}
	if *control {
		if len(list) != 1 || list[0] == "raw" {
			return fail(errors.New("--control serves exactly one messenger stack"))
		}
		s, err := bench.StartMsgrServer(ctx, list[0], port(0))
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "listening %s %s\n", list[0], s.Addrs().Msgr2().Addr)
		cerr := bench.ServeControl(os.Stdin, stdout, s.Sessions)
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := errors.Join(cerr, s.Close(sctx)); err != nil {
			return fail(err)
		}
		return 0
	}
	if *raw {
		list = append(list, "raw")
	}
	var closers []func() error
	defer func() {
		for _, c := range closers {
			if err := c(); err != nil {
				fmt.Fprintf(stderr, "msgr bench serve: %v\n", err)
			}
		}
	}()
	for i, st := range list {
		if st == "raw" {
			rs, err := bench.ListenRaw(port(i).String())
			if err != nil {
				return fail(err)
			}
			closers = append(closers, rs.Close)
			fmt.Fprintf(stdout, "listening raw %s\n", rs.Addr())
			continue
		}
		s, err := bench.StartMsgrServer(ctx, st, port(i))
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return s.Close(sctx)
		})
		fmt.Fprintf(stdout, "listening %s %s\n", st, s.Addrs().Msgr2().Addr)
	}
	<-ctx.Done()
	return 0
}
