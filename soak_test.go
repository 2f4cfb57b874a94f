package msgr

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// soakMessages is how many messages each policy's soak carries, the
// clients' and the servers' echoes together (MSGR_SOAK_MESSAGES; CI runs
// 1,000,000 in a step of its own, without -race). The default keeps the
// README's -race run short.
func soakMessages(t *testing.T) int {
	s := os.Getenv("MSGR_SOAK_MESSAGES")
	if s == "" {
		return 24_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("MSGR_SOAK_MESSAGES=%q: want a positive count", s)
	}
	return n
}

// TestSoak carries MSGR_SOAK_MESSAGES messages per policy: 3 clients send
// half of them to 2 servers, which echo each one, while a socket operation in 200
// (lossy: 50) fails on every connection. Lossless policies: every message and every
// echo arrives exactly once and in order. Lossy: resets reach the
// dispatchers and nothing is duplicated or reordered on a connection.
func TestSoak(t *testing.T) {
	n := soakMessages(t)
	const clients, servers = 3, 2
	perConn := max(1, (n+2*clients*servers-1)/(2*clients*servers)) // at least n in all
	cases := []synthConfig{
		{name: "soak lossless_client-stateful_server", cli: LosslessClient(0), srv: StatefulServer(0)},
		{name: "soak lossless_peer", cli: LosslessPeer(0), srv: LosslessPeer(0), peers: true},
		{name: "soak lossless_peer_reuse", cli: LosslessPeerReuse(0), srv: LosslessPeerReuse(0), peers: true, internalDelays: time.Millisecond},
		{name: "soak lossy_client-stateless_server", cli: LossyClient(0), srv: StatelessServer(0), markDownEvery: min(1000, max(1, perConn/4))},
	}
	for _, tc := range cases {
		tc.clients, tc.servers, tc.perConn = clients, servers, perConn
		// Lossy connections are short-lived (marked down every quarter
		// of the run): fail more often, so that every run injects some.
		tc.failEvery = 200
		if tc.cli.Lossy {
			tc.failEvery = 50
		}
		// Side by side: a run spends most of its time waiting (backoffs,
		// acks), not computing.
		t.Run(tc.name, func(t *testing.T) { t.Parallel(); runSynthetic(t, tc) })
	}
}
