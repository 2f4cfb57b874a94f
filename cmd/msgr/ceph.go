package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/asok"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/mon"
	"github.com/gomsgr/msgr/perf"
)

func init() {
	register("ceph", "run a monitor command, as the ceph CLI does (words or JSON)", runCeph)
}

const cephUsage = `usage: msgr ceph [-c CONF] [-m MON] [-n NAME | --id ID] [-k KEYRING] [--cluster NAME]
                 [-f json|json-pretty|plain|...] [--connect-timeout SECS] [-i INFILE] [-o OUTFILE]
                 (-s | COMMAND WORDS... | '{"prefix": ...}')
Runs a monitor command given as the ceph CLI's words (matched against the monitor's own
command descriptions, as ceph does) or as a JSON command, and prints what ceph prints.
CEPH_ARGS and CEPH_CONF are honoured as by ceph.`

// cephOpts are msgr ceph's own options (the cluster-finding ones are
// config.Args).
type cephOpts struct {
	cluster        config.Args
	format         string
	connectTimeout time.Duration
	inFile         string
	outFile        string
	words          []string
}

// parseCephArgs splits msgr ceph's command line.
func parseCephArgs(args []string) (cephOpts, error) {
	var o cephOpts
	cl, rest, err := config.ExtractArgs(args)
	if err != nil {
		return o, err
	}
	o.cluster = cl
	o.connectTimeout = 300 * time.Second // client_mount_timeout
	format, rest, err := mon.SplitFormat(rest)
	if err != nil {
		return o, err
	}
	o.format = format
	status := false
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		val := func() (string, error) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v, nil
			}
			if i+1 >= len(rest) {
				return "", fmt.Errorf("%s needs a value", a)
			}
			i++
			return rest[i], nil
		}
		switch name, _, _ := strings.Cut(a, "="); name {
		case "--connect-timeout":
			v, err := val()
			if err != nil {
				return o, err
			}
			secs, err := strconv.ParseFloat(v, 64)
			if err != nil || secs < 0 {
				return o, fmt.Errorf("--connect-timeout %q: not a number of seconds", v)
			}
			o.connectTimeout = time.Duration(secs * float64(time.Second))
		case "-i", "--in-file":
			if o.inFile, err = val(); err != nil {
				return o, err
			}
		case "-o", "--out-file":
			if o.outFile, err = val(); err != nil {
				return o, err
			}
		case "-s", "--status":
			status = true
		default:
			o.words = append(o.words, a)
		}
	}
	if status {
		o.words = append([]string{"status"}, o.words...)
	}
	if len(o.words) == 0 {
		return o, errors.New("no command given")
	}
	return o, nil
}

func runCeph(args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			fmt.Fprintln(stdout, cephUsage)
			return 0
		}
	}
	o, err := parseCephArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "msgr ceph: %v\n%s\n", err, cephUsage)
		return 2
	}
	cfg, err := config.Load(o.cluster, nil)
	if err != nil {
		fmt.Fprintf(stderr, "msgr ceph: %v\n", err)
		return 1
	}
	var inbuf []byte
	if o.inFile != "" {
		if inbuf, err = readInput(o.inFile); err != nil {
			fmt.Fprintf(stderr, "msgr ceph: %v\n", err)
			return 1
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.connectTimeout)
	defer cancel()
	// Library warnings stay quiet; what matters is reported below.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// admin_socket (ceph.conf or CEPH_ARGS) serves the session's counters
	// while the command runs, as the ceph CLI's librados does.
	var mopts msgr.Options
	asokPath := asok.ConfiguredPath(cfg)
	if asokPath != "" {
		mopts.Perf = perf.NewCollection()
	}
	c, err := mon.Dial(ctx, cfg, mon.Options{Logger: quiet, Messenger: mopts})
	if err != nil {
		fmt.Fprintf(stderr, "msgr ceph: error connecting to the cluster: %v\n", err)
		if errors.Is(err, mon.ErrAuthFailed) {
			return int(syscall.EACCES)
		}
		return 1
	}
	defer c.Close()
	if asokPath != "" {
		mopts.Perf.Add(c.PerfCounters())
		cmds := append(asok.ConfigCommands(cfg), c.Messenger().AdminCommands()...)
		// A path in use (another client of the same name) leaves the
		// command without a socket; stderr stays what ceph prints.
		if s, err := asok.Listen(asokPath, asok.Options{Perf: mopts.Perf, Commands: cmds, Logger: quiet}); err == nil {
			defer s.Close()
		}
	}

	cmd, err := buildCommand(context.Background(), c, o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		var ce *mon.CommandError
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, "Error EINVAL: invalid command")
			return int(syscall.EINVAL)
		}
		return 1
	}
	res, err := c.Command(context.Background(), []string{cmd}, inbuf)
	var re *mon.ResultError
	if err != nil && !errors.As(err, &re) {
		fmt.Fprintf(stderr, "msgr ceph: %v\n", err)
		return 1
	}
	if o.outFile != "" && o.outFile != "-" {
		if werr := os.WriteFile(o.outFile, res.Data, 0o644); werr != nil {
			fmt.Fprintf(stderr, "msgr ceph: %v\n", werr)
			return 1
		}
	} else {
		// As ceph: a blank line before JSON output, then the output as
		// the mon sent it.
		if o.outFile == "" && strings.HasPrefix(o.format, "json") {
			fmt.Fprintln(stdout)
		}
		stdout.Write(res.Data)
	}
	if re != nil {
		fmt.Fprintln(stderr, re.Error())
		return int(-re.Code)
	}
	if res.Status != "" {
		fmt.Fprintln(stderr, res.Status)
	}
	return 0
}

func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// buildCommand turns the words into the JSON command: given as JSON, it
// is sent as is (with "format" added for -f); as words, it is matched
// against the mon's command descriptions as the ceph CLI matches them.
func buildCommand(ctx context.Context, c *mon.Client, o cephOpts) (string, error) {
	joined := strings.TrimSpace(strings.Join(o.words, " "))
	if strings.HasPrefix(joined, "{") {
		js, err := mon.ParseJSONCommand(joined)
		if err != nil || o.format == "" {
			return js, err
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			return "", err
		}
		m["format"] = o.format
		b, err := json.Marshal(m)
		return string(b), err
	}
	res, err := c.Command(ctx, []string{`{"prefix": "get_command_descriptions"}`}, nil)
	if err != nil {
		return "", fmt.Errorf("msgr ceph: fetching the command descriptions: %w", err)
	}
	ds, err := mon.ParseDescriptions(res.Data)
	if err != nil {
		return "", fmt.Errorf("msgr ceph: %w", err)
	}
	args, _, err := ds.ParseCommand(o.words, o.format)
	if err != nil {
		return "", err
	}
	return args.JSON(), nil
}
