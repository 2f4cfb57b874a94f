package v1

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
)

// TestDecide: handle_connect_message_2's verdicts for a connect that finds
// an existing connection, branch by branch.
func TestDecide(t *testing.T) {
	lossless := v2.Policy{Standby: true}
	me := v1addr("127.0.0.1:6800", 5)
	lower := v1addr("127.0.0.1:6700", 5)  // sorts before me: the incoming side wins a race
	higher := v1addr("127.0.0.1:6900", 5) // sorts after me: our outgoing connection wins
	tests := []struct {
		name      string
		ph        phase
		replacing bool
		policy    v2.Policy
		cs, pgs   uint32 // the existing connection's connect_seq, peer_global_seq
		q         query
		want      verdictKind
	}{
		{"closed", phClosed, false, lossless, 3, 5, query{globalSeq: 1}, vOpen},
		{"replacing", phReady, true, lossless, 3, 5, query{globalSeq: 9, connectSeq: 4}, vRetryGlobal},
		{"old global_seq", phReady, false, lossless, 3, 5, query{globalSeq: 4, connectSeq: 4}, vRetryGlobal},
		{"lossy existing", phReady, false, v2.Policy{Lossy: true}, 3, 5, query{globalSeq: 6}, vOpen},
		{"peer reset", phReady, false, lossless, 3, 5, query{globalSeq: 6, connectSeq: 0}, vReplace},
		{"old connect_seq", phReady, false, lossless, 3, 5, query{globalSeq: 6, connectSeq: 2}, vRetrySession},
		{"same cs, open", phReady, false, lossless, 3, 5, query{globalSeq: 6, connectSeq: 3}, vRetrySession},
		{"same cs 0, open, resetcheck", phReady, false, lossless, 0, 5, query{globalSeq: 6, connectSeq: 0, resetcheck: true}, vReplace},
		{"race, incoming wins", phConnReply, false, lossless, 3, 5, query{globalSeq: 6, connectSeq: 3, peerAddr: lower}, vReplace},
		{"race, we win", phConnReply, false, lossless, 3, 5, query{globalSeq: 6, connectSeq: 3, peerAddr: higher}, vWait},
		{"race, we are the server", phConnReply, false, v2.Policy{Server: true, Standby: true}, 3, 5, query{globalSeq: 6, connectSeq: 3, peerAddr: higher}, vReplace},
		{"new cs, we reset", phStandby, false, lossless, 0, 0, query{globalSeq: 6, connectSeq: 2, resetcheck: true}, vResetSession},
		{"reconnect", phStandby, false, lossless, 3, 5, query{globalSeq: 6, connectSeq: 4}, vReplace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeOSD}, addrs: encoding.EntityAddrVec{me}, policy: tc.policy}
			m := newTestServer(t, env)
			m.ph, m.replacing, m.policy, m.connectSeq, m.peerGlobalSeq = tc.ph, tc.replacing, tc.policy, tc.cs, tc.pgs
			m.peerType = encoding.EntityTypeOSD
			m.target = higher
			m.hasSocket = tc.ph != phClosed && tc.ph != phStandby
			q := tc.q
			v, list := m.Arbitrate(t0, &v2.Query{V1: &q})
			got := v.V1.(*verdict)
			if got.kind != tc.want {
				t.Fatalf("verdict %d, want %d", got.kind, tc.want)
			}
			var a acts
			a.add(list)
			switch tc.want {
			case vRetryGlobal:
				if got.globalSeq != tc.pgs {
					t.Fatalf("RETRY_GLOBAL with %d, want %d", got.globalSeq, tc.pgs)
				}
			case vRetrySession:
				if got.connectSeq != tc.cs+1 {
					t.Fatalf("RETRY_SESSION with %d, want %d", got.connectSeq, tc.cs+1)
				}
			case vReplace:
				if m.ph != phReplacing || m.adoptReply == nil || m.adoptReply.Tag != TagRetryGlobal || v.Register {
					t.Fatalf("replace left %v, reply %+v", m.ph, m.adoptReply)
				}
				// The adopted socket gets RETRY_GLOBAL, then a connect.
				var b acts
				b.add(m.Adopted(t0, nil))
				if len(b.writes) != ConnectReplyLen || Tag(b.writes[0]) != TagRetryGlobal ||
					binary.LittleEndian.Uint32(b.writes[9:]) != tc.pgs {
					t.Fatalf("after Adopted wrote %x", b.writes)
				}
			case vOpen:
				if !v.Register {
					t.Fatal("open without registering")
				}
			}
		})
	}
}

