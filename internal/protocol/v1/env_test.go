package v1

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
)

// testEnv is a messenger as the Machine sees it, deterministic.
type testEnv struct {
	addrs      encoding.EntityAddrVec
	name       encoding.EntityName
	gseq       uint64
	cookie     uint64
	policy     v2.Policy
	authClient func(peerType uint8) (auth.ClientHandler, error)
	authServer func(peerType uint8) (auth.ServerHandler, error)
}

func (e *testEnv) MyAddrs() encoding.EntityAddrVec { return e.addrs }
func (e *testEnv) NextGlobalSeq(atLeast uint64) uint64 {
	e.gseq = max(e.gseq, atLeast) + 1
	return e.gseq
}
func (e *testEnv) Policy(uint8) v2.Policy { return e.policy }
func (e *testEnv) AuthClient(peerType uint8) (auth.ClientHandler, error) {
	if e.authClient != nil {
		return e.authClient(peerType)
	}
	return &auth.NoneClient{Name: auth.EntityName{Type: uint32(e.name.Type), ID: "x"}, Mon: peerType == encoding.EntityTypeMon}, nil
}
func (e *testEnv) AuthServer(uint8) (auth.ServerHandler, error) {
	if e.authServer != nil {
		return e.authServer(0)
	}
	return &auth.NoneServer{GlobalIDs: auth.NewGlobalIDs(4100)}, nil
}
func (e *testEnv) Cookie() uint64 { e.cookie++; return e.cookie }

var t0 = time.Unix(1700000000, 0)

func v1addr(s string, nonce uint32) encoding.EntityAddr {
	return encoding.EntityAddr{Type: encoding.AddrTypeLegacy, Nonce: nonce, Addr: netip.MustParseAddrPort(s)}
}

// acts collects a Machine's actions by kind.
type acts struct {
	writes    []byte
	delivered []*v2.InMessage
	est       []v2.Established
	closed    []v2.Closed
	resets    []v2.Reset
	sockClose int
	sockErrs  []error
	dials     int
	lookups   []*v2.Query
	handoffs  []v2.HandOff
	acked     int
	discarded int
	kaAcks    int
	other     []v2.Action
}

func (a *acts) add(r *v2.Ready) {
	r.Walk(func(bufs [][]byte, delivered []*v2.InMessage, ack []*v2.OutMessage, x v2.Action) {
		for _, b := range bufs {
			a.writes = append(a.writes, b...)
		}
		a.delivered = append(a.delivered, delivered...)
		a.acked += len(ack)
		switch x := x.(type) {
		case nil:
		case v2.Established:
			a.est = append(a.est, x)
		case v2.Closed:
			a.closed = append(a.closed, x)
		case v2.Reset:
			a.resets = append(a.resets, x)
		case v2.CloseSocket:
			a.sockClose++
			a.sockErrs = append(a.sockErrs, x.Err)
		case v2.Dial:
			a.dials++
		case v2.Lookup:
			a.lookups = append(a.lookups, x.Query)
		case v2.HandOff:
			a.handoffs = append(a.handoffs, x)
		case v2.Discarded:
			a.discarded += len(x.Msgs)
		case v2.KeepaliveAck:
			a.kaAcks++
		case v2.SetTimer, v2.StopTimer, v2.LearnedAddr:
		default:
			a.other = append(a.other, x)
		}
	})
}

// feed gives m bytes as read from its socket, answering its lookups as a
// messenger with no other connection does.
func (a *acts) feed(m *Machine, p []byte) {
	n := len(a.lookups)
	a.add(m.Received(t0, p))
	for len(a.lookups) > n {
		n = len(a.lookups)
		a.add(m.Resolve(t0, nil))
	}
}

// takeWrites returns and forgets what was written so far.
func (a *acts) takeWrites() []byte {
	w := a.writes
	a.writes = nil
	return w
}

func newTestClient(t *testing.T, env *testEnv, peerType uint8, peer encoding.EntityAddr, nonce uint32) *Machine {
	t.Helper()
	m, err := NewClient(Config{Config: v2.Config{Env: env, Me: env.name, PeerType: peerType,
		PeerAddrs: encoding.EntityAddrVec{peer}, SupportedFeatures: pacificFeatures}, Nonce: nonce, SignMessages: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newTestServer(t *testing.T, env *testEnv) *Machine {
	t.Helper()
	m, err := NewServer(Config{Config: v2.Config{Env: env, Me: env.name, SupportedFeatures: pacificFeatures}, SignMessages: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pacificFeatures is what every Ceph 16.2.15 peer sent in the captures.
const pacificFeatures = 0x3f01cfbdfffdffff
