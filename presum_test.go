package msgr

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	v1 "github.com/gomsgr/msgr/internal/protocol/v1"
	"github.com/gomsgr/msgr/internal/wire"
)

// TestSendPreSum: the data crc Send takes is, for each protocol, the one
// its crc-mode framing puts on the wire (msgr2's segment crc, msgr1's
// footer data_crc), and is for no other framing; none is taken once the
// session is known to be secure.
func TestSendPreSum(t *testing.T) {
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	cases := []struct {
		proto       proto
		mode        uint32
		want        uint32 // the framing's own crc of data
		seed, other uint32
		taken       bool
	}{
		{protoV2, auth.ModeUnknown, wire.SegmentCRC(data), wire.SegmentSeed, v1.SectionSeed, true},
		{protoV2, auth.ModeCRC, wire.SegmentCRC(data), wire.SegmentSeed, v1.SectionSeed, true},
		{protoV2, auth.ModeSecure, 0, wire.SegmentSeed, v1.SectionSeed, false},
		{protoV1, auth.ModeUnknown, encoding.CRC32C(0, data), v1.SectionSeed, wire.SegmentSeed, true},
		{protoV1, auth.ModeCRC, encoding.CRC32C(0, data), v1.SectionSeed, wire.SegmentSeed, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v/mode=%d", tc.proto, tc.mode), func(t *testing.T) {
			c := &Conn{proto: tc.proto}
			s := c.preSum(&connInfo{auth: AuthInfo{ConMode: tc.mode}}, data)
			crc, ok := s.For(tc.seed, data)
			if ok != tc.taken || (ok && crc != tc.want) {
				t.Fatalf("sum %+v: %#x %v, want %#x %v", s, crc, ok, tc.want, tc.taken)
			}
			if _, ok := s.For(tc.other, data); ok {
				t.Fatal("the sum is used by the other protocol's framing")
			}
			if s := c.preSum(&connInfo{}, nil); s != (wire.PreSum{}) {
				t.Fatalf("a sum of no data: %+v", s)
			}
		})
	}
}

// preSumSizes are data sizes around the encoder's thresholds: small,
// 64K, and above wire.StreamSumMin (the chunk-summed path).
var preSumSizes = []int{0, 1, 4096, 64 << 10, wire.StreamSumMin + 1, 4 << 20}

// TestPreSumBeforeUp: messages sent before the session is up (the mode
// still unknown: Send takes msgr2's or msgr1's data crc) reach a peer that
// checks every crc, in crc and secure mode (where the sum is not used)
// and over msgr1, with no fault: a wrong crc would make the peer drop the
// connection (a reset here, the lossy client's session lost).
func TestPreSumBeforeUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode uint32 // 0: msgr1, auth none
	}{{"crc", auth.ModeCRC}, {"secure", auth.ModeSecure}, {"v1", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			srvRec, cliRec := newRecorder(), newRecorder()
			srvRec.echo = true
			var srvCfg, cliCfg Config
			var srvOpts Options
			if tc.mode == 0 {
				srvOpts.NoMsgr2 = true
			} else {
				srvCfg.AuthServer, cliCfg.AuthClient = cephxPair(t, tc.mode)
			}
			srvCfg.Name, srvCfg.Nonce = encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0}, 1
			cliCfg.Name, cliCfg.Nonce = clientName(-1), 2
			srv := startMessengerCfg(t, srvCfg, true, srvOpts, srvRec)
			srv.SetDefaultPolicy(StatelessServer(0))
			cli := startMessengerCfg(t, cliCfg, false, Options{}, cliRec)
			cli.SetDefaultPolicy(LossyClient(0))
			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeMon)
			if err != nil {
				t.Fatal(err)
			}
			if m := c.ConMode(); m != auth.ModeUnknown {
				t.Fatalf("mode %d before the first Send", m)
			}
			echoSizes(t, c, cliRec, preSumSizes)
			if m := c.ConMode(); tc.mode != 0 && m != tc.mode {
				t.Fatalf("mode %d, want %d", m, tc.mode)
			}
			if r, a := cliRec.get(&cliRec.resets), srvRec.get(&srvRec.accepts); r != 0 || a != 1 {
				t.Fatalf("%d resets, %d accepts: a crc was refused", r, a)
			}
		})
	}
}

