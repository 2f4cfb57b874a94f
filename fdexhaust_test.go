//go:build linux

package msgr

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/testproc"
)

// fdServerLimit is RLIMIT_NOFILE in the child server of TestFDExhaustion.
const fdServerLimit = 128

// TestFDExhaustionServer is the child process of TestFDExhaustion: a
// messenger server under a low RLIMIT_NOFILE that echoes, prints its
// address, answers "stats" on stdin with its accept failures and
// connections, and exits at the end of stdin.
func TestFDExhaustionServer(t *testing.T) {
	if os.Getenv("MSGR_FD_CHILD") != "1" {
		t.Skip("the child process of TestFDExhaustion")
	}
	lim := syscall.Rlimit{Cur: fdServerLimit, Max: fdServerLimit}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	rec.echo = true
	// Silent connections stay until the parent closes them.
	srv := newTestMessenger(t, osdName(1), true, Options{ConnectionReadyTimeout: time.Minute}, rec)
	srv.SetDefaultPolicy(StatelessServer(0))
	a := srv.Addrs()[0]
	fmt.Printf("addr %s %d\n", a.Addr, a.Nonce)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		st := srv.Stats()
		fmt.Printf("stats %d %d\n", st.AcceptFailures, st.Conns)
	}
}

// TestFDExhaustion runs a server in a child process whose RLIMIT_NOFILE
// is 128, opens silent connections until its accepts fail with EMFILE,
// keeps them open through 8 failed accepts, then closes them: the server
// accepts again (it backs off, never gives
// up), and a client's echo goes through. It logs how long after the
// descriptors were freed the client's first round trip completed.
func TestFDExhaustion(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	child := testproc.Start(t, "TestFDExhaustionServer", []string{"MSGR_FD_CHILD=1"})
	defer func() {
		if err := child.Stop(30 * time.Second); err != nil {
			t.Errorf("child: %v", err)
		}
	}()
	next := func(prefix string) string {
		t.Helper()
		return child.Expect(t, prefix, 60*time.Second)
	}
	stats := func() (failures, conns int) {
		t.Helper()
		child.Printf("stats\n")
		f := strings.Fields(next("stats"))
		failures, _ = strconv.Atoi(f[0])
		conns, _ = strconv.Atoi(f[1])
		return failures, conns
	}
	f := strings.Fields(next("addr"))
	addr, err := netip.ParseAddrPort(f[0])
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		t.Fatal(err)
	}

	// Silent connections until accept fails (the backlog holds the rest).
	var silent []net.Conn
	defer func() {
		for _, c := range silent {
			c.Close()
		}
	}()
	// Dial until accepts have failed 8 times, well past Ceph's
	// ms_max_accept_failures (4) where the listener used to give up for
	// good; connections beyond the limit wait in the backlog, so the
	// listener keeps failing on them while they are open.
	failures, conns := 0, 0
	for i := 0; i < 4*fdServerLimit && failures < 8; i++ {
		c, err := net.DialTimeout("tcp", addr.String(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
		if i >= fdServerLimit/2 && i%8 == 0 {
			failures, conns = stats()
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for failures < 8 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		failures, conns = stats()
	}
	if failures < 8 {
		t.Fatalf("%d accepts failed with %d connections open (server holds %d)", failures, len(silent), conns)
	}
	t.Logf("%d silent connections: the server holds %d and counted %d accept failures", len(silent), conns, failures)

	// Free the descriptors; a client must get through.
	for _, c := range silent {
		c.Close()
	}
	silent = nil
	freed := time.Now()
	rec := newRecorder()
	cli := newTestMessenger(t, clientName(3), false, Options{}, rec)
	cli.SetDefaultPolicy(LosslessClient(0))
	c, err := cli.GetConnection(encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Addr: addr, Nonce: uint32(nonce)}}, encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	sendRange(t, c, 3, 0, 1)
	rec.waitFor(t, "an echo after the descriptors were freed", func() bool { return rec.countFrom(3) == 1 })
	took := time.Since(freed)
	after, _ := stats()
	// The listener's pause never exceeds acceptBackoffMax (the processor
	// test checks that exactly); this is the end-to-end figure.
	t.Logf("first round trip %v after the descriptors were freed (%d accept failures in all)", took.Round(time.Millisecond), after)
}
