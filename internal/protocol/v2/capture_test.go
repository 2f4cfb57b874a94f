package v2

import (
	"bytes"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

// capturedFrame is one frame of a captured stream.
type capturedFrame struct {
	tag  wire.Tag
	raw  []byte // banner or whole frame, as on the wire
	ctl  wire.ControlFrame
	msgT uint16
}

// walk splits a captured crc-mode stream into its banner and frames.
func walk(t *testing.T, b []byte) []capturedFrame {
	t.Helper()
	d := wire.NewDecoder(wire.Limits{})
	d.Establish() // a capture is trusted input
	d.Feed(b)
	_, raw, err := d.Banner()
	if err != nil || raw == nil {
		t.Fatalf("banner: %v", err)
	}
	out := []capturedFrame{{raw: slices.Clone(raw)}}
	for {
		f, err := d.Next()
		if err != nil {
			t.Fatal(err)
		}
		if f == nil {
			return out
		}
		cf := capturedFrame{tag: f.Tag, raw: slices.Clone(f.Raw)}
		if f.Tag == wire.TagMessage {
			h := f.Segment(0)
			cf.msgT = uint16(h[16]) | uint16(h[17])<<8
		} else if cf.ctl, err = wire.DecodeControlFrame(f.Tag, slices.Clone(f.Payload())); err != nil {
			t.Fatal(err)
		}
		out = append(out, cf)
	}
}

func find[T wire.ControlFrame](t *testing.T, fs []capturedFrame) T {
	t.Helper()
	for _, f := range fs {
		if v, ok := f.ctl.(T); ok {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T in capture", zero)
	return zero
}

// replayEnv is the Env of one side of a captured connection, answering
// with the capture's values.
type replayEnv struct {
	addrs    encoding.EntityAddrVec
	gseq     uint64
	cookie   uint64
	policy   Policy
	authC    auth.ClientHandler
	authS    auth.ServerHandler
	gseqSeen []uint64
}

func (e *replayEnv) MyAddrs() encoding.EntityAddrVec { return e.addrs }
func (e *replayEnv) NextGlobalSeq(atLeast uint64) uint64 {
	e.gseqSeen = append(e.gseqSeen, atLeast)
	return e.gseq
}
func (e *replayEnv) Policy(uint8) Policy                          { return e.policy }
func (e *replayEnv) AuthClient(uint8) (auth.ClientHandler, error) { return e.authC, nil }
func (e *replayEnv) AuthServer(uint8) (auth.ServerHandler, error) { return e.authS, nil }
func (e *replayEnv) Cookie() uint64                               { return e.cookie }

// feed gives a machine a stream in random chunks and collects what it
// writes and delivers; a Lookup is answered "no existing connection".
type replay struct {
	t         *testing.T
	m         *Machine
	out       []byte
	delivered []*InMessage
	est       []Established
	closed    []error
	hold      bool   // keep Lookups for the test to resolve
	held      *Query // the Lookup held
	handoff   *HandOff
}

func (r *replay) apply(rd *Ready) {
	for _, a := range flatten(rd) {
		switch a := a.(type) {
		case write:
			for _, b := range a.Bufs {
				r.out = append(r.out, b...)
			}
		case deliver:
			r.delivered = append(r.delivered, a.Msg)
		case Established:
			r.est = append(r.est, a)
		case Lookup:
			if r.hold {
				r.held = a.Query
			} else {
				r.apply(r.m.Resolve(time.Unix(0, 0), nil))
			}
		case HandOff:
			r.handoff = &a
		case CloseSocket:
			r.closed = append(r.closed, a.Err)
		case Closed:
			r.closed = append(r.closed, a.Err)
		}
	}
}

func (r *replay) feed(stream []byte, rng *rand.Rand) {
	for len(stream) > 0 {
		k := min(len(stream), 1+rng.IntN(97))
		r.apply(r.m.Received(time.Unix(0, 0), stream[:k]))
		stream = stream[k:]
	}
}

// prefixThrough returns the bytes of fs up to and including the first
// frame with tag t.
func prefixThrough(fs []capturedFrame, t wire.Tag) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.raw...)
		if f.tag == t {
			break
		}
	}
	return b
}

var capture struct {
	sync.Once
	c2m, m2c []byte
	cf, mf   []capturedFrame
}

// loadCapture reads the none-crc conn2 streams once; callers must not
// modify what it returns.
func loadCapture(t *testing.T) (c2m, m2c []byte, cf, mf []capturedFrame) {
	capture.Do(func() {
		var err error
		if capture.c2m, err = os.ReadFile("testdata/none-crc.conn2.client-to-mon.bin"); err != nil {
			t.Fatal(err)
		}
		if capture.m2c, err = os.ReadFile("testdata/none-crc.conn2.mon-to-client.bin"); err != nil {
			t.Fatal(err)
		}
		capture.cf, capture.mf = walk(t, capture.c2m), walk(t, capture.m2c)
	})
	if capture.cf == nil {
		t.Fatal("capture not loaded")
	}
	return capture.c2m, capture.m2c, capture.cf, capture.mf
}

