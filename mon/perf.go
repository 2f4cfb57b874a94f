package mon

import "github.com/gomsgr/msgr/perf"

// The MonClient's section, "monc". Ceph's MonClient keeps no perf
// counters; these are read at dump time from what the Client keeps,
// except sessions opened, counted where a session opens.
const (
	lMoncSession = iota
	lMoncSessionsOpened
	lMoncHunting
	lMoncCommandActive
	lMoncVersionActive
	lMoncSubscriptions
	lMoncRenewals
)

func (c *Client) newPerf() *perf.Logger {
	b := perf.NewBuilder("monc")
	locked := func(f func() int) func() uint64 {
		return func() uint64 {
			c.mu.Lock()
			defer c.mu.Unlock()
			return uint64(f())
		}
	}
	b.Add(perf.Desc{Name: "session", Description: "A monitor session is open (0 or 1)", Kind: perf.Gauge, Read: locked(func() int {
		if c.active != nil {
			return 1
		}
		return 0
	})})
	b.Add(perf.Desc{Name: "sessions_opened", Description: "Monitor sessions opened (hunts won)", Kind: perf.Counter})
	b.Add(perf.Desc{Name: "hunting", Description: "Monitor connections being tried", Kind: perf.Gauge, Read: locked(func() int { return len(c.hunting) })})
	b.Add(perf.Desc{Name: "command_active", Description: "Mon commands awaiting their ack", Kind: perf.Gauge, Read: locked(func() int { return len(c.cmds) })})
	b.Add(perf.Desc{Name: "version_active", Description: "Map version queries awaiting their reply", Kind: perf.Gauge, Read: locked(func() int { return len(c.versions) })})
	b.Add(perf.Desc{Name: "subscriptions", Description: "Maps subscribed to", Kind: perf.Gauge, Read: locked(func() int { return len(c.subs) })})
	b.Add(perf.Desc{Name: "ticket_renewals", Description: "Completed cephx ticket renewals", Kind: perf.Counter, Read: locked(func() int { return c.renewals })})
	return b.Logger()
}

// PerfCounters is the MonClient's "monc" section, to add to a
// perf.Collection.
func (c *Client) PerfCounters() *perf.Logger { return c.perf }
