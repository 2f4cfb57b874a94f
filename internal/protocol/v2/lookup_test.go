package v2

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

// TestLookupDeferrals: while a Lookup is out, bytes, socket errors and
// mark down wait; after Resolve they take effect in order.
func TestLookupDeferrals(t *testing.T) {
	now := time.Unix(0, 0)
	_, _, cf, _ := loadCapture(t)
	upToIdent, rest := concat(cf, 5), concat(cf, len(cf))[len(concat(cf, 5)):]
	setup := func(t *testing.T) *replay {
		r, _ := monServer(t, nil)
		r.hold = true
		r.feed(upToIdent, rand.New(rand.NewPCG(1, 1)))
		if r.held == nil || r.held.Reconnect || r.m.State() != StateAccepting {
			t.Fatalf("no lookup held: %v", r.m.State())
		}
		// The client's messages arrive while the lookup is out.
		r.feed(rest, rand.New(rand.NewPCG(2, 2)))
		if len(r.delivered) != 0 {
			t.Fatal("delivered during the lookup")
		}
		return r
	}
	t.Run("bytes then error", func(t *testing.T) {
		r := setup(t)
		r.apply(r.m.SocketError(now, errors.New("EOF")))
		if len(r.closed) != 0 {
			t.Fatal("socket error not deferred")
		}
		r.apply(r.m.Resolve(now, nil))
		if len(r.est) != 1 || len(r.delivered) != 6 {
			t.Fatalf("established %d delivered %d", len(r.est), len(r.delivered))
		}
		// The mon's policy for clients is lossy: the fault ends it.
		if len(r.closed) != 2 || !errors.Is(r.closed[1], ErrSocket) {
			t.Fatalf("closed %v", r.closed)
		}
	})
	t.Run("mark down", func(t *testing.T) {
		r := setup(t)
		r.apply(r.m.MarkDown(now))
		r.apply(r.m.Resolve(now, nil))
		if len(r.delivered) != 0 || len(r.closed) == 0 || !errors.Is(r.closed[len(r.closed)-1], ErrMarkedDown) {
			t.Fatalf("delivered %d closed %v", len(r.delivered), r.closed)
		}
	})
	t.Run("hand off", func(t *testing.T) {
		r := setup(t)
		// An existing, lossless session for the same client cookie takes
		// the socket and the bytes that came with it.
		n := newNet(t, 1)
		nd := n.addNode(encoding.EntityName{Type: encoding.EntityTypeMon}, 3300, 0)
		nd.addrs = r.m.env.MyAddrs()
		e := &Machine{cfg: Config{Env: nd.env}, env: nd.env, ph: phStandby, clientCookie: r.held.q.clientCookie,
			serverCookie: 5, policy: statefulServer, peerType: encoding.EntityTypeClient, announced: true}
		e.outq.Push(msg(1))
		v, _ := e.Arbitrate(now, r.held)
		if v.v.kind != vHandOff {
			t.Fatalf("verdict %+v", v.v)
		}
		r.apply(r.m.Resolve(now, v))
		if r.handoff == nil || len(r.closed) != 1 || !errors.Is(r.closed[0], ErrReplaced) || r.m.State() != StateClosed {
			t.Fatalf("handoff %v closed %v", r.handoff, r.closed)
		}
		er := &replay{t: t, m: e}
		er.apply(e.Adopted(now, r.handoff.Pending))
		if e.State() != StateReady || len(er.est) != 1 || !er.est[0].Accepted || len(er.delivered) != 6 {
			t.Fatalf("existing: %v established %v delivered %d", e.State(), er.est, len(er.delivered))
		}
		// It answered with SERVER_IDENT and then the queued message.
		d := wire.NewDecoder(wire.Limits{})
		d.Feed(er.out)
		var tags []wire.Tag
		for f, err := d.Next(); f != nil && err == nil; f, err = d.Next() {
			tags = append(tags, f.Tag)
		}
		if len(tags) < 2 || tags[0] != wire.TagServerIdent || tags[1] != wire.TagMessage {
			t.Fatalf("existing wrote %v", tags)
		}
	})
	t.Run("adopted after mark down", func(t *testing.T) {
		n := newNet(t, 1)
		nd := n.addNode(osdName, 6800, 1)
		e := &Machine{cfg: Config{Env: nd.env}, env: nd.env, ph: phStandby, clientCookie: 7, serverCookie: 5, policy: statefulServer}
		q := &Query{PeerAddrs: nd.addrs, Reconnect: true, q: query{clientCookie: 7, stream: newStream(wire.Limits{}, nil, false)}}
		if v, _ := e.Arbitrate(now, q); v.v.kind != vHandOff {
			t.Fatalf("verdict %+v", v.v)
		}
		e.MarkDown(now)
		acts := flatten(e.Adopted(now, nil))
		if len(acts) != 1 {
			t.Fatalf("actions %v", acts)
		}
		if c, ok := acts[0].(CloseSocket); !ok || !errors.Is(c.Err, ErrReplaced) {
			t.Fatalf("actions %v", acts)
		}
	})
}

