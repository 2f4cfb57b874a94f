package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/cmd/msgr/internal/bench"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/rados"
)

func init() {
	register("rados", "RADOS object client (put/get/stat/rm/ls/pools/xattrs/bench), printing like Ceph's rados", runRados)
}

// radosConnect returns a connected Conn for the cluster options; tests
// replace it with an in-memory cluster.
var radosConnect = func(ctx context.Context, a config.Args) (*rados.Conn, error) {
	name, err := a.EntityName()
	if err != nil {
		return nil, err
	}
	c, err := rados.NewConnWithClusterAndUser(a.Cluster, name)
	if err != nil {
		return nil, err
	}
	if a.Conf != "" {
		err = c.ReadConfigFile(a.Conf)
	} else {
		err = c.ReadDefaultConfigFile()
	}
	if err != nil && !(errors.Is(err, config.ErrNoConfig) && a.MonHost != "") {
		return nil, err
	}
	if a.Keyring != "" {
		c.SetConfigOption("keyring", a.Keyring)
	}
	if a.MonHost != "" {
		c.SetConfigOption("mon_host", a.MonHost)
	}
	for k, v := range a.Settings {
		c.SetConfigOption(k, v)
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// radosStdin is what "-" reads; tests replace it.
var radosStdin io.Reader = os.Stdin

const radosUsage = `usage: msgr rados [-c CONF] [-k KEYRING] [-n NAME|--id ID] [-m MONHOST] [-p POOL] [-N NAMESPACE] COMMAND
  put OBJ FILE           write FILE (- for stdin) to OBJ
  get OBJ FILE           read OBJ into FILE (- for stdout)
  append OBJ FILE        append FILE to OBJ
  stat OBJ               print OBJ's size and mtime
  rm OBJ...              remove objects
  truncate OBJ SIZE      set OBJ's size
  create OBJ             create an empty object (exclusive)
  ls                     list the pool's objects
  lspools                list pools
  mkpool POOL            create a pool
  rmpool POOL POOL --yes-i-really-really-mean-it
  setxattr OBJ NAME [VAL]  set an attribute (VAL from stdin if absent)
  getxattr OBJ NAME      print an attribute
  listxattr OBJ          list attributes
  bench SECS write|seq|rand [-b SIZE] [-t N] [--max-objects N] [--no-cleanup] [--run-name NAME]
  cleanup [--run-name NAME] [-t N]  remove what a bench --no-cleanup left, N deletes in flight
options: --admin-socket PATH serves "ceph daemon PATH perf dump" (config show, objecter_requests, ...) while it runs
         --cpuprofile FILE writes a Go CPU profile of the command
         --memprofile FILE writes a Go heap profile at its end (alloc_objects: what it allocated)
`

// radosOpts are the rados tool's own options.
type radosOpts struct {
	adminSocket string // admin_socket: serve perf dump etc. while running
	pool, ns    string
	opSize      int
	threads     int
	noCleanup   bool
	runName     string
	yesReally   bool
	noHints     bool
	timeout     time.Duration
	cpuProf     string
	memProf     string
	maxObjs     int
}

// radosOpSize is the rados tool's op_size: 4 MiB per read or write.
const radosOpSize = 4 << 20

func parseSize(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "K") || strings.HasSuffix(s, "k"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M") || strings.HasSuffix(s, "m"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G") || strings.HasSuffix(s, "g"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > math.MaxInt32/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func parseRadosArgs(args []string) (radosOpts, []string, error) {
	o := radosOpts{opSize: radosOpSize, threads: 16}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, error) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", a)
			}
			i++
			return args[i], nil
		}
		name, _, _ := strings.Cut(a, "=")
		var err error
		var v string
		switch name {
		case "-p", "--pool":
			o.pool, err = val()
		case "-N", "--namespace":
			o.ns, err = val()
		case "-b", "--block-size":
			if v, err = val(); err == nil {
				o.opSize, err = parseSize(v)
			}
		case "-t", "--concurrent-ios":
			if v, err = val(); err == nil {
				o.threads, err = strconv.Atoi(v)
				if err == nil && o.threads < 1 {
					err = fmt.Errorf("-t must be at least 1")
				}
			}
		case "--run-name":
			o.runName, err = val()
		case "--timeout":
			if v, err = val(); err == nil {
				var secs int
				secs, err = strconv.Atoi(v)
				o.timeout = time.Duration(secs) * time.Second
			}
		case "--max-objects":
			if v, err = val(); err == nil {
				o.maxObjs, err = strconv.Atoi(v)
			}
		case "--cpuprofile":
			o.cpuProf, err = val()
		case "--memprofile":
			o.memProf, err = val()
		case "--admin-socket", "--admin_socket":
			o.adminSocket, err = val()
		case "--no-cleanup":
			o.noCleanup = true
		case "--no-hints":
			o.noHints = true
		case "--yes-i-really-really-mean-it":
			o.yesReally = true
		default:
			if len(a) > 1 && a[0] == '-' && a != "-" {
				return o, nil, fmt.Errorf("unrecognized option %q", a)
			}
			rest = append(rest, a)
		}
		if err != nil {
			return o, nil, err
		}
	}
	return o, rest, nil
}

