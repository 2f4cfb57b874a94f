package rados_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/gomsgr/msgr/rados"
)

// cliString is how the rados CLI sends a notify's text: an encoded
// std::string.
func cliString(s string) []byte {
	return append([]byte{byte(len(s)), byte(len(s) >> 8), byte(len(s) >> 16), byte(len(s) >> 24)}, s...)
}

// nextEvent waits for the watcher's next notify, failing on an error.
func nextEvent(t *testing.T, ctx context.Context, w *Watcher) NotifyEvent {
	t.Helper()
	select {
	case ev := <-w.Events():
		return ev
	case err := <-w.Errors():
		t.Fatalf("watch failed: %v", err)
	case <-ctx.Done():
		t.Fatal("no notify arrived")
	}
	return NotifyEvent{}
}

type cliWatcher struct {
	Watcher string `json:"watcher"`
	Cookie  uint64 `json:"cookie"`
}

// listWatchers runs rados listwatchers: "watcher=ADDR client.N cookie=C".
func listWatchers(t *testing.T, conf, pool, oid string) []cliWatcher {
	out, e, code := realRados(t, conf, nil, "-p", pool, "listwatchers", oid)
	if code != 0 {
		t.Fatalf("rados listwatchers: %s", e)
	}
	var ws []cliWatcher
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		var w cliWatcher
		w.Watcher = f[1]
		fmt.Sscanf(f[2], "cookie=%d", &w.Cookie)
		ws = append(ws, w)
	}
	return ws
}

func TestInteropWatchNotify(t *testing.T) {
	conf, c, io, p := sharedIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	oid := p + "w"
	if err := io.Create(ctx, oid, CreateIdempotent); err != nil {
		t.Fatal(err)
	}
	me := fmt.Sprintf("client.%d", c.GetInstanceID())

	// msgr watches, the CLI notifies: the notify arrives, msgr's ack
	// reaches the CLI.
	w, err := io.Watch(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Delete(ctx)
	ws := listWatchers(t, conf, "msgr", oid)
	if len(ws) != 1 || ws[0].Watcher != me || ws[0].Cookie != uint64(w.ID()) {
		t.Fatalf("rados listwatchers %+v, want %s cookie %d", ws, me, w.ID())
	}
	type result struct {
		out  string
		code int
	}
	done := make(chan result, 1)
	go func() {
		out, e, code := realRados(t, conf, nil, "-p", "msgr", "notify", oid, "hello-from-cli")
		done <- result{out + e, code}
	}()
	ev := nextEvent(t, ctx, w)
	if string(ev.Data) != string(cliString("hello-from-cli")) || ev.WatcherID != w.ID() || ev.NotifierID == 0 {
		t.Fatalf("notify event %+v", ev)
	}
	if err := ev.Ack(ctx, []byte("pong!")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if want := fmt.Sprintf("reply %s cookie %d : 5 bytes", me, w.ID()); r.code != 0 || !strings.Contains(r.out, want) {
		t.Fatalf("rados notify: %d %q, want %q", r.code, r.out, want)
	}
	if d, err := w.Check(); err != nil || d > time.Minute {
		t.Fatalf("Check: %v %v", d, err)
	}

	// The CLI watches too, msgr notifies: both watchers answer (the CLI
	// echoes the payload).
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	cli := exec.CommandContext(cctx, "rados", "-c", conf, "-p", "msgr", "watch", oid)
	stdin, _ := cli.StdinPipe()
	stdout, _ := cli.StdoutPipe()
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); ccancel(); cli.Wait() }()
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
		}
	}()
	for len(listWatchers(t, conf, "msgr", oid)) < 2 {
		if ctx.Err() != nil {
			t.Fatal("the CLI's watch never registered")
		}
		time.Sleep(100 * time.Millisecond)
	}
	go func() {
		ev := nextEvent(t, ctx, w)
		ev.Ack(ctx, []byte("msgr"))
	}()
	acks, timeouts, err := io.Notify(ctx, oid, []byte("hello-from-msgr"))
	if err != nil || len(acks) != 2 || len(timeouts) != 0 {
		t.Fatalf("Notify: %+v %+v %v", acks, timeouts, err)
	}
	var sawCLI, sawMsgr bool
	for _, a := range acks {
		switch {
		case a.WatcherID == w.ID():
			sawMsgr = string(a.Response) == "msgr" && a.NotifierID == NotifierID(c.GetInstanceID())
		default:
			sawCLI = string(a.Response) == "hello-from-msgr"
		}
	}
	if !sawCLI || !sawMsgr {
		t.Fatalf("acks %+v", acks)
	}

	// A watcher that does not ack: the notify times out naming it. (The
	// CLI unwatches when its stdin closes.)
	stdin.Close()
	cli.Wait()
	for len(listWatchers(t, conf, "msgr", oid)) > 1 {
		time.Sleep(100 * time.Millisecond)
	}
	acks, timeouts, err = io.NotifyWithTimeout(ctx, oid, []byte("unanswered"), time.Second)
	if !errors.Is(err, syscall.ETIMEDOUT) || len(acks) != 0 || len(timeouts) != 1 || timeouts[0].WatcherID != w.ID() {
		t.Fatalf("unanswered notify: %+v %+v %v", acks, timeouts, err)
	}
	<-w.Events() // the late one
	if err := w.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if ws := listWatchers(t, conf, "msgr", oid); len(ws) != 0 {
		t.Fatalf("after Delete, rados listwatchers: %+v", ws)
	}
}

