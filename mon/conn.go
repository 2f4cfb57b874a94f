package mon

import (
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// Conn is a connection to a monitor, as the Client uses it; msgr's *Conn
// is one. Conns are compared by identity (map keys, the active session).
type Conn interface {
	Send(m message.Message) error
	SendKeepalive() error
	LastKeepaliveAck() time.Time
	MarkDown()
	// Done is closed once the connection has closed; Err says why.
	Done() <-chan struct{}
	Err() error
	PeerAddrs() encoding.EntityAddrVec
	// IsMsgr1: the connection speaks msgr1, where a session opens by MAuth
	// messages rather than in the handshake.
	IsMsgr1() bool
}

// Messenger is what the Client needs of its messenger: connections to
// monitors, and its own name (renamed client.<global id> once the mons
// gave one). GetConnection must not block on the network.
type Messenger interface {
	GetConnection(addrs encoding.EntityAddrVec, peerType uint8) (Conn, error)
	Name() encoding.EntityName
	SetMyName(encoding.EntityName)
}

// msgrMessenger is a *msgr.Messenger as a Messenger.
type msgrMessenger struct{ *msgr.Messenger }

func (m msgrMessenger) GetConnection(addrs encoding.EntityAddrVec, peerType uint8) (Conn, error) {
	c, err := m.Messenger.GetConnection(addrs, peerType)
	if err != nil {
		return nil, err // not a nil *msgr.Conn in a Conn
	}
	return c, nil
}
