package v2

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/internal/wire"
)

// kinds names the actions, with the frame tags of each Write.
func kinds(t testing.TB, acts []Action) []string {
	var out []string
	for _, a := range acts {
		switch a := a.(type) {
		case write:
			var b []byte
			for _, x := range a.Bufs {
				b = append(b, x...)
			}
			if len(b) >= len(wire.BannerPrefix) && string(b[:len(wire.BannerPrefix)]) == wire.BannerPrefix {
				out = append(out, "Write(banner)")
				continue
			}
			// Frames written on a crc-mode v2.1 stream.
			d := wire.NewDecoder(wire.Limits{})
			d.Feed(b)
			s := "Write("
			for f, err := d.Next(); f != nil; f, err = d.Next() {
				if err != nil {
					t.Fatal(err)
				}
				if s != "Write(" {
					s += " "
				}
				s += f.Tag.String()
			}
			out = append(out, s+")")
		case deliver:
			out = append(out, "Deliver")
		case acked:
			out = append(out, "Acked")
		case SetTimer:
			out = append(out, "SetTimer("+a.Timer.String()+")")
		case StopTimer:
			out = append(out, "StopTimer("+a.Timer.String()+")")
		default:
			out = append(out, fmt.Sprintf("%T", a)[len("v2."):])
		}
	}
	return out
}

// TestStepByStep drives a client and a server Machine by hand, one event
// at a time, and checks the exact actions of each step.
func TestStepByStep(t *testing.T) {
	n, cl, srv := pair(t, 1, losslessClient, statefulServer)
	now := n.now
	c, err := NewClient(Config{Env: cl.env, Me: clientName, PeerType: osdName.Type, PeerAddrs: srv.addrs})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Config{Env: srv.env, Me: osdName})
	if err != nil {
		t.Fatal(err)
	}
	bytesOf := func(acts []Action) []byte {
		var b []byte
		for _, a := range acts {
			if w, ok := a.(write); ok {
				for _, x := range w.Bufs {
					b = append(b, x...)
				}
			}
		}
		return b
	}
	var c2s, s2c []byte
	step := func(name string, r *Ready, want ...string) []Action {
		t.Helper()
		acts := flatten(r)
		if got := kinds(t, acts); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: actions %v, want %v", name, got, want)
		}
		return acts
	}
	step("start", c.Start(now), "Dial", "SetTimer(handshake)")
	c2s = bytesOf(step("connected", c.Connected(now), "Write(banner)"))
	s2c = bytesOf(step("accepted", s.Accepted(now, netipPort(40000)), "SetTimer(handshake)", "Write(banner)"))
	// Banners cross; each side answers with HELLO.
	c2s = append(c2s, bytesOf(step("client reads banner", c.Received(now, s2c), "Write(HELLO)"))...)
	s2c = bytesOf(step("server reads banner+HELLO", s.Received(now, c2s), "Write(HELLO)", "LearnedAddr"))
	c2s = bytesOf(step("client reads HELLO", c.Received(now, s2c), "LearnedAddr", "Write(AUTH_REQUEST)"))
	s2c = bytesOf(step("server authenticates", s.Received(now, c2s), "Write(AUTH_DONE AUTH_SIGNATURE)"))
	c2s = bytesOf(step("client signs", c.Received(now, s2c), "Write(AUTH_SIGNATURE CLIENT_IDENT)"))
	step("server looks up", s.Received(now, c2s), "Lookup")
	s2c = bytesOf(step("server accepts", s.Resolve(now, nil),
		"Write(SERVER_IDENT)", "Established", "StopTimer(handshake)", "SetTimer(idle)"))
	step("client opens", c.Received(now, s2c), "Established", "StopTimer(handshake)", "SetTimer(idle)")
	c2s = bytesOf(step("client sends", c.Send(now, msg(1)), "Write(MESSAGE)"))
	if r := s.Received(now, c2s); !r.AckDue {
		t.Fatal("server delivers: no ACK asked for")
	} else {
		step("server delivers", r, "Deliver")
	}
	s2c = bytesOf(step("server acks", s.WriteAck(now), "Write(ACK)"))
	step("nothing more to ack", s.WriteAck(now))
	step("client acked", c.Received(now, s2c), "Acked")
	c2s = bytesOf(step("keepalive", c.SendKeepalive(now.Add(time.Second)), "Write(KEEPALIVE2)"))
	s2c = bytesOf(step("keepalive ack", s.Received(now, c2s), "Write(KEEPALIVE2_ACK)"))
	step("client gets keepalive ack", c.Received(now, s2c), "KeepaliveAck")
	step("fault", c.SocketError(now, fmt.Errorf("EOF")), "CloseSocket", "StopTimer(idle)", "Dial", "SetTimer(handshake)")
	step("server fault", s.SocketError(now, fmt.Errorf("EOF")), "CloseSocket", "StopTimer(idle)")
	if s.State() != StateStandby {
		t.Fatalf("server %v", s.State())
	}
	step("mark down", c.MarkDown(now), "CloseSocket", "StopTimer(handshake)", "Closed")
}

// TestWriteBuffersStable: buffers handed out in Write actions never change
// afterwards (the messenger may write them much later), in crc and secure
// mode, across many frames.
func TestWriteBuffersStable(t *testing.T) {
	for _, secure := range []bool{false, true} {
		n, cl, srv := pair(t, 1, losslessClient, statefulServer)
		if secure {
			cl.env.authClient = func(uint8) (auth.ClientHandler, error) {
				return &keyedClient{key: []byte("k"), mode: auth.ModeSecure}, nil
			}
			srv.env.authServer = func(uint8) (auth.ServerHandler, error) { return &keyedServer{key: []byte("k")}, nil }
		}
		c := cl.connect(srv, nil)
		n.settle()
		if c.m.st.enc.Secure() != secure {
			t.Fatalf("secure %v", c.m.st.enc.Secure())
		}
		type snap struct{ buf, copy []byte }
		var snaps []snap
		for i := range 500 {
			for _, a := range flatten(c.m.Send(n.now, msg(uint64(i+1)))) {
				if w, ok := a.(write); ok {
					for _, b := range w.Bufs {
						snaps = append(snaps, snap{b, append([]byte(nil), b...)})
					}
				}
			}
		}
		for i, s := range snaps {
			if !bytes.Equal(s.buf, s.copy) {
				t.Fatalf("secure %v: buffer %d changed after it was handed out", secure, i)
			}
		}
	}
}