// TestPreSumModeChange: a lossless session whose sockets alternate
// between crc and secure mode (the client's auth asks for one mode per
// connection, switched before each socket is broken). Messages sent while
// the old socket's mode is still the known one are framed in the other
// mode: a crc sum taken for crc mode goes out in secure mode (unused),
// and messages sent under secure mode (no sum) go out in crc mode (summed
// by the loop). Every message comes back once, in order, intact, and the
// server accepts exactly one connection per socket: a refused crc would
// have cost a reconnect.
func TestPreSumModeChange(t *testing.T) {
	admin, key, kr := adminKeyring(t, time.Now(), "mon")
	server, err := cephx.NewServer(cephx.ServerConfig{Keyring: kr, Modes: []uint32{auth.ModeCRC, auth.ModeSecure}})
	if err != nil {
		t.Fatal(err)
	}
	srvAuth := func(uint8) (auth.ServerHandler, error) { return server.Handler(), nil }
	// The client asks for one mode per connection: a session per mode.
	sessions := map[bool]*cephx.Session{}
	for _, secure := range []bool{false, true} {
		mode := map[bool]uint32{false: auth.ModeCRC, true: auth.ModeSecure}[secure]
		if sessions[secure], err = cephx.NewSession(cephx.Config{Name: admin, Key: key, MonModes: []uint32{mode}}); err != nil {
			t.Fatal(err)
		}
	}
	var secureNext atomic.Bool
	cliAuth := func(pt uint8) (auth.ClientHandler, error) {
		return sessions[secureNext.Load()].ClientHandler(uint32(pt))
	}

	srvRec, cliRec := newRecorder(), newRecorder()
	srvRec.echo = true
	srv := startMessengerCfg(t, Config{Name: encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0}, Nonce: 1, AuthServer: srvAuth}, true, Options{}, srvRec)
	srv.SetDefaultPolicy(StatefulServer(0))
	cli := startMessengerCfg(t, Config{Name: clientName(-1), Nonce: 2, AuthClient: cliAuth}, false, Options{}, cliRec)
	cli.SetDefaultPolicy(LosslessClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeMon)
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	send := func() (stale int) {
		mode := c.ConMode()
		for i, n := range preSumSizes {
			data := make([]byte, n)
			for j := range data {
				data[j] = byte(int(seq) + j)
			}
			if err := c.Send(&testMsg{From: 1, Seq: seq, Data: data}); err != nil {
				t.Fatal(err)
			}
			seq++
			if i == 0 && c.ConMode() == mode {
				stale++
			}
		}
		return stale
	}
	waitEchoes := func() {
		cliRec.waitFor(t, "echoes", func() bool { return uint64(cliRec.countFrom(1)) == seq })
	}
	send()
	waitEchoes()
	stale := 0
	for i, secure := range []bool{true, false, true, false} {
		want := map[bool]uint32{false: auth.ModeCRC, true: auth.ModeSecure}[!secure]
		if m := c.ConMode(); m != want {
			t.Fatalf("round %d: mode %d, want %d", i, m, want)
		}
		secureNext.Store(secure)
		breakSocket(c)
		stale += send()
		waitEchoes()
	}
	if stale == 0 {
		t.Fatal("no message was sent under the old socket's mode")
	}
	checkInOrder(t, cliRec, 1, 0, seq)
	cliRec.mu.Lock()
	for _, m := range cliRec.msgs {
		n := preSumSizes[m.Seq%uint64(len(preSumSizes))]
		if len(m.Data) != n {
			t.Fatalf("message %d: %d bytes, want %d", m.Seq, len(m.Data), n)
		}
		for j, b := range m.Data {
			if b != byte(int(m.Seq)+j) {
				t.Fatalf("message %d byte %d corrupted", m.Seq, j)
			}
		}
	}
	cliRec.mu.Unlock()
	if a := srvRec.get(&srvRec.accepts); a != 5 {
		t.Fatalf("%d accepts for 5 sockets: a crc was refused", a)
	}
	if r := cliRec.get(&cliRec.resets) + cliRec.get(&cliRec.remote); r != 0 {
		t.Fatalf("%d resets", r)
	}
}