// cppStrerror formats an error as Ceph's cpp_strerror: "(2) No such file
// or directory".
func cppStrerror(err error) string {
	if e := rados.Errno(err); e != 0 {
		return fmt.Sprintf("(%d) %s", int(e), errnoText(e))
	}
	return err.Error()
}

// errnoText is strerror's text with its first letter capitalised, as glibc
// prints it.
func errnoText(e syscall.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func runRados(args []string, stdout, stderr io.Writer) int {
	cargs, rest, err := config.ExtractArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, "rados:", err)
		return 2
	}
	o, pos, err := parseRadosArgs(rest)
	if err != nil {
		fmt.Fprintln(stderr, "rados:", err)
		fmt.Fprint(stderr, radosUsage)
		return 2
	}
	if len(pos) == 0 {
		fmt.Fprint(stderr, radosUsage)
		return 2
	}
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			fmt.Fprintln(stderr, "rados:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "rados:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if o.memProf != "" {
		defer func() {
			if err := bench.WriteHeap(o.memProf); err != nil {
				fmt.Fprintln(stderr, "rados:", err)
			}
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	cmd := pos[0]
	need := map[string]int{"put": 3, "get": 3, "append": 3, "stat": 2, "rm": 2, "truncate": 3, "create": 2,
		"ls": 1, "lspools": 1, "mkpool": 2, "rmpool": 2, "setxattr": 3, "getxattr": 3, "listxattr": 2, "bench": 3, "cleanup": 1}
	n, ok := need[cmd]
	if !ok {
		fmt.Fprintf(stderr, "rados: unrecognized command %s\n", cmd)
		fmt.Fprint(stderr, radosUsage)
		return 1
	}
	if len(pos) < n {
		fmt.Fprintf(stderr, "rados: %s: not enough arguments\n", cmd)
		fmt.Fprint(stderr, radosUsage)
		return 1
	}
	if o.adminSocket != "" {
		cargs.Settings = maps.Clone(cargs.Settings)
		if cargs.Settings == nil {
			cargs.Settings = map[string]string{}
		}
		cargs.Settings["admin_socket"] = o.adminSocket
	}
	conn, err := radosConnect(ctx, cargs)
	if err != nil {
		fmt.Fprintf(stderr, "couldn't connect to cluster: %s\n", cppStrerror(err))
		return 1
	}
	defer conn.Shutdown()

	switch cmd {
	case "lspools":
		pools, err := conn.ListPools(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "error listing pools: %s\n", cppStrerror(err))
			return 1
		}
		for _, p := range pools {
			fmt.Fprintln(stdout, p)
		}
		return 0
	case "mkpool":
		if err := conn.MakePool(ctx, pos[1]); err != nil {
			fmt.Fprintf(stderr, "error creating pool %s: %s\n", pos[1], cppStrerror(err))
			return 1
		}
		fmt.Fprintf(stdout, "successfully created pool %s\n", pos[1])
		return 0
	case "rmpool":
		if len(pos) < 3 || pos[1] != pos[2] || !o.yesReally {
			fmt.Fprintf(stderr, "WARNING:\n  This will PERMANENTLY DESTROY an entire pool of objects with no way back.\n"+
				"  To confirm, pass the pool to remove twice, followed by\n  --yes-i-really-really-mean-it\n")
			return 1
		}
		if err := conn.DeletePool(ctx, pos[1]); err != nil {
			fmt.Fprintf(stderr, "pool %s could not be removed\nerror %s\n", pos[1], cppStrerror(err))
			return 1
		}
		fmt.Fprintf(stdout, "successfully deleted pool %s\n", pos[1])
		return 0
	}

	if o.pool == "" {
		fmt.Fprintln(stderr, "rados: pool name was not specified")
		return 1
	}
	io_, err := conn.OpenIOContext(ctx, o.pool)
	if err != nil {
		fmt.Fprintf(stderr, "error opening pool %s: %s\n", o.pool, cppStrerror(err))
		return 1
	}
	io_.SetNamespace(o.ns)
	r := &radosCmd{ctx: ctx, conn: conn, io: io_, pool: o.pool, ns: o.ns, stdout: stdout, stderr: stderr}
	switch cmd {
	case "put":
		return r.put(pos[1], pos[2], false)
	case "append":
		return r.put(pos[1], pos[2], true)
	case "get":
		return r.get(pos[1], pos[2])
	case "stat":
		return r.stat(pos[1])
	case "rm":
		for _, obj := range pos[1:] {
			if err := io_.Delete(ctx, obj); err != nil {
				fmt.Fprintf(stderr, "error removing %s>%s: %s\n", o.pool, r.name(obj), cppStrerror(err))
				return 1
			}
		}
		return 0
	case "truncate":
		size, err := strconv.ParseUint(pos[2], 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "rados: bad size %q\n", pos[2])
			return 1
		}
		if err := io_.Truncate(ctx, pos[1], size); err != nil {
			fmt.Fprintf(stderr, "error truncating oid %s to %d: %s\n", pos[1], size, cppStrerror(err))
			return 1
		}
		return 0
	case "create":
		if err := io_.Create(ctx, pos[1], rados.CreateExclusive); err != nil {
			fmt.Fprintf(stderr, "error creating %s/%s: %s\n", o.pool, pos[1], cppStrerror(err))
			return 1
		}
		return 0
	case "ls":
		err := io_.ListObjects(ctx, func(oid string) { fmt.Fprintln(stdout, oid) })
		if err != nil {
			fmt.Fprintf(stderr, "error listing objects: %s\n", cppStrerror(err))
			return 1
		}
		return 0
	case "setxattr":
		var val []byte
		if len(pos) >= 4 {
			val = []byte(pos[3])
		} else if val, err = io.ReadAll(radosStdin); err != nil {
			fmt.Fprintf(stderr, "error reading stdin: %v\n", err)
			return 1
		}
		if err := io_.SetXattr(ctx, pos[1], pos[2], val); err != nil {
			fmt.Fprintf(stderr, "error setting xattr %s/%s/%s: %s\n", o.pool, pos[1], pos[2], cppStrerror(err))
			return 1
		}
		return 0
	case "getxattr":
		val, err := io_.GetXattrValue(ctx, pos[1], pos[2])
		if err != nil {
			fmt.Fprintf(stderr, "error getting xattr %s/%s/%s: %s\n", o.pool, pos[1], pos[2], cppStrerror(err))
			return 1
		}
		stdout.Write(val)
		return 0
	case "listxattr":
		xs, err := io_.ListXattrs(ctx, pos[1])
		if err != nil {
			fmt.Fprintf(stderr, "error getting xattr set %s/%s: %s\n", o.pool, pos[1], cppStrerror(err))
			return 1
		}
		names := make([]string, 0, len(xs))
		for k := range xs {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			fmt.Fprintln(stdout, k)
		}
		return 0
	case "bench":
		return r.bench(pos[1:], o)
	case "cleanup":
		prefix, n, _, err := r.benchMeta(benchMetaName(o))
		if err != nil {
			fmt.Fprintf(stderr, "error during cleanup: %s\n", cppStrerror(err))
			return 1
		}
		return r.benchCleanup(prefix, n, o.threads, benchMetaName(o))
	}
	return 1
}

