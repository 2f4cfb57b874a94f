package msgr

import (
	"os"
	"testing"
	"time"
)

// TestSyntheticStress injects a socket failure every 20 and every 50
// operations on every policy. It takes about half a minute under -race
// on two cores, so it runs only with MSGR_STRESS=1.
func TestSyntheticStress(t *testing.T) {
	if os.Getenv("MSGR_STRESS") == "" {
		t.Skip("set MSGR_STRESS=1 to run")
	}
	for _, fe := range []uint64{20, 50} {
		runSynthetic(t, synthConfig{name: "stress lossless_client", cli: LosslessClient(0), srv: StatefulServer(0), servers: 2, clients: 3, perConn: 2000, failEvery: fe})
		runSynthetic(t, synthConfig{name: "stress lossless_peer_reuse", cli: LosslessPeerReuse(0), srv: LosslessPeerReuse(0), peers: true, servers: 2, clients: 3, perConn: 2000, failEvery: fe, internalDelays: time.Millisecond})
		runSynthetic(t, synthConfig{name: "stress lossless_peer", cli: LosslessPeer(0), srv: LosslessPeer(0), peers: true, servers: 2, clients: 3, perConn: 2000, failEvery: fe})
		runSynthetic(t, synthConfig{name: "stress lossy", cli: LossyClient(0), srv: StatelessServer(0), servers: 2, clients: 3, perConn: 2000, failEvery: fe})
	}
}
