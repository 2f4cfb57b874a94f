// Package v1 is Ceph's original wire protocol ("ceph v027", ProtocolV1)
// as a pure state machine, client and server side: no I/O, no goroutine,
// no clock. It is the twin of internal/protocol/v2 and speaks to the
// connection in that package's terms: the same Config and Env, the same
// OutMessage and InMessage, the same Ready (frames, deliveries, acks and
// events: Dial, Established, Lookup, HandOff, ...) and errors. A
// connection drives either Machine through one event switch; only the
// bytes differ.
//
// The Machine owns the session (global_seq, connect_seq, in_seq, out_seq,
// the messages sent and not acknowledged) and the codec of the current
// socket: the banner and address exchange, ceph_msg_connect and its
// reply (with the authorizer and the CEPHX_V2 challenge), then tags:
// MSG (ceph_msg_header, front, middle, data, footer with crcs and the
// cephx signature), ACK, KEEPALIVE, KEEPALIVE2 and its ack, CLOSE.
//
// Faults follow ProtocolV1::fault: a lossy connection is closed; a
// lossless client reconnects, at once if the session was open, else after
// a backoff; a server, or a standby connection with nothing to send,
// waits for the peer. Reconnects and connection races are settled as
// ProtocolV1::handle_connect_message_2 does: RETRY_GLOBAL, RETRY_SESSION,
// RESETSESSION, WAIT, or the existing connection takes over the new
// socket (through Lookup / Arbitrate / Resolve / HandOff / Adopted, as in
// v2; the msgr1 state travels in Query.V1 and Verdict.V1).
//
// Authentication: toward a non-mon peer the client presents an authorizer
// in the connect (auth.ClientHandler.Start, HandleReplyMore for a
// CHALLENGE_AUTHORIZER, HandleDone on the final reply); a server checks
// it with auth.ServerHandler. Toward a mon nothing is presented: the
// MonClient authenticates in MAuth messages. With cephx the session key
// of the ticket signs every message both ways (footer sig).
//
// Ceph references: src/msg/async/ProtocolV1.{h,cc} (Pacific),
// src/include/msgr.h, src/auth/cephx/CephxSessionHandler.cc,
// doc/dev/network-protocol.rst.
package v1

import (
	"errors"

	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
)

// Config is a v2.Config plus what msgr1 needs besides.
type Config struct {
	v2.Config
	// Nonce is the messenger's nonce: it goes in the address a client
	// announces when its messenger has none of its own yet.
	Nonce uint32
	// SignMessages is cephx_sign_messages: sign and check messages on
	// connections authorized with cephx (Ceph's default is true).
	SignMessages bool
}

// ErrNoV1Addr: the peer has no msgr1 address to dial.
var ErrNoV1Addr = errors.New("msgr1: no v1 address to connect to")

// NewClient returns a Machine that will connect to the v1 address among
// cfg.PeerAddrs. Call Start to begin.
func NewClient(cfg Config) (*Machine, error) { return newMachine(cfg, true) }

// NewServer returns a Machine for an accepted socket. Call Accepted.
func NewServer(cfg Config) (*Machine, error) { return newMachine(cfg, false) }

// The event methods (machine.go, arbitrate.go) are those of v2.Machine,
// with the same meaning; each returns a v2.Ready to carry out, valid until
// the next call.

// Peer returns the peer's entity name and addresses.
func (m *Machine) Peer() (encoding.EntityName, encoding.EntityAddrVec) {
	return encoding.EntityName{Type: m.peerType, Num: m.peerNum}, m.peerAddrs
}

// Features returns the features in use with the peer, once established.
func (m *Machine) Features() uint64 { return m.features }

// Queued returns how many messages are queued or sent but not acked.
func (m *Machine) Queued() int { return m.outq.Len() }

// EachQueued calls f with every message the Machine holds (v2.Machine's).
func (m *Machine) EachQueued(f func(*v2.OutMessage)) { m.outq.Each(f) }

// Seqs returns out_seq and in_seq, for dumps.
func (m *Machine) Seqs() (out, in uint64) { return m.outq.Seq(), m.inSeq }