type radosCmd struct {
	ctx            context.Context
	conn           *rados.Conn
	io             *rados.IOContext
	pool, ns       string
	stdout, stderr io.Writer
}

func (r *radosCmd) name(obj string) string {
	if r.ns != "" {
		return r.ns + "/" + obj
	}
	return obj
}

// put writes the file in op_size pieces, as rados does: write_full for the
// first (so an existing object is replaced, and an empty file makes an
// empty object), then writes at increasing offsets.
func (r *radosCmd) put(obj, file string, appendMode bool) int {
	var in io.Reader = radosStdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintf(r.stderr, "error reading input file %s: %s\n", file, cppStrerror(err))
			return 1
		}
		defer f.Close()
		in = f
	}
	buf := make([]byte, radosOpSize)
	var off uint64
	for first := true; ; first = false {
		n, err := io.ReadFull(in, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			fmt.Fprintf(r.stderr, "error reading input file %s: %v\n", file, err)
			return 1
		}
		if n == 0 && !first {
			return 0
		}
		var werr error
		switch {
		case appendMode:
			if n > 0 {
				werr = r.io.Append(r.ctx, obj, buf[:n])
			}
		case first:
			werr = r.io.WriteFull(r.ctx, obj, buf[:n])
		default:
			werr = r.io.Write(r.ctx, obj, buf[:n], off)
		}
		if werr != nil {
			fmt.Fprintf(r.stderr, "error putting %s/%s: %s\n", r.pool, r.name(obj), cppStrerror(werr))
			return 1
		}
		off += uint64(n)
		if n < len(buf) {
			return 0
		}
	}
}