// TestConnectReplies: what a client does with each refusal or retry.
func TestConnectReplies(t *testing.T) {
	srv := readFile(t, replaySrv)[:BannerLen+2*AddrLen]
	tests := []struct {
		tag     Tag
		wantErr error // nil: a new connect goes out on the same socket
		check   func(t *testing.T, m *Machine, w []byte)
	}{
		{TagRetryGlobal, nil, func(t *testing.T, m *Machine, w []byte) {
			var c Connect
			DecodeConnect(&c, w)
			if c.GlobalSeq <= 40 {
				t.Fatalf("global_seq %d after RETRY_GLOBAL 40", c.GlobalSeq)
			}
		}},
		{TagRetrySession, nil, func(t *testing.T, m *Machine, w []byte) {
			var c Connect
			DecodeConnect(&c, w)
			if c.ConnectSeq != 7 {
				t.Fatalf("connect_seq %d after RETRY_SESSION 7", c.ConnectSeq)
			}
		}},
		{TagResetSession, nil, func(t *testing.T, m *Machine, w []byte) {
			var c Connect
			DecodeConnect(&c, w)
			if c.ConnectSeq != 0 || m.inSeq != 0 {
				t.Fatalf("connect_seq %d in_seq %d after RESETSESSION", c.ConnectSeq, m.inSeq)
			}
		}},
		{TagWait, v2.ErrWait, func(t *testing.T, m *Machine, _ []byte) {
			if m.ph != phBackoff || m.backoff != m.maxBackoff {
				t.Fatalf("after WAIT: %v, backoff %v", m.ph, m.backoff)
			}
		}},
		{TagBadAuthorizer, v2.ErrAuth, nil},
		{TagFeatures, v2.ErrMissingFeatures, nil},
		{TagBadProtoVer, v2.ErrProtocol, nil},
		{Tag(99), ErrBadTag, nil},
	}
	for _, tc := range tests {
		t.Run(tc.tag.String(), func(t *testing.T) {
			env := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: 1}, policy: v2.Policy{ResetCheck: true}}
			m := newTestClient(t, env, encoding.EntityTypeOSD, v1addr("127.0.0.1:6800", 566), 9)
			var a acts
			a.add(m.Start(t0))
			a.add(m.Connected(t0))
			a.add(m.Received(t0, srv))
			a.takeWrites()
			m.inSeq = 3
			r := ConnectReply{Tag: tc.tag, Features: pacificFeatures, GlobalSeq: 40, ConnectSeq: 7, ProtocolVersion: 24}
			var sock int
			a.add(m.Received(t0, AppendConnectReply(nil, &r)))
			sock = a.sockClose
			w := a.takeWrites()
			if tc.wantErr == nil {
				if sock != 0 || len(w) < ConnectLen {
					t.Fatalf("no new connect: closed %d, wrote %d bytes", sock, len(w))
				}
			} else {
				if sock != 1 {
					t.Fatalf("socket not closed after %v", tc.tag)
				}
				if err := a.sockErrs[0]; !errors.Is(err, tc.wantErr) {
					t.Fatalf("fault %v, want %v", err, tc.wantErr)
				}
			}
			if tc.check != nil {
				tc.check(t, m, w)
			}
		})
	}
}