// TestCaptureServer plays the real Ceph client's bytes (ceph -s against a
// Pacific mon, auth none, crc mode) into a server Machine set up as that
// mon: it must accept every frame, deliver the client's messages, and
// answer with exactly the bytes the real mon sent, up to SERVER_IDENT.
func TestCaptureServer(t *testing.T) {
	c2m, _, cf, mf := loadCapture(t)
	si := find[*wire.ServerIdent](t, mf)
	hello := find[*wire.Hello](t, mf)
	done := find[*wire.AuthDone](t, mf)
	env := &replayEnv{
		addrs:  si.Addrs,
		gseq:   si.GlobalSeq,
		cookie: si.ServerCookie,
		// The mon's policy for clients: stateless_server.
		policy: Policy{Lossy: true, Server: true, FeaturesRequired: si.RequiredFeatures &^ msgr2Required},
		authS:  &auth.NoneServer{Mon: true, GlobalIDs: auth.NewGlobalIDs(done.GlobalID)},
	}
	m, err := NewServer(Config{Env: env, Me: encoding.EntityName{Type: encoding.EntityTypeMon, Num: si.GlobalID}})
	if err != nil {
		t.Fatal(err)
	}
	r := &replay{t: t, m: m}
	r.apply(m.Accepted(time.Unix(0, 0), hello.PeerAddr.Addr))
	r.feed(c2m, rand.New(rand.NewPCG(1, 2)))
	if len(r.closed) != 0 {
		t.Fatalf("closed: %v", r.closed)
	}
	want := prefixThrough(mf, wire.TagServerIdent)
	if !bytes.HasPrefix(r.out, want) {
		t.Fatalf("server wrote %d bytes, differing from the mon's %d-byte handshake at %d", len(r.out), len(want), diffAt(r.out, want))
	}
	var types []uint16
	for _, d := range r.delivered {
		types = append(types, d.Header.Type)
		if d.Header.Src != (encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1}) {
			t.Fatalf("src %v", d.Header.Src)
		}
	}
	var wantTypes []uint16
	for _, f := range cf {
		if f.tag == wire.TagMessage {
			wantTypes = append(wantTypes, f.msgT)
		}
	}
	if !slices.Equal(types, wantTypes) {
		t.Fatalf("delivered types %v, want %v", types, wantTypes)
	}
	if len(r.est) != 1 || !r.est[0].Accepted || r.est[0].AuthGlobalID != done.GlobalID {
		t.Fatalf("established %+v", r.est)
	}
	if m.State() != StateReady {
		t.Fatalf("state %v", m.State())
	}
}

// TestCaptureClient plays the real mon's bytes into a client Machine set
// up as the captured client: it must write exactly the client's handshake
// bytes (through CLIENT_IDENT), accept the mon's frames and deliver its
// messages; the capture ends partway through a frame, which just waits.
func TestCaptureClient(t *testing.T) {
	_, m2c, cf, mf := loadCapture(t)
	ci := find[*wire.ClientIdent](t, cf)
	si := find[*wire.ServerIdent](t, mf)
	req := find[*wire.AuthRequest](t, cf)
	mr := auth.DecodeMonRequest(encoding.NewDecoder(req.Payload))
	env := &replayEnv{
		addrs:  ci.Addrs,
		gseq:   ci.GlobalSeq,
		cookie: ci.ClientCookie,
		policy: Policy{Lossy: ci.Flags&flagLossy != 0, FeaturesRequired: ci.RequiredFeatures &^ msgr2Required},
		authC:  &auth.NoneClient{Name: mr.Name, GlobalID: mr.GlobalID, Mon: true, Modes: req.PreferredModes},
	}
	m, err := NewClient(Config{Env: env, Me: encoding.EntityName{Type: encoding.EntityTypeClient, Num: ci.GlobalID},
		PeerType: encoding.EntityTypeMon, PeerAddrs: si.Addrs})
	if err != nil {
		t.Fatal(err)
	}
	r := &replay{t: t, m: m}
	rd := m.Start(time.Unix(0, 0))
	acts := flatten(rd)
	if d, ok := acts[0].(Dial); !ok || d.Addr != ci.TargetAddr {
		t.Fatalf("first action %+v, want a dial to %v", acts[0], ci.TargetAddr)
	}
	r.apply(rd)
	r.apply(m.Connected(time.Unix(0, 0)))
	r.feed(m2c, rand.New(rand.NewPCG(3, 4)))
	if len(r.closed) != 0 {
		t.Fatalf("closed: %v", r.closed)
	}
	want := prefixThrough(cf, wire.TagClientIdent)
	if !bytes.Equal(r.out, want) {
		t.Fatalf("client wrote %d bytes, differing from the real client's %d at %d", len(r.out), len(want), diffAt(r.out, want))
	}
	var types []uint16
	for _, d := range r.delivered {
		types = append(types, d.Header.Type)
	}
	var wantTypes []uint16
	for _, f := range mf {
		if f.tag == wire.TagMessage {
			wantTypes = append(wantTypes, f.msgT)
		}
	}
	if !slices.Equal(types, wantTypes) || len(types) == 0 {
		t.Fatalf("delivered types %v, want %v", types, wantTypes)
	}
	if len(r.est) != 1 || r.est[0].Accepted || r.est[0].Peer != (encoding.EntityName{Type: encoding.EntityTypeMon, Num: si.GlobalID}) || r.est[0].Features != si.SupportedFeatures {
		t.Fatalf("established %+v", r.est)
	}
	if !m.policy.Lossy || m.State() != StateReady {
		t.Fatalf("lossy %v state %v", m.policy.Lossy, m.State())
	}
	// The truncated last frame is pending in the decoder, not an error.
	if m.st.dec.Buffered() == 0 {
		t.Fatal("expected the cut frame to be buffered")
	}
}

func diffAt(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