func (r *radosCmd) get(obj, file string) int {
	out := r.stdout
	if file != "-" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			fmt.Fprintf(r.stderr, "error opening output file %s: %s\n", file, cppStrerror(err))
			return 1
		}
		defer f.Close()
		out = f
	}
	buf := make([]byte, radosOpSize)
	var off uint64
	for {
		n, err := r.io.Read(r.ctx, obj, buf, off)
		if err != nil {
			fmt.Fprintf(r.stderr, "error getting %s/%s: %s\n", r.pool, r.name(obj), cppStrerror(err))
			return 1
		}
		if _, err := out.Write(buf[:n]); err != nil {
			fmt.Fprintf(r.stderr, "error writing %s: %v\n", file, err)
			return 1
		}
		off += uint64(n)
		if n < len(buf) {
			return 0
		}
	}
}

// stat prints "pool/obj mtime 2026-11-26T14:37:07.000000+0000, size 4096":
// rados prints the mtime's seconds as a utime_t in local time.
func (r *radosCmd) stat(obj string) int {
	st, err := r.io.Stat(r.ctx, obj)
	if err != nil {
		fmt.Fprintf(r.stderr, " error stat-ing %s/%s: %s\n", r.pool, r.name(obj), cppStrerror(err))
		return 1
	}
	t := time.Unix(st.ModTime.Unix(), 0).Local()
	fmt.Fprintf(r.stdout, "%s/%s mtime %s, size %d\n", r.pool, r.name(obj), t.Format("2006-01-02T15:04:05.000000-0700"), st.Size)
	return 0
}

// --- bench, after Ceph's ObjBencher ---

type benchStats struct {
	mu        sync.Mutex
	started   int
	finished  int
	lats      []time.Duration
	lastLat   time.Duration
	perSecOps []int // completions per second, for the IOPS and bandwidth spread
	errs      int
}

