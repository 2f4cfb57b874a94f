package cephx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// typed reports whether err is one of the errors callers are promised.
func typed(err error) bool {
	return err == nil || errors.Is(err, auth.ErrDenied) || errors.Is(err, encoding.ErrMalformed) ||
		errors.Is(err, encoding.ErrTruncated) || errors.Is(err, encoding.ErrTooLarge) ||
		errors.Is(err, auth.ErrDecrypt) || errors.Is(err, auth.ErrBadKey) || errors.Is(err, auth.ErrUnexpected)
}

// capturedMon returns the captured mon payloads of a connection:
// AUTH_REPLY_MORE and AUTH_DONE's bufferlist, with the client challenge.
func capturedMon(t *testing.F, dir, conn string) (cc uint64, more, done []byte) {
	c2m := readFile(t, dir+"/"+conn+".client-to-mon.bin")
	m2c := readFile(t, dir+"/"+conn+".mon-to-client.bin")
	cf, _ := walkPlain(t, c2m, tagAuthRequestMore)
	mf, _ := walkPlain(t, m2c, tagAuthDone)
	capMore := blobSeg(t, frameByTag(t, cf, tagAuthRequestMore).segs[0])
	_, _, done = authDone(t, frameByTag(t, mf, tagAuthDone).segs[0])
	return binary.LittleEndian.Uint64(capMore[3:]), blobSeg(t, frameByTag(t, mf, tagAuthReplyMore).segs[0]), done
}

func fuzzKey(f *testing.F, dir string) auth.CryptoKey {
	kr, err := auth.LoadKeyring(dir + "/keyring")
	if err != nil {
		f.Fatal(err)
	}
	k, _ := kr.Key(adminName)
	return k
}