// TestMissingFeatures: a client lacking a feature the server requires is
// told so (IDENT_MISSING_FEATURES) and gives up on that socket; a banner
// requiring an msgr2 feature we lack stops the connection.
func TestMissingFeatures(t *testing.T) {
	n, cl, srv := pair(t, 1, losslessClient, statefulServer)
	srv.env.defPolicy.FeaturesRequired = encoding.FeatureServerNautilus
	c := cl.connect(srv, func(cfg *Config) { cfg.SupportedFeatures = encoding.FeatureMsgAddr2 })
	n.settle()
	if !closedWith(c, ErrMissingFeatures) || c.m.State() != StateBackoff || len(c.established) != 0 {
		t.Fatalf("client %v log %v", c.m.State(), c.log)
	}
	if s := srv.conns[0]; !s.closed {
		t.Fatalf("server side %v", s.m.State())
	}

	r, _ := monServer(t, nil)
	banner := wire.AppendBanner(nil, wire.Banner{Supported: 3, Required: 2})
	r.feed(banner, rand.New(rand.NewPCG(1, 1)))
	if len(r.closed) != 2 || !errors.Is(r.closed[1], ErrMissingFeatures) || !errors.Is(r.closed[1], wire.ErrFeatures) {
		t.Fatalf("closed %v", r.closed)
	}
	if !strings.Contains(r.closed[1].Error(), "banner") {
		t.Fatalf("error %v", r.closed[1])
	}
}

// TestHandOffLost: when the socket never reaches the existing connection,
// a SocketError or its handshake timer gets it out of the wait.
func TestHandOffLost(t *testing.T) {
	now := time.Unix(0, 0)
	for _, how := range []string{"socket error", "timer"} {
		t.Run(how, func(t *testing.T) {
			n := newNet(t, 1)
			nd := n.addNode(osdName, 6800, 1)
			e, err := NewClient(Config{Env: nd.env, Me: osdName, PeerType: osd1Name.Type,
				PeerAddrs: encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Nonce: 2, Addr: netipPort(6801)}}})
			if err != nil {
				t.Fatal(err)
			}
			e.ph, e.clientCookie, e.serverCookie, e.policy = phStandby, 7, 5, losslessPeer
			e.outq.Push(msg(1))
			q := &Query{PeerAddrs: e.peerAddrs, Reconnect: true, q: query{clientCookie: 7, connectSeq: 1, target: e.target, stream: newStream(wire.Limits{}, nil, false)}}
			v, rd := e.Arbitrate(now, q)
			acts := flatten(rd)
			if v.v.kind != vHandOff || e.State() != StateAccepting {
				t.Fatalf("verdict %+v state %v", v.v, e.State())
			}
			var deadline time.Time
			for _, a := range acts {
				if st, ok := a.(SetTimer); ok && st.Timer == TimerHandshake {
					deadline = st.At
				}
			}
			if deadline.IsZero() {
				t.Fatalf("no handshake timer in %v", acts)
			}
			if how == "timer" {
				acts = flatten(e.TimerFired(deadline, TimerHandshake))
			} else {
				acts = flatten(e.SocketError(now, errors.New("detach failed")))
			}
			// It has a message queued and is not a server: it reconnects.
			if _, ok := acts[len(acts)-2].(Dial); !ok || e.State() != StateConnecting || e.adopt != nil {
				t.Fatalf("actions %v state %v", acts, e.State())
			}
		})
	}
}