func (s *benchStats) done(lat time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs++
		return
	}
	s.finished++
	s.lats = append(s.lats, lat)
	s.lastLat = lat
}

// benchSlot is one of a bench's -t concurrent ops: issue starts an op,
// and its completion starts the next, until pick says the bench is over
// or an op fails. turn is how the two meet: issue (after OnDone
// returned) and completed (after recording the op) each add one, and
// the second to arrive goes on, so a completion that runs inline, in
// OnDone, loops in issue instead of recursing.
type benchSlot struct {
	r            *radosCmd
	ctx          context.Context
	mode, prefix string
	data, buf    []byte
	pick         func() (int, bool)
	st           *benchStats
	fail         func(error)
	end          func()
	onDone       func() // completed, made once
	onLoop       bool   // completed may start the next op where it runs

	turn atomic.Int32
	i    int
	t0   time.Time
	c    *rados.Completion
}

func (s *benchSlot) issue() {
	for {
		i, ok := s.pick()
		if !ok {
			s.end()
			return
		}
		s.st.mu.Lock()
		s.st.started++
		s.st.mu.Unlock()
		s.i, s.t0 = i, time.Now()
		name := benchObjName(s.prefix, i)
		if s.mode == "write" {
			s.c = s.r.io.WriteAsync(s.ctx, name, s.data, 0)
		} else {
			s.c = s.r.io.ReadAsync(s.ctx, name, s.buf, 0)
		}
		s.c.OnDone(s.onDone)
		if s.turn.Add(1) == 1 {
			return // the completion goes on
		}
		s.turn.Store(0)
		if s.ctx.Err() != nil {
			s.end()
			return
		}
	}
}

// completed records the slot's op and, unless issue is still under way
// (an inline completion), starts the next.
func (s *benchSlot) completed() {
	err := s.c.Wait(s.ctx)
	if err == nil && s.mode != "write" && s.c.BytesRead() != len(s.buf) {
		err = fmt.Errorf("object %s: read %d bytes, want %d", benchObjName(s.prefix, s.i), s.c.BytesRead(), len(s.buf))
	}
	s.st.done(time.Since(s.t0), err)
	if err != nil {
		s.fail(err)
	}
	if s.turn.Add(1) == 1 {
		return // issue goes on
	}
	s.turn.Store(0)
	if s.ctx.Err() != nil {
		s.end()
		return
	}
	if !s.onLoop {
		go s.issue()
		return
	}
	s.issue()
}

// budgetFits reports whether ops ops of size bytes fit the Objecter's
// in-flight budget (objecter_inflight_ops, objecter_inflight_op_bytes) at
// once, so that starting one never waits.
func (r *radosCmd) budgetFits(ops, size int) bool {
	limit := func(opt string, def int64) int64 {
		v, err := r.conn.GetConfigOption(opt)
		if err != nil {
			return def
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return def // 0: the Objecter's default
		}
		return n
	}
	return int64(ops) <= limit("objecter_inflight_ops", 1024) &&
		int64(ops)*int64(size) <= limit("objecter_inflight_op_bytes", 100<<20)
}

// benchGrace is how long a bench waits for its last ops after its time.
const benchGrace = 30 * time.Second

// benchObjName is ObjBencher's object name, in one allocation.
func benchObjName(prefix string, i int) string {
	var b [128]byte
	return string(strconv.AppendInt(append(append(b[:0], prefix...), "_object"...), int64(i), 10))
}

