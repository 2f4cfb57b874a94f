package mon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/internal/cephtest"
	"github.com/gomsgr/msgr/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dialLive(t *testing.T, cfg *config.Config) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg, Options{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func command(t *testing.T, c *Client, js string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := c.Command(ctx, []string{js}, nil)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return r.Data
}

// cephCLI runs the real ceph CLI against the same cluster.
func cephCLI(t *testing.T, cfg *config.Config, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("ceph"); err != nil {
		t.Skip("no ceph CLI to compare with")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ceph", append([]string{"-c", cfg.Path, "--connect-timeout", "20"}, args...)...)
	cmd.Env = append(os.Environ(), "CEPH_ARGS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ceph %s: %v", strings.Join(args, " "), err)
	}
	return out
}

type statusJSON struct {
	FSID   string `json:"fsid"`
	Monmap struct {
		Epoch int `json:"epoch"`
	} `json:"monmap"`
	Osdmap struct {
		Epoch   int `json:"epoch"`
		NumOSDs int `json:"num_osds"`
	} `json:"osdmap"`
}

// checkAgainstCLI compares status and osd dump through the client with
// what `ceph -f json` prints.
func checkAgainstCLI(t *testing.T, cfg *config.Config, c *Client) {
	var ours, theirs statusJSON
	if err := json.Unmarshal(command(t, c, `{"prefix": "status", "format": "json"}`), &ours); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cephCLI(t, cfg, "status", "-f", "json"), &theirs); err != nil {
		t.Fatal(err)
	}
	if ours.FSID != theirs.FSID || ours.FSID != c.FSID().String() || ours.Monmap.Epoch != theirs.Monmap.Epoch ||
		ours.Osdmap.NumOSDs != theirs.Osdmap.NumOSDs {
		t.Errorf("status: ours %+v, ceph's %+v, monmap fsid %s", ours, theirs, c.FSID())
	}
	var od, cd struct {
		FSID  string `json:"fsid"`
		Epoch int    `json:"epoch"`
	}
	if err := json.Unmarshal(command(t, c, `{"prefix": "osd dump", "format": "json"}`), &od); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cephCLI(t, cfg, "osd", "dump", "-f", "json"), &cd); err != nil {
		t.Fatal(err)
	}
	// The CLI runs after us; the epoch can only have grown.
	if od.FSID != cd.FSID || od.Epoch == 0 || od.Epoch > cd.Epoch {
		t.Errorf("osd dump: ours %+v, ceph's %+v", od, cd)
	}
}

func TestLiveConnect(t *testing.T) {
	for _, env := range []string{"MSGR_TEST_CEPH_NONE", "MSGR_TEST_CEPH_CEPHX", "MSGR_TEST_CEPH_SECURE"} {
		t.Run(env, func(t *testing.T) {
			cfg := cephtest.Load(t, env)
			start := time.Now()
			c := dialLive(t, cfg)
			t.Logf("session with %v in %v, global id %d", must(c.ActiveMon()), time.Since(start), c.GlobalID())
			mm := c.MonMap()
			want, _, _ := cfg.FSID()
			if mm == nil || mm.FSID != want || len(mm.Mons) == 0 || c.GlobalID() == 0 {
				t.Fatalf("monmap %v, global id %d", mm, c.GlobalID())
			}
			checkAgainstCLI(t, cfg, c)
		})
	}
}

func must[T any](v T, _ bool) T { return v }

