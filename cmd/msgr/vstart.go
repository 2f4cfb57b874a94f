package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/cluster"
)

func init() {
	register("vstart", "a mini Ceph cluster (one mon, N OSDs, in memory) that the ceph and rados CLIs use", runVstart)
}

const vstartUsage = `usage: msgr vstart [-d DIR] [--osds N] [--auth none|cephx] [--mode crc|secure]
                   [--ip IP] [--port PORT] [--pool NAME]... [--pg-num N] [-v]
Starts one mon and N OSDs in this process on loopback, writes DIR/ceph.conf and
DIR/keyring, prints the conf path, and serves until SIGINT or SIGTERM:
  ceph -c DIR/ceph.conf status
  ceph -c DIR/ceph.conf osd pool create p 8
  rados -c DIR/ceph.conf -p p put obj /etc/hosts
Objects live in memory; pools are replicated with size 1.
Options:
  -d, --dir DIR   where to write ceph.conf and keyring (default: a new temp dir)
  --osds N        number of OSDs (default 1)
  --auth METHOD   none or cephx (default cephx)
  --mode MODE     crc or secure (default crc; secure needs cephx)
  --ip IP         address to listen on (default 127.0.0.1)
  --port PORT     the mon's port (default 0: any free port)
  --pool NAME     a pool to create at start (repeatable)
  --pg-num N      PGs per pool (default 8)
  -v              debug logs`

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runVstart(args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprintln(stdout, vstartUsage)
			return 0
		}
	}
	var cfg cluster.Config
	var ip string
	var port, pgNum uint
	var verbose bool
	var pools stringList
	fs := flag.NewFlagSet("msgr vstart", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.Dir, "d", "", "")
	fs.StringVar(&cfg.Dir, "dir", "", "")
	fs.IntVar(&cfg.OSDs, "osds", 1, "")
	fs.StringVar(&cfg.Auth, "auth", "cephx", "")
	fs.StringVar(&cfg.Mode, "mode", "crc", "")
	fs.StringVar(&ip, "ip", "127.0.0.1", "")
	fs.UintVar(&port, "port", 0, "")
	fs.UintVar(&pgNum, "pg-num", 8, "")
	fs.Var(&pools, "pool", "")
	fs.BoolVar(&verbose, "v", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		fmt.Fprintf(stderr, "msgr vstart: %v\n%s\n", err, vstartUsage)
		return 2
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || port > 65535 {
		fmt.Fprintf(stderr, "msgr vstart: bad --ip %q or --port %d\n", ip, port)
		return 2
	}
	cfg.IP, cfg.MonPort, cfg.PGNum, cfg.Pools = addr, uint16(port), uint32(pgNum), pools
	if cfg.Dir == "" {
		if cfg.Dir, err = os.MkdirTemp("", "msgr-vstart-"); err != nil {
			fmt.Fprintf(stderr, "msgr vstart: %v\n", err)
			return 1
		}
	}
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	c, err := cluster.Start(sctx, cfg)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "msgr vstart: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, c.ConfPath)
	<-ctx.Done()
	stop()
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	if err := c.Close(cctx); err != nil {
		fmt.Fprintf(stderr, "msgr vstart: shutdown: %v\n", err)
		return 1
	}
	return 0
}