func (r *radosCmd) bench(args []string, o radosOpts) int {
	secs, err := strconv.Atoi(args[0])
	if err != nil || secs <= 0 {
		fmt.Fprintf(r.stderr, "rados: bench: bad seconds %q\n", args[0])
		return 1
	}
	mode := args[1]
	if mode != "write" && mode != "seq" && mode != "rand" {
		fmt.Fprintf(r.stderr, "rados: bench: unknown mode %q (write, seq or rand)\n", mode)
		return 1
	}
	meta := benchMetaName(o)
	host, _ := os.Hostname()
	if i := strings.IndexByte(host, '.'); i >= 0 {
		host = host[:i]
	}
	prefix := fmt.Sprintf("benchmark_data_%s_%d", host, os.Getpid())
	opSize := o.opSize
	objects := 0
	if mode != "write" {
		var err error
		prefix, objects, opSize, err = r.benchMeta(meta)
		if errors.Is(err, rados.ErrNotFound) {
			fmt.Fprintf(r.stderr, "Must write data before running a read benchmark!\n")
			return 1
		} else if err != nil {
			fmt.Fprintf(r.stderr, "%v\n", err)
			return 1
		}
	} else if !o.noHints {
		fmt.Fprintf(r.stdout, "hints = 1\n")
	}
	data := make([]byte, opSize)
	for i := range data {
		data[i] = byte('0' + i%10)
	}
	if mode == "write" {
		fmt.Fprintf(r.stdout, "Maintaining %d concurrent writes of %d bytes to objects of size %d for up to %d seconds or %d objects\n", o.threads, opSize, opSize, secs, o.maxObjs)
		fmt.Fprintf(r.stdout, "Object prefix: %s\n", prefix)
	}
	st := &benchStats{}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	// Ops still in flight long after the deadline (a full cluster pauses
	// writes) are abandoned rather than waited for forever.
	ctx, cancel := context.WithDeadline(r.ctx, deadline.Add(benchGrace))
	defer cancel()
	// The per-second progress lines.
	start := time.Now()
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	progressDone := make(chan struct{})
	fmt.Fprintf(r.stdout, "%5s %7s %9s %9s %9s %9s %11s %11s\n", "sec", "Cur ops", "started", "finished", "avg MB/s", "cur MB/s", "last lat(s)", "avg lat(s)")
	go func() {
		defer close(progressDone)
		prevFinished := 0
		for sec := 0; ; sec++ {
			st.mu.Lock()
			started, finished, last := st.started, st.finished, st.lastLat
			var sum time.Duration
			for _, l := range st.lats {
				sum += l
			}
			if sec > 0 {
				st.perSecOps = append(st.perSecOps, finished-prevFinished)
			}
			st.mu.Unlock()
			elapsed := time.Since(start).Seconds()
			avgMB, curMB, avgLat := 0.0, float64(finished-prevFinished)*float64(opSize)/(1<<20), 0.0
			if elapsed > 0 && sec > 0 {
				avgMB = float64(finished) * float64(opSize) / (1 << 20) / elapsed
			}
			if finished > 0 {
				avgLat = sum.Seconds() / float64(finished)
			}
			lastS := "-"
			if last > 0 {
				lastS = strconv.FormatFloat(last.Seconds(), 'f', 6, 64)
			}
			if sec == 0 {
				curMB = 0
			}
			fmt.Fprintf(r.stdout, "%5d %7d %9d %9d %9.5g %9.5g %11s %11.6f\n", sec, started-finished, started, finished, avgMB, curMB, lastS, avgLat)
			prevFinished = finished
			select {
			case <-ticker.C:
			case <-ctx.Done():
				return
			}
		}
	}()

	var next int
	var nextMu sync.Mutex
	pick := func() (int, bool) {
		nextMu.Lock()
		defer nextMu.Unlock()
		if time.Now().After(deadline) {
			return 0, false
		}
		switch mode {
		case "write":
			if o.maxObjs > 0 && next >= o.maxObjs {
				return 0, false
			}
		case "seq":
			if next >= objects {
				return 0, false
			}
		case "rand":
			return rand.IntN(objects), true
		}
		i := next
		next++
		return i, true
	}
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}
	// As Ceph's ObjBencher, -t ops are kept in flight with async ops and
	// completions, not a goroutine each: an op's completion (on the
	// connection's loop) records it and starts the slot's next op there,
	// unless -t ops may not fit the in-flight budget at once: a start
	// would then wait for budget on the loop that has to free it, so the
	// next op is started from a goroutine.
	onLoop := r.budgetFits(o.threads, opSize)
	for range o.threads {
		wg.Add(1)
		s := &benchSlot{r: r, ctx: ctx, mode: mode, prefix: prefix, data: data, buf: make([]byte, opSize),
			pick: pick, st: st, fail: fail, end: wg.Done, onLoop: onLoop}
		s.onDone = s.completed
		s.issue()
	}
	wg.Wait()
	total := time.Since(start)
	cancel()
	<-progressDone
	if firstErr != nil && r.ctx.Err() == nil {
		if ctx.Err() != nil {
			fmt.Fprintf(r.stderr, "bench: ops still in flight %v after the end (is the cluster full?)\n", benchGrace)
		}
		fmt.Fprintf(r.stderr, "bench: %s\n", cppStrerror(firstErr))
		return 1
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	r.benchSummary(mode, st, total, opSize)
	if mode == "write" {
		if o.noCleanup {
			// Leave what seq, rand and cleanup need.
			err := r.io.WriteFull(r.ctx, meta, nil)
			if err == nil {
				err = r.io.SetXattr(r.ctx, meta, "msgr.bench", []byte(fmt.Sprintf("%s %d %d", prefix, st.started, opSize)))
			}
			if err != nil {
				fmt.Fprintf(r.stderr, "error writing benchmark metadata %s: %s\n", meta, cppStrerror(err))
				return 1
			}
			return 0
		}
		return r.benchCleanup(prefix, st.started, o.threads, meta)
	}
	return 0
}