// echoWatch watches oid with io and acks every notify with its payload
// (watchEcho); failures come on errs. stop ends it and deletes the watch.
func echoWatch(t *testing.T, ctx context.Context, io *IOContext, oid string) (w *Watcher, errs <-chan error, stop func()) {
	t.Helper()
	w, err := io.Watch(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithCancel(ctx)
	ch := make(chan error, 100)
	go watchEcho(wctx, w, ch)
	return w, ch, func() { wcancel(); w.Delete(ctx) }
}

// watchEcho acks every notify on w with its payload until ctx ends.
func watchEcho(ctx context.Context, w *Watcher, errs chan<- error) {
	for {
		select {
		case ev := <-w.Events():
			if err := ev.Ack(ctx, ev.Data); err != nil && ctx.Err() == nil {
				errs <- err
			}
		case err := <-w.Errors():
			errs <- err
			return
		case <-ctx.Done():
			return
		}
	}
}

// notifyOnce notifies from another client and checks the watch answered.
func notifyOnce(t *testing.T, ctx context.Context, io *IOContext, oid string, w *Watcher, i int) {
	t.Helper()
	msg := fmt.Sprintf("n%d", i)
	acks, timeouts, err := io.NotifyWithTimeout(ctx, oid, []byte(msg), 20*time.Second)
	if err != nil || len(acks) != 1 || len(timeouts) != 0 || acks[0].WatcherID != w.ID() || string(acks[0].Response) != msg {
		t.Fatalf("notify %d: acks %+v timeouts %+v: %v", i, acks, timeouts, err)
	}
}

// A watch whose client's connections keep failing (one message in 30)
// is re-registered after each reset and answers every notify.
func TestInteropWatchSurvivesSocketFailures(t *testing.T) {
	conf, _, notifier, p := sharedIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := NewConn()
	if err != nil {
		t.Fatal(err)
	}
	c.ReadConfigFile(conf)
	c.SetConfigOption("ms_inject_socket_failures", "30")
	c.SetConfigOption("objecter_tick_interval", "0.5")
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	io, err := c.OpenIOContext(ctx, "msgr")
	if err != nil {
		t.Fatal(err)
	}
	oid := p + "w"
	if err := notifier.Create(ctx, oid, CreateIdempotent); err != nil {
		t.Fatal(err)
	}
	w, errs, stop := echoWatch(t, ctx, io, oid)
	defer stop()
	for i := 0; i < 40 || w.Reconnects() < 3; i++ {
		if i > 400 {
			t.Fatalf("only %d re-registrations in %d notifies", w.Reconnects(), i)
		}
		notifyOnce(t, ctx, notifier, oid, w, i)
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		// Let pings and resets happen between notifies.
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("objecter: %+v, watch re-registered %d times", c.Objecter().Stats(), w.Reconnects())
	if w.Reconnects() == 0 {
		t.Fatal("the watch was never re-registered")
	}
}

// The watched object's primary OSD stops and is marked down: the watch
// moves to the new primary, and back when the OSD returns (with new
// addresses); notifies reach it throughout.
func TestInteropWatchSurvivesOSDRestart(t *testing.T) {
	conf := clusterConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pool, io := testPoolIO(t, ctx, c, 2)
	notifierConn := connect(t, conf)
	notifier, err := notifierConn.OpenIOContext(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	oid := "watched"
	if err := io.Create(ctx, oid, CreateIdempotent); err != nil {
		t.Fatal(err)
	}
	w, errs, stop := echoWatch(t, ctx, io, oid)
	defer stop()
	notifyOnce(t, ctx, notifier, oid, w, 0)

	out, _, err := c.MonCommand(ctx, mustJSON(map[string]any{"prefix": "osd map", "pool": pool, "object": oid, "format": "json"}))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Primary int `json:"acting_primary"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	resume := stopOSD(t, ctx, c, conf, m.Primary)
	defer resume() // before the test's own deferred clean-ups, which need the OSD
	notifyOnce(t, ctx, notifier, oid, w, 1)
	resume()
	// Wait until the OSD is up again (it rebinds: new addresses).
	for {
		out, _, err := c.MonCommand(ctx, mustJSON(map[string]any{"prefix": "osd map", "pool": pool, "object": oid, "format": "json"}))
		if err != nil {
			t.Fatal(err)
		}
		var m2 struct {
			Primary int `json:"acting_primary"`
		}
		json.Unmarshal(out, &m2)
		if osdUp(t, c, m.Primary) && m2.Primary == m.Primary {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the OSD did not come back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := c.WaitForLatestOSDMap(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 5; i++ {
		notifyOnce(t, ctx, notifier, oid, w, i)
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if _, err := w.Check(); err != nil {
		t.Fatal(err)
	}
	// Once to the new primary, once back.
	if n := w.Reconnects(); n < 2 {
		t.Fatalf("the watch was re-registered %d times", n)
	}
}

func osdUp(t *testing.T, c *Conn, id int) bool {
	up, err := osdUpIn(context.Background(), c, id)
	if err != nil {
		t.Fatal(err)
	}
	return up
}