func TestLiveSubscribeAndVersion(t *testing.T) {
	cfg := cephtest.Load(t, "MSGR_TEST_CEPH_NONE")
	c := dialLive(t, cfg)
	maps := make(chan *messages.MOSDMap, 4)
	c.OnOSDMap(func(m *messages.MOSDMap) {
		select {
		case maps <- m:
		default:
		}
	})
	c.Subscribe(messages.SubOSDMap, 0, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var m *messages.MOSDMap
	select {
	case m = <-maps:
	case <-ctx.Done():
		t.Fatal("no MOSDMap after subscribing")
	}
	newest, oldest, err := c.GetVersion(ctx, messages.SubOSDMap)
	if err != nil {
		t.Fatal(err)
	}
	if m.FSID != c.FSID() || m.Last() == 0 || m.Last() > uint32(newest) || oldest == 0 || oldest > newest {
		t.Errorf("osdmap %v, versions %d..%d", m, oldest, newest)
	}
}

// TestLiveCommandChangesState creates a pool through the client and sees
// it with the real ceph CLI, then removes it.
func TestLiveCommandChangesState(t *testing.T) {
	cfg := cephtest.Load(t, "MSGR_TEST_CEPH_NONE")
	c := dialLive(t, cfg)
	pool := fmt.Sprintf("msgr-mon-%d", time.Now().UnixNano()%1e9)
	command(t, c, fmt.Sprintf(`{"prefix": "osd pool create", "pool": %q, "pg_num": 8}`, pool))
	defer command(t, c, fmt.Sprintf(`{"prefix": "osd pool delete", "pool": %q, "pool2": %q, "yes_i_really_really_mean_it": true}`, pool, pool))
	var pools []string
	if err := json.Unmarshal(cephCLI(t, cfg, "osd", "pool", "ls", "-f", "json"), &pools); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pools {
		found = found || p == pool
	}
	if !found {
		t.Errorf("ceph osd pool ls does not show %s: %q", pool, pools)
	}
}

// TestLiveTwoMessengers runs two clients, each on its own messenger, at
// once against the same mon.
func TestLiveTwoMessengers(t *testing.T) {
	cfg := cephtest.Load(t, "MSGR_TEST_CEPH_NONE")
	a, b := dialLive(t, cfg), dialLive(t, cfg)
	if a.GlobalID() == b.GlobalID() {
		t.Errorf("both clients have global id %d", a.GlobalID())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for _, c := range []*Client{a, b} {
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				r, err := c.Command(ctx, []string{`{"prefix": "fsid", "format": "json"}`}, nil)
				if err == nil && !bytes.Contains(r.Data, []byte(c.FSID().String())) {
					err = fmt.Errorf("fsid answer %q", r.Data)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestLiveErrors(t *testing.T) {
	cfg := cephtest.Load(t, "MSGR_TEST_CEPH_NONE")
	c := dialLive(t, cfg)

	// A command the mon rejects.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := c.Command(ctx, []string{`{"prefix": "osd pool get", "pool": "no-such-pool-xyz", "var": "size"}`}, nil)
	var re *ResultError
	if !errors.As(err, &re) || !errors.Is(err, syscall.ENOENT) || r == nil || r.Result != -int32(syscall.ENOENT) || r.Status == "" {
		t.Errorf("rejected command: %v %+v", err, r)
	} else if !strings.HasPrefix(err.Error(), "Error ENOENT: ") {
		t.Errorf("message %q", err)
	}
	_, err = c.Command(ctx, []string{`{"prefix": "no such command"}`}, nil)
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("unknown command: %v", err)
	}

	// No mon reachable: fails within the connect timeout.
	dead := New(config.NewFile(), config.DefaultName)
	dead.Set("mon_host", "v2:127.0.0.1:1")
	dead.Set("auth_client_required", "none")
	start := time.Now()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	_, err = Dial(ctx2, dead, Options{HuntInterval: 300 * time.Millisecond})
	if !errors.Is(err, ErrNoMonitor) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 4*time.Second {
		t.Errorf("no mon: %v after %v", err, time.Since(start))
	}

	// The configured fsid is not the cluster's.
	wrong := New(cfg.File, cfg.Name)
	wrong.Set("fsid", "00000000-1111-2222-3333-444444444444")
	ctx3, cancel3 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel3()
	start = time.Now()
	_, err = Dial(ctx3, wrong, Options{})
	if !errors.Is(err, ErrWrongFSID) || time.Since(start) > 10*time.Second {
		t.Errorf("wrong fsid: %v", err)
	}

	// The mon runs auth none; a client that insists on cephx is refused.
	cx := New(cfg.File, cfg.Name)
	cx.Set("auth_supported", "cephx")
	cx.Set("key", "AQBZRwhrJG/nBhAArkdPoFC1NFqwmTW5zLu/1A==")
	ctx4, cancel4 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel4()
	_, err = Dial(ctx4, cx, Options{})
	if !errors.Is(err, ErrAuthFailed) || !errors.Is(err, auth.ErrDenied) {
		t.Errorf("auth method refused: %v", err)
	}
}

// New is config.New, shortened for the tests above.
func New(f *config.File, name string) *config.Config {
	c := config.New(f, name)
	return c
}

func TestLiveWrongKey(t *testing.T) {
	for _, env := range []string{"MSGR_TEST_CEPH_CEPHX", "MSGR_TEST_CEPH_SECURE"} {
		t.Run(env, func(t *testing.T) {
			cfg := cephtest.Load(t, env)
			bad := New(cfg.File, cfg.Name)
			bad.Set("key", "AQBZRwhrJG/nBhAArkdPoFC1NFqwmTW5zLu/1A==")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			_, err := Dial(ctx, bad, Options{})
			if !errors.Is(err, ErrAuthFailed) || time.Since(start) > 10*time.Second {
				t.Errorf("wrong key: %v after %v", err, time.Since(start))
			}
			unknown := New(cfg.File, "client.nobody")
			unknown.Set("key", "AQBZRwhrJG/nBhAArkdPoFC1NFqwmTW5zLu/1A==")
			_, err = Dial(ctx, unknown, Options{})
			if !errors.Is(err, ErrAuthFailed) {
				t.Errorf("unknown entity: %v", err)
			}
		})
	}
}

// TestLiveTicketRenewal keeps one client busy for several ticket
// lifetimes on the cluster with short tickets (MSGR_TEST_CEPH_TTL).
func TestLiveTicketRenewal(t *testing.T) {
	cfg := cephtest.Load(t, "MSGR_TEST_CEPH_TTL")
	ttl, err := cfg.Duration("auth_mon_ticket_ttl")
	if err != nil || ttl > time.Minute {
		t.Skipf("the cluster's ticket ttl is %v (%v): too long to test renewal", ttl, err)
	}
	c := dialLive(t, cfg)
	deadline := time.Now().Add(3*ttl + ttl/2)
	n := 0
	for time.Now().Before(deadline) {
		command(t, c, `{"prefix": "mon stat"}`)
		n++
		time.Sleep(time.Second)
	}
	c.mu.Lock()
	renewals := c.renewals
	c.mu.Unlock()
	t.Logf("%d commands over %v with tickets of %v; %d renewals", n, 3*ttl+ttl/2, ttl, renewals)
	if renewals < 2 {
		t.Errorf("only %d ticket renewals in %v with tickets of %v", renewals, 3*ttl+ttl/2, ttl)
	}
	// A fresh connection to the mon with the renewed tickets still works.
	c.mu.Lock()
	c.reopenLocked()
	c.mu.Unlock()
	command(t, c, `{"prefix": "mon stat"}`)
}
