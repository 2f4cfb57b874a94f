package cephx

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

// capturedNonce decrypts the authorizer nonce the real client sent, so the
// Go handler can be given the same randomness.
func capturedNonce(t *testing.T, req []byte, key auth.CryptoKey) uint64 {
	t.Helper()
	d := encoding.NewDecoder(req)
	d.U8()
	d.U64()
	d.U32()
	decodeTicketBlob(d)
	body := openSealed(d, key)
	a := decodeAuthorize(encoding.NewDecoder(body))
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	return a.Nonce
}

// The rados CLI's connection to osd.0: the OSD ticket from the mon stream
// opens the authorizer, the Go handler reproduces AUTH_REQUEST and (after
// the CEPHX_V2 challenge) AUTH_REQUEST_MORE byte for byte, accepts the
// OSD's AUTH_DONE, and both AUTH_SIGNATUREs check out with the ticket's
// session key.
func TestCaptureOSDCRC(t *testing.T) {
	dir := "testdata/osd-cephx-crc"
	c2o := readFile(t, dir+"/1-put.conn0.client-to-osd.bin")
	o2c := readFile(t, dir+"/1-put.conn0.osd-to-client.bin")
	cf, _ := walkPlain(t, c2o, 0)
	of, _ := walkPlain(t, o2c, 0)
	_, capModes, capReq := authRequest(t, frameByTag(t, cf, tagAuthRequest).segs[0])
	capMore := blobSeg(t, frameByTag(t, cf, tagAuthRequestMore).segs[0])

	// A first pass finds the OSD session key, to read the captured nonce.
	x := replayMon(t, dir, "1-put.conn2", false)
	osd, err := x.session.Ticket(ServiceOSD)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []uint32{ServiceAuth, ServiceMon, ServiceMgr} {
		if _, err := x.session.Ticket(svc); err != nil {
			t.Fatal(err)
		}
	}
	nonce := capturedNonce(t, capReq, osd.SessionKey)

	x = replayMon(t, dir, "1-put.conn2", false, binary.LittleEndian.AppendUint64(nil, nonce)...)
	h := x.session.ServiceHandler(ServiceOSD, capModes)
	_, _, req, err := h.Start()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(req, capReq) {
		t.Fatalf("authorizer:\n got %x\ncaptured %x", req, capReq)
	}
	more, err := h.HandleReplyMore(blobSeg(t, frameByTag(t, of, tagAuthReplyMore).segs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(more, capMore) {
		t.Fatalf("challenge answer:\n got %x\ncaptured %x", more, capMore)
	}
	gid, mode, p := authDone(t, frameByTag(t, of, tagAuthDone).segs[0])
	res, err := h.HandleDone(gid, mode, p)
	if err != nil {
		t.Fatal(err)
	}
	if gid != x.res.GlobalID || !bytes.Equal(res.SessionKey, osd.SessionKey.Secret) || len(res.ConnectionSecret) != 0 {
		t.Fatalf("result %+v, mon global id %d", res, x.res.GlobalID)
	}
	seen := append(namePlain(t, "c2o", c2o, wire.RoleServer, false), namePlain(t, "o2c", o2c, wire.RoleClient, false)...)
	if !strings.Contains(strings.Join(seen, " "), "MESSAGE/OSD_OPREPLY") {
		t.Fatalf("frames %v", seen)
	}
	checkSignatures(t, res.SessionKey, c2o, o2c,
		frameByTag(t, cf, tagAuthRequestMore).end, frameByTag(t, of, tagAuthDone).end,
		frameByTag(t, cf, tagAuthSignature).segs[0], frameByTag(t, of, tagAuthSignature).segs[0])
}