// The metadata a write bench with --no-cleanup leaves for seq, rand and
// cleanup: an object whose attribute "msgr.bench" holds the object prefix,
// count and size. Not the rados tool's "benchmark_last_metadata", whose
// encoding is its own.
func benchMetaName(o radosOpts) string {
	if o.runName != "" {
		return o.runName
	}
	return "benchmark_last_metadata_msgr"
}

func (r *radosCmd) benchMeta(meta string) (prefix string, n, size int, err error) {
	val, err := r.io.GetXattrValue(r.ctx, meta, "msgr.bench")
	if err != nil {
		return "", 0, 0, err
	}
	if _, err := fmt.Sscanf(string(val), "%s %d %d", &prefix, &n, &size); err != nil || n <= 0 || size <= 0 {
		return "", 0, 0, fmt.Errorf("bad benchmark metadata in %s: %q", meta, val)
	}
	return prefix, n, size, nil
}

// benchCleanup removes a bench's n objects and its metadata object,
// threads deletes in flight (rados bench's cleanup likewise keeps -t
// aio removes going): one at a time, each waits a whole round trip.
func (r *radosCmd) benchCleanup(prefix string, n, threads int, meta string) int {
	fmt.Fprintf(r.stdout, "Cleaning up (deleting benchmark objects)\n")
	t0 := time.Now()
	removed := 0
	var failed error
	inflight := make([]*rados.Completion, 0, threads)
	// reap waits for the oldest delete in flight.
	reap := func() {
		c := inflight[0]
		inflight = inflight[1:]
		if err := c.Wait(r.ctx); err == nil {
			removed++
		} else if !errors.Is(err, rados.ErrNotFound) && failed == nil {
			failed = err
		}
	}
	for i := 0; i < n && failed == nil; i++ {
		if len(inflight) == threads {
			reap()
		}
		inflight = append(inflight, r.io.DeleteAsync(r.ctx, benchObjName(prefix, i)))
	}
	for len(inflight) > 0 {
		reap()
	}
	if failed != nil {
		fmt.Fprintf(r.stderr, "error during cleanup: %s\n", cppStrerror(failed))
		return 1
	}
	r.io.Delete(r.ctx, meta)
	fmt.Fprintf(r.stdout, "Removed %d objects\n", removed)
	fmt.Fprintf(r.stdout, "Clean up completed and total clean up time :%g\n", time.Since(t0).Seconds())
	return 0
}