// FuzzMonHandler feeds AUTH_REPLY_MORE and AUTH_DONE payloads to a client
// handler. With the captured challenge and client challenge the captured
// AUTH_DONE decrypts, so mutations reach the ticket parsing.
func FuzzMonHandler(f *testing.F) {
	keys := []auth.CryptoKey{fuzzKey(f, "testdata/cephx-crc"), fuzzKey(f, "testdata/cephx-secure"), fuzzKey(f, "testdata/osd-cephx-crc")}
	for i, c := range [][2]string{{"testdata/cephx-crc", "conn1"}, {"testdata/cephx-secure", "conn2"}, {"testdata/osd-cephx-crc", "1-put.conn2"}} {
		cc, more, done := capturedMon(f, c[0], c[1])
		f.Add(uint8(i), cc, more, done)
	}
	f.Fuzz(func(t *testing.T, which uint8, cc uint64, more, done []byte) {
		key := keys[int(which)%len(keys)]
		s, _ := NewSession(Config{Name: adminName, Key: key, Rand: bytes.NewReader(binary.LittleEndian.AppendUint64(nil, cc))})
		h := s.MonHandler([]uint32{auth.ModeSecure, auth.ModeCRC})
		h.Start()
		if _, err := h.HandleReplyMore(more); err != nil {
			if !typed(err) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		for _, mode := range []uint32{auth.ModeCRC, auth.ModeSecure} {
			h.state = monWaitDone
			if _, err := h.HandleDone(4096, mode, done); !typed(err) {
				t.Fatalf("untyped %v", err)
			}
		}
	})
}

// FuzzAuthorizerHandler feeds a service's challenge and AUTH_DONE to the
// authorizer client.
func FuzzAuthorizerHandler(f *testing.F) {
	key := fuzzKey(f, "testdata/osd-cephx-crc")
	cc, more, done := capturedMon(f, "testdata/osd-cephx-crc", "1-put.conn2")
	t := f
	o2c := readFile(t, "testdata/osd-cephx-crc/1-put.conn0.osd-to-client.bin")
	of, _ := walkPlain(t, o2c, 0)
	f.Add(blobSeg(t, frameByTag(t, of, tagAuthReplyMore).segs[0]), func() []byte {
		_, _, p := authDone(t, frameByTag(t, of, tagAuthDone).segs[0])
		return p
	}())
	f.Add([]byte{}, []byte{4, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, challenge, reply []byte) {
		s, _ := NewSession(Config{Name: adminName, Key: key, Rand: bytes.NewReader(append(binary.LittleEndian.AppendUint64(nil, cc), make([]byte, 8)...))})
		h := s.MonHandler(nil)
		h.Start()
		p, _ := h.HandleReplyMore(more)
		_ = p
		if _, err := h.HandleDone(4096, auth.ModeCRC, done); err != nil {
			t.Fatal(err)
		}
		a := s.ServiceHandler(ServiceOSD, []uint32{auth.ModeSecure, auth.ModeCRC})
		if _, _, _, err := a.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.HandleReplyMore(challenge); !typed(err) {
			t.Fatalf("untyped %v", err)
		}
		if _, err := a.HandleDone(4096, auth.ModeSecure, reply); !typed(err) {
			t.Fatalf("untyped %v", err)
		}
	})
}

// FuzzServerHandler feeds AUTH_REQUEST, AUTH_REQUEST_MORE and MAuth
// payloads to the mon side.
func FuzzServerHandler(f *testing.F) {
	kr, _ := auth.LoadKeyring("testdata/cephx-crc/keyring")
	key, _ := kr.Key(adminName)
	srv, err := NewServer(ServerConfig{Keyring: kr})
	if err != nil {
		f.Fatal(err)
	}
	s, _ := NewSession(Config{Name: adminName, Key: key})
	h := s.MonHandler(nil)
	_, _, req, _ := h.Start()
	sh := srv.Handler()
	rep, _ := sh.HandleRequest(auth.MethodCephX, []uint32{auth.ModeCRC}, req)
	more, _ := h.HandleReplyMore(rep.Payload)
	f.Add(req, more, more)
	f.Add(req, more, []byte{0, 2, 1})
	f.Fuzz(func(t *testing.T, req, more, ticketReq []byte) {
		sh := srv.Handler()
		if _, err := sh.HandleRequest(auth.MethodCephX, []uint32{auth.ModeSecure}, req); err != nil {
			if !typed(err) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		if _, err := sh.HandleRequestMore(more); !typed(err) {
			t.Fatalf("untyped %v", err)
		}
		sh.state = srvDone
		if reply, result := sh.HandleTicketRequest(ticketReq); result < 0 && reply != nil {
			t.Fatal("refusal with a reply")
		}
	})
}

// FuzzAuthorizerServer feeds authorizers to the service side.
func FuzzAuthorizerServer(f *testing.F) {
	kr, _ := auth.LoadKeyring("testdata/cephx-crc/keyring")
	key, _ := kr.Key(adminName)
	srv, _ := NewServer(ServerConfig{Keyring: kr})
	s, _ := NewSession(Config{Name: adminName, Key: key})
	if _, _, err := exchange(s.MonHandler(nil), srv.Handler()); err != nil {
		f.Fatal(err)
	}
	as, _ := NewAuthorizerServer(AuthorizerServerConfig{Service: ServiceOSD, Secrets: srv.Secrets()})
	c := s.ServiceHandler(ServiceOSD, nil)
	_, _, p, _ := c.Start()
	h := as.Handler()
	rep, _ := h.HandleRequest(auth.MethodCephX, []uint32{auth.ModeCRC}, p)
	more, _ := c.HandleReplyMore(rep.Payload)
	f.Add(p, more)
	f.Fuzz(func(t *testing.T, req, more []byte) {
		h := as.Handler()
		rep, err := h.HandleRequest(auth.MethodCephX, []uint32{auth.ModeCRC}, req)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		if rep.Done {
			t.Fatal("done without the challenge round")
		}
		if _, err := h.HandleRequestMore(more); !typed(err) {
			t.Fatalf("untyped %v", err)
		}
	})
}

// FuzzRenewalReply feeds MAuthReply payloads to an authenticated session.
func FuzzRenewalReply(f *testing.F) {
	kr, _ := auth.LoadKeyring("testdata/cephx-crc/keyring")
	key, _ := kr.Key(adminName)
	srv, _ := NewServer(ServerConfig{Keyring: kr})
	s, _ := NewSession(Config{Name: adminName, Key: key})
	sh := srv.Handler()
	if _, _, err := exchange(s.MonHandler(nil), sh); err != nil {
		f.Fatal(err)
	}
	s.mu.Lock()
	s.tickets[ServiceOSD] = Ticket{}
	delete(s.tickets, ServiceOSD)
	s.mu.Unlock()
	p, _, _ := s.RenewalRequest()
	reply, _ := sh.HandleTicketRequest(p)
	f.Add(reply)
	f.Fuzz(func(t *testing.T, reply []byte) {
		s2, _ := NewSession(Config{Name: adminName, Key: key})
		s.mu.Lock()
		s2.globalID, s2.serverChallenge = s.globalID, s.serverChallenge
		for k, v := range s.tickets {
			s2.tickets[k] = v
		}
		s.mu.Unlock()
		if _, err := s2.HandleRenewalReply(0, reply); !typed(err) {
			t.Fatalf("untyped %v", err)
		}
	})
}

// FuzzStructs drives the decoders of the decrypted structs directly.
func FuzzStructs(f *testing.F) {
	k := auth.CryptoKey{Type: auth.KeyTypeAES, Secret: bytes.Repeat([]byte{1}, 16)}
	f.Add(appendTicketInfo(nil, ticketInfo{Ticket: authTicket{Name: adminName, GlobalID: 5, Caps: capsInfo{Caps: []byte("x")}}, SessionKey: k}))
	f.Add(appendServiceTicket(nil, serviceTicket{SessionKey: k}))
	f.Add(appendAuthorizeReply(nil, authorizeReply{NoncePlusOne: 1, ConnectionSecret: []byte("s")}))
	f.Add(appendAuthenticate(nil, authenticate{OldTicket: TicketBlob{Blob: []byte("b")}}))
	f.Fuzz(func(t *testing.T, p []byte) {
		for _, dec := range []func(*encoding.Decoder){
			func(d *encoding.Decoder) { decodeTicketInfo(d) },
			func(d *encoding.Decoder) { decodeServiceTicket(d) },
			func(d *encoding.Decoder) { decodeAuthorizeReply(d) },
			func(d *encoding.Decoder) { decodeAuthorize(d) },
			func(d *encoding.Decoder) { decodeAuthenticate(d) },
			func(d *encoding.Decoder) {
				parseTicketReply(d, k, time.Unix(0, 0), func(uint32) auth.CryptoKey { return k })
			},
		} {
			d := encoding.NewDecoder(p)
			dec(d)
			if d.Offset() > len(p) {
				t.Fatal("read past input")
			}
			if !typed(d.Err()) {
				t.Fatalf("untyped %v", d.Err())
			}
		}
		if body, err := openEnc(k, p); err == nil && len(body) > len(p) {
			t.Fatal("plaintext longer than ciphertext")
		}
	})
}
