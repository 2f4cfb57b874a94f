package auth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

// testFrame is one crc-mode msgr2.1 frame: its tag, segments, and the
// offset just past it in the stream.
type testFrame struct {
	tag  byte
	segs [][]byte
	end  int
}

// walkCRC splits a plain (crc-mode) msgr2.1 stream into frames. It is a
// test helper, not a decoder: crcs are not checked and it stops at the
// first incomplete frame.
func walkCRC(t *testing.T, s []byte) []testFrame {
	t.Helper()
	if len(s) < 26 || string(s[:8]) != "ceph v2\n" {
		t.Fatal("no banner")
	}
	off := 10 + int(binary.LittleEndian.Uint16(s[8:10]))
	var fs []testFrame
	for off+32 <= len(s) {
		p := s[off : off+32]
		n := int(p[1])
		var lens []int
		total := 0
		for i := 0; i < n; i++ {
			l := int(binary.LittleEndian.Uint32(p[2+6*i:]))
			lens = append(lens, l)
			total += l
		}
		size := 32 + total + 4
		if n > 1 {
			size += 13
		}
		if off+size > len(s) {
			break
		}
		f := testFrame{tag: p[0]}
		q := off + 32
		for i, l := range lens {
			f.segs = append(f.segs, s[q:q+l])
			q += l
			if i == 0 {
				q += 4
			}
		}
		off += size
		f.end = off
		fs = append(fs, f)
	}
	return fs
}

func findTag(t *testing.T, fs []testFrame, tag byte) testFrame {
	t.Helper()
	for _, f := range fs {
		if f.tag == tag {
			return f
		}
	}
	t.Fatalf("no frame with tag %d", tag)
	return testFrame{}
}

const (
	tagAuthRequest   = 2
	tagAuthDone      = 6
	tagAuthSignature = 7
)

// The captured ceph CLI with auth none: its AUTH_REQUEST is what NoneClient
// sends, NoneServer accepts it, and both AUTH_SIGNATUREs are what Ceph sends
// without a session key: 32 zero bytes.
func TestNoneAgainstCapture(t *testing.T) {
	c2m, _ := os.ReadFile("testdata/none-crc/conn1.client-to-mon.bin")
	m2c, _ := os.ReadFile("testdata/none-crc/conn1.mon-to-client.bin")
	cf, mf := walkCRC(t, c2m), walkCRC(t, m2c)

	req := findTag(t, cf, tagAuthRequest).segs[0]
	admin, _ := ParseEntityName("client.admin")
	cl := &NoneClient{Name: admin, Mon: true}
	method, modes, payload, err := cl.Start()
	if err != nil {
		t.Fatal(err)
	}
	want := encoding.AppendU32(nil, method)
	want = encoding.AppendU32(want, uint32(len(modes)))
	for _, m := range modes {
		want = encoding.AppendU32(want, m)
	}
	want = encoding.AppendBytes(want, payload)
	if !bytes.Equal(want, req) {
		t.Fatalf("AUTH_REQUEST\n got %x\nwant %x", want, req)
	}

	done := findTag(t, mf, tagAuthDone)
	d := encoding.NewDecoder(done.segs[0])
	gid, mode := d.U64(), d.U32()
	res, err := cl.HandleDone(gid, mode, d.Blob())
	if err != nil || res.GlobalID != 0x1010 || res.ConMode != ModeCRC {
		t.Fatalf("done: %+v %v", res, err)
	}

	srv := &NoneServer{Mon: true, GlobalIDs: NewGlobalIDs(0x1010)}
	rep, err := srv.HandleRequest(method, modes, payload)
	if err != nil || !rep.Done || rep.Result.GlobalID != 0x1010 || rep.PeerName != "client.admin" {
		t.Fatalf("server: %+v %v", rep, err)
	}

	// client signs what it received up to AUTH_DONE; the mon what it
	// received up to AUTH_REQUEST.
	csig := findTag(t, cf, tagAuthSignature).segs[0]
	if err := CheckSignature(nil, m2c[:done.end], csig); err != nil {
		t.Fatalf("client signature: %v", err)
	}
	msig := findTag(t, mf, tagAuthSignature).segs[0]
	if err := CheckSignature(res.SessionKey, c2m[:findTag(t, cf, tagAuthRequest).end], msig); err != nil {
		t.Fatalf("mon signature: %v", err)
	}
	if err := CheckSignature([]byte("k"), c2m[:10], msig); !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrDenied) {
		t.Fatalf("wrong bytes: %v", err)
	}
}

