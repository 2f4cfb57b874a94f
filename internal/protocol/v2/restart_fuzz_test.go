package v2

import (
	"fmt"
	"testing"
)

// TestRestartsRandomized mixes message traffic, socket failures and
// process restarts of either peer (lossless_peer on both sides). Sessions
// get reset, so not everything arrives; what must hold: nothing arrives
// twice or out of order from one incarnation to another, and the network
// always settles with both ends open or waiting, never stuck mid-way.
func TestRestartsRandomized(t *testing.T) {
	for seed := 1; seed <= 10; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			n, a, b := peers(t, uint64(seed))
			a.strict, b.strict = true, true
			n.maxChunk = 1 + n.rng.IntN(150)
			var id uint64 // ids are globally increasing, so per-sender order is checkable
			restarts := 0
			for step := 0; step < 4000; step++ {
				switch r := n.rng.IntN(1000); {
				case r < 300:
					id++
					a.sendTo(b, msg(id))
				case r < 600:
					id++
					b.sendTo(a, msg(id))
				case r < 620:
					n.breakRandom()
				case r < 624:
					a = a.restart()
					restarts++
				case r < 628:
					b = b.restart()
					restarts++
				}
				for k := n.rng.IntN(20); k > 0; k-- {
					if !n.step() {
						n.fireNext(TimerBackoff, TimerHandshake)
						break
					}
				}
			}
			n.quiesce()
			for _, c := range n.allConns() {
				if c.dead || c.closed {
					continue
				}
				switch c.m.ph {
				case phReady, phStandby:
				default:
					t.Fatalf("%s connection left in %v", c.node.name, c.m.ph)
				}
			}
			t.Logf("seed %d: %d restarts, %d messages, verdicts %v", seed, restarts, id, n.verdicts)
		})
	}
}
