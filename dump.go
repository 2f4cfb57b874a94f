package msgr

import (
	"context"
	"slices"

	v1 "github.com/gomsgr/msgr/internal/protocol/v1"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
)

// ConnState is one connection as the admin socket's dump_connections
// shows it.
type ConnState struct {
	ID        uint64 `json:"id"`
	Peer      string `json:"peer"`
	PeerAddrs string `json:"peer_addrs"`
	Worker    int    `json:"worker"`
	State     string `json:"state"` // the protocol state machine's
	Connected bool   `json:"connected"`
	Accepted  bool   `json:"accepted"`
	Lossy     bool   `json:"lossy"`
	OutSeq    uint64 `json:"out_seq"`
	InSeq     uint64 `json:"in_seq"`
	// SendQueue: queued by Send, not yet handed to the protocol;
	// OutQueue: handed to it and not yet acked; OutBytes: the outbound
	// budget they hold; InQueue: read and not yet dispatched.
	SendQueue int   `json:"send_queue"`
	OutQueue  int   `json:"out_queue"`
	OutBytes  int64 `json:"out_bytes"`
	InQueue   int   `json:"in_queue"`
}

// DumpConnections describes every live connection, sorted by id. It
// reads each connection on its worker, so it must not run on one; a
// connection whose worker does not answer before ctx ends is left out.
func (m *Messenger) DumpConnections(ctx context.Context) []ConnState {
	m.mu.Lock()
	conns := make([]*Conn, 0, len(m.all))
	for c := range m.all {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	slices.SortFunc(conns, func(a, b *Conn) int { return int(a.id - b.id) })
	out := make([]ConnState, 0, len(conns))
	for _, c := range conns {
		st, err := callOn(ctx, c.worker, func() (ConnState, error) { return c.state(), nil })
		if err == nil {
			out = append(out, st)
		}
	}
	return out
}

// dumpable is what both protocols' Machines tell a dump.
type dumpable interface {
	State() v2.State
	Queued() int
	Seqs() (out, in uint64)
}

var (
	_ dumpable = (*v2.Machine)(nil)
	_ dumpable = (*v1.Machine)(nil)
)

// state runs on c's worker.
func (c *Conn) state() ConnState {
	i := c.info.Load()
	st := ConnState{
		ID: c.id, Peer: i.peer.String(), PeerAddrs: i.addrs.String(), Worker: c.worker.ID(),
		Connected: i.connected, Accepted: i.accepted, Lossy: c.policy.Lossy, InQueue: c.inq.Len(),
	}
	if d, ok := c.mach.(dumpable); ok {
		st.State, st.OutQueue = d.State().String(), d.Queued()
		st.OutSeq, st.InSeq = d.Seqs()
	}
	c.mu.Lock()
	st.SendQueue, st.OutBytes = len(c.sendq), c.outBytes
	c.mu.Unlock()
	return st
}
