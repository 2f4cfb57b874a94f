package cephx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// msgNames names the message types the captures carry (ceph_fs.h,
// Message.h).
var msgNames = map[uint16]string{
	4: "MON_MAP", 5: "MON_GET_MAP", 15: "MON_SUBSCRIBE", 16: "MON_SUBSCRIBE_ACK",
	17: "AUTH", 18: "AUTH_REPLY", 41: "OSD_MAP", 42: "OSD_OP", 43: "OSD_OPREPLY",
	50: "MON_COMMAND", 51: "MON_COMMAND_ACK", 62: "CONFIG", 1796: "MGR_MAP",
}

// decryptAll replays both directions of a secure connection with the
// connection secret the Go handler recovered: every record's GCM tag must
// verify, every frame and message type must be named, and each side's
// AUTH_SIGNATURE (already encrypted) must be the HMAC of what it received
// in the clear. cSent and sSent are the plain bytes each side sent.
func decryptAll(t *testing.T, name string, res auth.Result, c2s, s2c []byte, cSent, sSent int, cut bool) []string {
	t.Helper()
	var seen []string
	for _, dir := range []struct {
		stream   []byte
		receiver wire.Role
		signed   []byte // what the sender of this stream received in the clear
	}{
		{s2c, wire.RoleClient, c2s[:cSent]},
		{c2s, wire.RoleServer, s2c[:sSent]},
	} {
		encrypted := 0
		rest, err := wire.ReplayCapture(dir.stream, res.ConnectionSecret, dir.receiver, func(f *wire.Frame) error {
			if f.Raw != nil {
				return nil // a plain frame, checked by the crc tests
			}
			encrypted++
			tn := f.Tag.String()
			if strings.Contains(tn, "unknown") || tn == "" {
				return fmt.Errorf("unnamed tag %d", f.Tag)
			}
			switch f.Tag {
			case wire.TagAuthSignature:
				if encrypted != 1 {
					return fmt.Errorf("AUTH_SIGNATURE is encrypted frame %d", encrypted)
				}
				if err := auth.CheckSignature(res.SessionKey, dir.signed, f.Payload()); err != nil {
					return err
				}
			case wire.TagMessage:
				var h message.Header
				if err := message.DecodeHeader2(&h, f.Segment(wire.SegHeader)); err != nil {
					return err
				}
				mn, ok := msgNames[h.Type]
				if !ok {
					return fmt.Errorf("unnamed message type %d", h.Type)
				}
				tn += "/" + mn
			}
			seen = append(seen, tn)
			return nil
		})
		if err != nil {
			t.Fatalf("%s receiver %v: %v (after %v)", name, dir.receiver, err, seen)
		}
		wantCut := cut && dir.receiver == wire.RoleClient
		if (rest != 0) != wantCut {
			t.Fatalf("%s receiver %v: %d bytes undecoded", name, dir.receiver, rest)
		}
		if encrypted < 2 {
			t.Fatalf("%s receiver %v: %d encrypted frames", name, dir.receiver, encrypted)
		}
	}
	return seen
}

// namePlain decodes a whole crc-mode stream with internal/wire (every crc
// checked) and names every frame and message.
func namePlain(t *testing.T, name string, stream []byte, receiver wire.Role, cut bool) []string {
	t.Helper()
	var seen []string
	rest, err := wire.ReplayCapture(stream, nil, receiver, func(f *wire.Frame) error {
		tn := f.Tag.String()
		if strings.Contains(tn, "unknown") || tn == "" {
			return fmt.Errorf("unnamed tag %d", f.Tag)
		}
		if f.Tag == wire.TagMessage {
			var h message.Header
			if err := message.DecodeHeader2(&h, f.Segment(wire.SegHeader)); err != nil {
				return err
			}
			mn, ok := msgNames[h.Type]
			if !ok {
				return fmt.Errorf("unnamed message type %d", h.Type)
			}
			tn += "/" + mn
		}
		seen = append(seen, tn)
		return nil
	})
	if err != nil || (rest != 0) != cut {
		t.Fatalf("%s: %v, %d bytes undecoded, after %v", name, err, rest, seen)
	}
	return seen
}

// From client.admin's key alone, the Go client handler reproduces each
// captured cephx-secure mon exchange and recovers the session key and
// the 64-byte connection secret; with them every encrypted frame of both
// directions decrypts and both AUTH_SIGNATUREs verify.
func TestCaptureMonSecure(t *testing.T) {
	for _, conn := range []string{"conn1", "conn2"} {
		t.Run(conn, func(t *testing.T) {
			x := replayMon(t, "testdata/cephx-secure", conn, true)
			seen := decryptAll(t, conn, x.res, x.c2m, x.m2c, x.cOff, x.mOff, conn == "conn2")
			t.Logf("%d encrypted frames: %v", len(seen), seen)
		})
	}
}

// The rados CLI in secure mode: the mon streams give the OSD ticket, the
// authorizer exchange with osd.0 reproduces byte for byte, its connection
// secret comes from the OSD's AUTH_DONE, and every encrypted frame of the
// OSD connection (MOSDOp with the object, MOSDOpReply) decrypts.
func TestCaptureOSDSecure(t *testing.T) {
	dir := "testdata/osd-cephx-secure"
	for _, conn := range []string{"1-put.conn0", "1-put.conn1", "1-put.conn2"} {
		x := replayMon(t, dir, conn, true)
		decryptAll(t, conn, x.res, x.c2m, x.m2c, x.cOff, x.mOff, false)
	}
	c2o := readFile(t, dir+"/1-put.conn0.client-to-osd.bin")
	o2c := readFile(t, dir+"/1-put.conn0.osd-to-client.bin")
	cf, cOff := walkPlain(t, c2o, tagAuthRequestMore)
	of, oOff := walkPlain(t, o2c, tagAuthDone)
	_, capModes, capReq := authRequest(t, frameByTag(t, cf, tagAuthRequest).segs[0])
	capMore := blobSeg(t, frameByTag(t, cf, tagAuthRequestMore).segs[0])

	x := replayMon(t, dir, "1-put.conn2", true)
	osd, err := x.session.Ticket(ServiceOSD)
	if err != nil {
		t.Fatal(err)
	}
	nonce := capturedNonce(t, capReq, osd.SessionKey)
	x = replayMon(t, dir, "1-put.conn2", true, binary.LittleEndian.AppendUint64(nil, nonce)...)
	h := x.session.ServiceHandler(ServiceOSD, capModes)
	_, _, req, err := h.Start()
	if err != nil || !bytes.Equal(req, capReq) {
		t.Fatalf("authorizer differs (%v)", err)
	}
	more, err := h.HandleReplyMore(blobSeg(t, frameByTag(t, of, tagAuthReplyMore).segs[0]))
	if err != nil || !bytes.Equal(more, capMore) {
		t.Fatalf("challenge answer differs (%v)", err)
	}
	gid, mode, p := authDone(t, frameByTag(t, of, tagAuthDone).segs[0])
	res, err := h.HandleDone(gid, mode, p)
	if err != nil {
		t.Fatal(err)
	}
	if mode != auth.ModeSecure || len(res.ConnectionSecret) != secureSecretLen {
		t.Fatalf("mode %d, secret %d bytes", mode, len(res.ConnectionSecret))
	}
	seen := decryptAll(t, "osd", res, c2o, o2c, cOff, oOff, false)
	joined := strings.Join(seen, " ")
	if !strings.Contains(joined, "/OSD_OP") || !strings.Contains(joined, "/OSD_OPREPLY") {
		t.Fatalf("OSD frames %v", seen)
	}
	t.Logf("osd: %v", seen)
}
