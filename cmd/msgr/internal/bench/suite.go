package bench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

// Nonce is the nonce of every benchmark server, so that a client in
// another process can address one knowing only its IP and port.
const Nonce uint32 = 0x6d736772 // "msgr"

// ServerAddrs is the messenger address of a benchmark server at ap.
func ServerAddrs(ap netip.AddrPort) encoding.EntityAddrVec {
	return encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Nonce: Nonce, Addr: ap}}
}

// Target is where one stack's runs go: a messenger server, or the raw
// server for Stack "raw".
type Target struct {
	Stack string
	Addr  netip.AddrPort
	// V1 is the messenger server's msgr1 address, known when it runs in
	// this process (mode v1 needs it).
	V1 netip.AddrPort
}

// msgrAddrs is where a messenger run goes: the server's v2 address, and
// its v1 one when known.
func (t Target) msgrAddrs() encoding.EntityAddrVec {
	v := ServerAddrs(t.Addr)
	if t.V1.IsValid() {
		v = append(v, encoding.EntityAddr{Type: encoding.AddrTypeLegacy, Nonce: Nonce, Addr: t.V1})
	}
	return v
}

// Suite is a list of cases run on several stacks, alternating.
type Suite struct {
	Stacks  []string // messenger stacks, and "raw" for the TCP ceiling
	Cases   []Spec   // Stack left empty: every stack runs every case
	Reps    int      // repetitions of each case per stack (medians)
	Targets map[string]Target
	// Progress, when not nil, shows the running case.
	Progress *Progress
	// ProfilePrefix, when set, writes a CPU profile of each timed window
	// to PREFIX-STACK[-MODE]-SIZE-CONNS.pprof (the last repetition's;
	// MODE when not crc).
	ProfilePrefix string
	// HeapPrefix, when set, writes a heap profile taken at the end of
	// each timed window to PREFIX-STACK[-MODE]-SIZE-CONNS.pprof (the
	// last repetition's).
	HeapPrefix string
	// Timeout bounds one run beyond its duration (default 2 minutes).
	Timeout time.Duration
}

// Run measures every case on every stack: for each case, the stacks take
// turns, the order rotating with each repetition, so that drifting load
// on a shared machine spreads over all of them. It returns the medians
// and every single run.
func (s *Suite) Run(ctx context.Context) (medians, runs []Result, err error) {
	reps := max(s.Reps, 1)
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	rawDone := map[string]bool{} // raw TCP has no mode: once per shape
	for ci, c := range s.Cases {
		per := map[string][]Result{}
		shape := fmt.Sprintf("%d/%s", c.Size, c.Shape())
		for rep := 0; rep < reps; rep++ {
			order := rotate(s.Stacks, rep+ci)
			for _, st := range order {
				if st == "raw" && rawDone[shape] {
					continue
				}
				spec := c
				spec.Stack = st
				if st == "raw" {
					spec.Mode, spec.Lossless = "-", false // no protocol, no policy
				}
				tgt, ok := s.Targets[st]
				if !ok {
					return nil, runs, fmt.Errorf("%w: no server for %q", ErrStack, st)
				}
				probe := &Probe{Progress: s.Progress, Desc: fmt.Sprintf("[%d/%d] %s %s %s (rep %d/%d)",
					ci+1, len(s.Cases), st, FormatSize(spec.Size), spec.Shape(), rep+1, reps)}
				if rep == reps-1 {
					name := st // crc is the default mode; others are named
					if spec.Mode != "crc" && spec.Mode != "-" {
						name += "-" + spec.Mode
					}
					if spec.Lossless {
						name += "-lossless"
					}
					suffix := fmt.Sprintf("-%s-%s-%d.pprof", name, FormatSize(spec.Size), spec.Conns)
					if s.ProfilePrefix != "" {
						probe.Profile = s.ProfilePrefix + suffix
					}
					if s.HeapPrefix != "" {
						probe.HeapProfile = s.HeapPrefix + suffix
					}
				}
				rctx, cancel := context.WithTimeout(ctx, spec.Duration+timeout)
				var r Result
				var rerr error
				if st == "raw" {
					r, rerr = RunRaw(rctx, tgt.Addr.String(), spec, probe)
				} else {
					r, rerr = RunMsgr(rctx, tgt.msgrAddrs(), spec, probe)
				}
				cancel()
				if rerr == nil && probe.ProfileErr != nil {
					rerr = fmt.Errorf("profile: %w", probe.ProfileErr)
				}
				if rerr != nil {
					return nil, runs, fmt.Errorf("%s %s: %w", st, spec.Key(), rerr)
				}
				runs = append(runs, r)
				per[st] = append(per[st], r)
			}
		}
		for _, st := range s.Stacks {
			if len(per[st]) > 0 {
				medians = append(medians, Median(per[st]))
			}
		}
		if len(per["raw"]) > 0 {
			rawDone[shape] = true
		}
	}
	return medians, runs, nil
}

func rotate(xs []string, k int) []string {
	out := make([]string, len(xs))
	for i := range xs {
		out[i] = xs[(i+k)%len(xs)]
	}
	return out
}

// LocalServers starts, in this process, a server for each stack named
// (messenger stacks and "raw") on 127.0.0.1 with ports the kernel picks.
// close stops them all.
func LocalServers(ctx context.Context, stacks []string) (map[string]Target, func() error, error) {
	tg := map[string]Target{}
	var closers []func() error
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	for _, st := range stacks {
		if st == "raw" {
			rs, err := ListenRaw("127.0.0.1:0")
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			closers = append(closers, rs.Close)
			ap, err := netip.ParseAddrPort(rs.Addr())
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			tg[st] = Target{Stack: st, Addr: ap}
			continue
		}
		ms, err := StartMsgrServer(ctx, st, netip.MustParseAddrPort("127.0.0.1:0"))
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, func() error {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return ms.Close(cctx)
		})
		tg[st] = Target{Stack: st, Addr: ms.Addrs().Msgr2().Addr, V1: ms.Addrs().Legacy().Addr}
	}
	return tg, closeAll, nil
}

// ParseStacks splits a comma list of stack names, checking each.
func ParseStacks(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f != "raw" && f != "eventloop" && f != "gonet" {
			return nil, fmt.Errorf("%w %q (have eventloop, gonet, raw)", ErrStack, f)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no stack named", ErrStack)
	}
	return out, nil
}
