package v1

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/cephtest"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
)

// cephxSession replays the rados CLI's MonClient exchange of cephx-crc
// (conn2: MAuth over msgr1) with client.admin's key, so that the session
// holds the OSD ticket the CLI used; rnd is the session's randomness.
func cephxSession(t *testing.T, rnd []byte) *cephx.Session {
	t.Helper()
	admin := cephtest.Admin
	_, key := cephtest.AdminKey(t, "testdata/cephx-crc/keyring")
	s, err := cephx.NewSession(cephx.Config{Name: admin, Key: key, Rand: bytes.NewReader(rnd)})
	if err != nil {
		t.Fatal(err)
	}
	_, srv := walkPair(t, readFile(t, "testdata/cephx-crc/1-put.conn2.client-to-mon.bin"), readFile(t, "testdata/cephx-crc/1-put.conn2.mon-to-client.bin"))
	var replies []*messages.MAuthReply
	for _, m := range srv.msgs {
		if m.hdr.Type != messages.TypeAuthReply {
			continue
		}
		r := &messages.MAuthReply{}
		h, p := m.hdr, m.pay
		if err := r.Decode(&h, pacificFeatures, &p); err != nil {
			t.Fatal(err)
		}
		replies = append(replies, r)
	}
	if len(replies) != 3 {
		t.Fatalf("%d MAuthReply, want challenge, auth ticket, service tickets", len(replies))
	}
	h := s.MonHandler(nil)
	if _, _, _, err := h.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.HandleReplyMore(replies[0].ResultBL); err != nil {
		t.Fatal(err)
	}
	if _, err := h.HandleDone(replies[1].GlobalID, auth.ModeCRC, replies[1].ResultBL); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HandleRenewalReply(replies[2].Result, replies[2].ResultBL); err != nil {
		t.Fatal(err)
	}
	return s
}

// authorizerNonce opens the nonce of a captured cephx authorizer.
func authorizerNonce(t *testing.T, a []byte, key auth.CryptoKey) uint64 {
	t.Helper()
	d := encoding.NewDecoder(a)
	d.U8()
	d.U64()
	d.U32()
	d.U8()
	d.U64()
	d.Blob()
	ct := d.Blob()
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	pt, err := key.Decrypt(ct)
	if err != nil {
		t.Fatal(err)
	}
	// {u8 v, u64 magic} then CephXAuthorize {u8 v, u64 nonce, ...}
	return binary.LittleEndian.Uint64(pt[1+8+1:])
}

// TestReplayCephxClient: the rados CLI's cephx connection to osd.0 over
// msgr1, reproduced byte for byte by a client Machine given the CLI's
// randomness: connect with the authorizer, CHALLENGE_AUTHORIZER, the
// connect again with the challenge answered, the OSD's reply proof
// checked, then the MOSDOp signed as the CLI signed it; the OSD's signed
// reply is verified and delivered.
func TestReplayCephxClient(t *testing.T) {
	cli := readFile(t, "testdata/cephx-crc/1-put.conn0.client-to-osd.bin")
	srv := readFile(t, "testdata/cephx-crc/1-put.conn0.osd-to-client.bin")
	c, s := walkPair(t, cli, srv)
	first := cephxSession(t, make([]byte, 8))
	osd, err := first.Ticket(cephx.ServiceOSD)
	if err != nil {
		t.Fatal(err)
	}
	nonce := authorizerNonce(t, c.connects[0].Authorizer, osd.SessionKey)
	// The client challenge of the mon exchange, then the authorizer nonce.
	sess := cephxSession(t, append(make([]byte, 8), binary.LittleEndian.AppendUint64(nil, nonce)...))

	// Every captured signature checks with the ticket's session key.
	for _, m := range append(c.msgs, s.msgs...) {
		sig, err := cephx.MessageSignature(osd.SessionKey.Secret, sigFields(&m.hdr, m.hdrCRC, &m.foot))
		if err != nil || sig != m.foot.Sig || m.foot.Flags&message.FooterSigned == 0 {
			t.Fatalf("seq %d type %d: signature %#x, computed %#x (%v)", m.hdr.Seq, m.hdr.Type, m.foot.Sig, sig, err)
		}
	}

	op := c.msgs[0]
	env := &testEnv{name: op.hdr.Src, gseq: 1, policy: v2.Policy{Lossy: true}}
	env.authClient = func(uint8) (auth.ClientHandler, error) { return sess.ServiceHandler(cephx.ServiceOSD, nil), nil }
	peer := mustAddr(t, srv[BannerLen:])
	me := mustAddr(t, cli[BannerLen:])
	m := newTestClient(t, env, encoding.EntityTypeOSD, peer, me.Nonce)
	var a acts
	a.add(m.Start(t0))
	a.add(m.Connected(t0))
	a.add(m.Received(t0, srv[:339])) // banner, addresses, CHALLENGE_AUTHORIZER
	a.add(m.Received(t0, srv[339:409]))
	if w := a.takeWrites(); !bytes.Equal(w, cli[:567]) {
		t.Fatalf("handshake differs from the CLI's:\n got %x\nwant %x", w, cli[:567])
	}
	if len(a.est) != 1 || m.sessKey == nil {
		t.Fatalf("not established with a signing key: %+v", a.est)
	}
	a.add(m.Send(t0, &v2.OutMessage{Header: op.hdr, Payload: op.pay}))
	if w := a.takeWrites(); !bytes.Equal(w, cli[567:]) {
		t.Fatalf("signed MOSDOp differs from the CLI's")
	}
	a.add(m.Received(t0, srv[409:]))
	if len(a.delivered) != 1 || a.delivered[0].Header.Flags&message.FooterSigned == 0 {
		t.Fatalf("the OSD's signed reply was not delivered: %+v", a)
	}

	// A flipped signature bit closes the connection.
	bad := bytes.Clone(srv)
	bad[len(bad)-2] ^= 1
	m2 := newTestClient(t, &testEnv{name: op.hdr.Src, gseq: 1, policy: v2.Policy{Lossy: true},
		authClient: func(uint8) (auth.ClientHandler, error) {
			return cephxSession(t, append(make([]byte, 8), binary.LittleEndian.AppendUint64(nil, nonce)...)).ServiceHandler(cephx.ServiceOSD, nil), nil
		}}, encoding.EntityTypeOSD, peer, me.Nonce)
	var b acts
	b.add(m2.Start(t0))
	b.add(m2.Connected(t0))
	b.add(m2.Received(t0, bad))
	if len(b.delivered) != 0 || len(b.closed) != 1 || !errors.Is(b.closed[0].Err, ErrBadSignature) {
		t.Fatalf("a bad signature was accepted: %+v", b)
	}
}