func TestNoneServer(t *testing.T) {
	admin, _ := ParseEntityName("client.admin")
	ids := NewGlobalIDs(4096)
	for _, tc := range []struct {
		name    string
		srv     *NoneServer
		client  *NoneClient
		method  uint32
		wantGID uint64
		wantErr error
	}{
		{"mon new id", &NoneServer{Mon: true, GlobalIDs: ids}, &NoneClient{Name: admin, Mon: true}, MethodNone, 4096, nil},
		{"mon keeps id", &NoneServer{Mon: true, GlobalIDs: ids}, &NoneClient{Name: admin, Mon: true, GlobalID: 77}, MethodNone, 77, nil},
		{"authorizer", &NoneServer{}, &NoneClient{Name: admin, GlobalID: 78}, MethodNone, 78, nil},
		{"wrong method", &NoneServer{}, &NoneClient{Name: admin}, MethodCephX, 0, ErrDenied},
		{"no common mode", &NoneServer{AllowedModes: []uint32{ModeSecure}}, &NoneClient{Name: admin}, MethodNone, 0, ErrDenied},
		{"mon payload to osd", &NoneServer{}, &NoneClient{Name: admin, Mon: true}, MethodNone, 0, ErrDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, modes, p, _ := tc.client.Start()
			rep, err := tc.srv.HandleRequest(tc.method, modes, p)
			if tc.wantErr != nil {
				var bm *BadMethodError
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &bm) || bm.Result >= 0 {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || rep.Result.GlobalID != tc.wantGID || rep.PeerType != admin.Type {
				t.Fatalf("%+v %v", rep, err)
			}
		})
	}
	if _, err := (&NoneServer{}).HandleRequestMore(nil); !errors.Is(err, ErrUnexpected) {
		t.Fatal(err)
	}
	if _, err := (&NoneClient{}).HandleReplyMore(nil); !errors.Is(err, ErrUnexpected) {
		t.Fatal(err)
	}
}

func FuzzNoneServer(f *testing.F) {
	admin, _ := ParseEntityName("client.admin")
	for _, c := range []*NoneClient{{Name: admin, Mon: true}, {Name: admin, GlobalID: 5}} {
		_, _, p, _ := c.Start()
		f.Add(p, c.Mon)
	}
	f.Fuzz(func(t *testing.T, p []byte, mon bool) {
		s := &NoneServer{Mon: mon, GlobalIDs: NewGlobalIDs(1)}
		rep, err := s.HandleRequest(MethodNone, []uint32{ModeCRC}, p)
		if err != nil && !errors.Is(err, ErrDenied) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil && !rep.Done {
			t.Fatal("accepted but not done")
		}
	})
}

// NoneSession hands out mon handlers until the mon assigns a global id, and
// then "authorizers" that carry it.
func TestNoneSession(t *testing.T) {
	admin, _ := ParseEntityName("client.admin")
	s := &NoneSession{Name: admin, MonModes: []uint32{ModeSecure, ModeCRC}}
	var creds Credentials = s
	mon := &NoneServer{Mon: true, GlobalIDs: NewGlobalIDs(4200), AllowedModes: []uint32{ModeCRC}}
	h, _ := creds.ClientHandler(uint32(encoding.EntityTypeMon))
	m, modes, p, _ := h.Start()
	rep, err := mon.HandleRequest(m, modes, p)
	if err != nil || rep.Result.ConMode != ModeCRC {
		t.Fatal(rep, err)
	}
	if _, err := h.HandleDone(rep.Result.GlobalID, rep.Result.ConMode, rep.Payload); err != nil || s.GlobalID() != 4200 {
		t.Fatalf("global id %d %v", s.GlobalID(), err)
	}
	h, _ = creds.ClientHandler(uint32(encoding.EntityTypeOSD))
	m, modes, p, _ = h.Start()
	rep, err = (&NoneServer{}).HandleRequest(m, modes, p)
	if err != nil || rep.Result.GlobalID != 4200 || rep.PeerName != "client.admin" {
		t.Fatal(rep, err)
	}
}

func TestBadMethodCause(t *testing.T) {
	for errno, want := range map[int32]string{-EPERM: "malformed", -EACCES: "wrong key", -EOPNOTSUPP: "not allowed", -7: "errno -7"} {
		e := &BadMethodError{Method: MethodCephX, Result: errno}
		if !strings.Contains(e.Error(), want) {
			t.Errorf("%d: %s", errno, e.Error())
		}
	}
}

// The rados CLI's none "authorizer" to osd.0 is what NoneClient sends for
// the same global id, and the OSD's AUTH_DONE and zero signatures follow.
func TestNoneAuthorizerAgainstCapture(t *testing.T) {
	c2o, _ := os.ReadFile("testdata/osd-none-crc/1-put.conn0.client-to-osd.bin")
	o2c, _ := os.ReadFile("testdata/osd-none-crc/1-put.conn0.osd-to-client.bin")
	cf, of := walkCRC(t, c2o), walkCRC(t, o2c)
	req := findTag(t, cf, tagAuthRequest).segs[0]
	d := encoding.NewDecoder(req)
	d.U32()
	d.Skip(4 * d.Len(4))
	capPayload := d.Blob()
	gid := binary.LittleEndian.Uint64(capPayload[len(capPayload)-8:])
	admin, _ := ParseEntityName("client.admin")
	_, _, p, _ := (&NoneClient{Name: admin, GlobalID: gid}).Start()
	if !bytes.Equal(p, capPayload) {
		t.Fatalf("got %x, captured %x", p, capPayload)
	}
	rep, err := (&NoneServer{}).HandleRequest(MethodNone, []uint32{ModeCRC}, capPayload)
	if err != nil || rep.Result.GlobalID != gid {
		t.Fatal(rep, err)
	}
	done := findTag(t, of, tagAuthDone)
	dd := encoding.NewDecoder(done.segs[0])
	if dd.U64() != gid || dd.U32() != ModeCRC || len(dd.Blob()) != 0 {
		t.Fatal("OSD AUTH_DONE")
	}
	if err := CheckSignature(nil, o2c[:done.end], findTag(t, cf, tagAuthSignature).segs[0]); err != nil {
		t.Fatal(err)
	}
}