func meanStddev(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

// benchSummary prints rados bench's summary lines, then the latency
// percentiles rados does not print (p50, p99) for msgr's comparisons.
func (r *radosCmd) benchSummary(mode string, st *benchStats, total time.Duration, opSize int) {
	w := r.stdout
	secs := total.Seconds()
	mb := float64(st.finished) * float64(opSize) / (1 << 20)
	var bw, iops []float64
	for _, n := range st.perSecOps {
		iops = append(iops, float64(n))
		bw = append(bw, float64(n)*float64(opSize)/(1<<20))
	}
	_, bwSD := meanStddev(bw)
	_, iopsSD := meanStddev(iops)
	lats := make([]float64, len(st.lats))
	for i, l := range st.lats {
		lats[i] = l.Seconds()
	}
	slices.Sort(lats)
	latMean, latSD := meanStddev(lats)
	pct := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(len(lats)-1, int(p*float64(len(lats))))]
	}
	maxOf := func(xs []float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		return slices.Max(xs)
	}
	minOf := func(xs []float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		return slices.Min(xs)
	}
	avgIOPS := 0.0
	if secs > 0 {
		avgIOPS = float64(st.finished) / secs
	}
	if mode == "write" {
		fmt.Fprintf(w, "Total time run:         %g\n", secs)
		fmt.Fprintf(w, "Total writes made:      %d\n", st.finished)
		fmt.Fprintf(w, "Write size:             %d\n", opSize)
		fmt.Fprintf(w, "Object size:            %d\n", opSize)
		fmt.Fprintf(w, "Bandwidth (MB/sec):     %.5g\n", mb/secs)
		fmt.Fprintf(w, "Stddev Bandwidth:       %.5g\n", bwSD)
		fmt.Fprintf(w, "Max bandwidth (MB/sec): %.5g\n", maxOf(bw))
		fmt.Fprintf(w, "Min bandwidth (MB/sec): %.5g\n", minOf(bw))
		fmt.Fprintf(w, "Average IOPS:           %d\n", int(math.Round(avgIOPS)))
		fmt.Fprintf(w, "Stddev IOPS:            %.5g\n", iopsSD)
		fmt.Fprintf(w, "Max IOPS:               %d\n", int(maxOf(iops)))
		fmt.Fprintf(w, "Min IOPS:               %d\n", int(minOf(iops)))
		fmt.Fprintf(w, "Average Latency(s):     %.5g\n", latMean)
		fmt.Fprintf(w, "Stddev Latency(s):      %.5g\n", latSD)
		fmt.Fprintf(w, "Max latency(s):         %.5g\n", maxOf(lats))
		fmt.Fprintf(w, "Min latency(s):         %.5g\n", minOf(lats))
	} else {
		fmt.Fprintf(w, "Total time run:       %g\n", secs)
		fmt.Fprintf(w, "Total reads made:     %d\n", st.finished)
		fmt.Fprintf(w, "Read size:            %d\n", opSize)
		fmt.Fprintf(w, "Object size:          %d\n", opSize)
		fmt.Fprintf(w, "Bandwidth (MB/sec):   %.5g\n", mb/secs)
		fmt.Fprintf(w, "Average IOPS:         %d\n", int(math.Round(avgIOPS)))
		fmt.Fprintf(w, "Stddev IOPS:          %.5g\n", iopsSD)
		fmt.Fprintf(w, "Max IOPS:             %d\n", int(maxOf(iops)))
		fmt.Fprintf(w, "Min IOPS:             %d\n", int(minOf(iops)))
		fmt.Fprintf(w, "Average Latency(s):   %.5g\n", latMean)
		fmt.Fprintf(w, "Max latency(s):       %.5g\n", maxOf(lats))
		fmt.Fprintf(w, "Min latency(s):       %.5g\n", minOf(lats))
	}
	// Not in rados' output: the percentiles the comparison script reads.
	fmt.Fprintf(w, "Latency p50(s):         %.6f\n", pct(0.50))
	fmt.Fprintf(w, "Latency p99(s):         %.6f\n", pct(0.99))
}
