package cephx

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

var adminName = auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}

func loadKeyring(t *testing.T, dir string) *auth.Keyring {
	t.Helper()
	kr, err := auth.LoadKeyring(dir + "/keyring")
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// authRequest splits an AUTH_REQUEST segment.
func authRequest(t testing.TB, seg []byte) (uint32, []uint32, []byte) {
	t.Helper()
	d := encoding.NewDecoder(seg)
	m := d.U32()
	n := d.Len(4)
	var modes []uint32
	for i := 0; i < n; i++ {
		modes = append(modes, d.U32())
	}
	p := d.Blob()
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("AUTH_REQUEST: %v", d.Err())
	}
	return m, modes, p
}

// blobSeg returns the bufferlist that makes up an AUTH_REPLY_MORE or
// AUTH_REQUEST_MORE segment.
func blobSeg(t testing.TB, seg []byte) []byte {
	t.Helper()
	d := encoding.NewDecoder(seg)
	p := d.Blob()
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("bufferlist segment: %v", d.Err())
	}
	return p
}

func authDone(t testing.TB, seg []byte) (uint64, uint32, []byte) {
	t.Helper()
	d := encoding.NewDecoder(seg)
	g, m, p := d.U64(), d.U32(), d.Blob()
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("AUTH_DONE: %v", d.Err())
	}
	return g, m, p
}

// monExchange is what a captured client↔mon connection yields.
type monExchange struct {
	res      auth.Result
	session  *Session
	c2m, m2c []byte
	cf, mf   []testFrame
	cOff     int // where the plain part of each stream ends
	mOff     int
}

// replayMon feeds the captured mon frames of one connection to a Go
// MonHandler whose randomness yields the captured client challenge (then
// moreRand), checks
// that it sends byte for byte what the real client sent, and checks both
// AUTH_SIGNATUREs.
func replayMon(t *testing.T, dir, conn string, secure bool, moreRand ...byte) monExchange {
	t.Helper()
	kr := loadKeyring(t, dir)
	key, err := kr.Key(adminName)
	if err != nil {
		t.Fatal(err)
	}
	x := monExchange{c2m: readFile(t, dir+"/"+conn+".client-to-mon.bin"), m2c: readFile(t, dir+"/"+conn+".mon-to-client.bin")}
	stop := byte(0)
	if secure {
		stop = tagAuthDone
	}
	x.cf, x.cOff = walkPlain(t, x.c2m, tagAuthRequestMore)
	x.mf, x.mOff = walkPlain(t, x.m2c, stop)

	capMethod, capModes, capReq := authRequest(t, frameByTag(t, x.cf, tagAuthRequest).segs[0])
	capMore := blobSeg(t, frameByTag(t, x.cf, tagAuthRequestMore).segs[0])
	// CephXAuthenticate starts after the u16 request type and struct_v.
	cc := binary.LittleEndian.Uint64(capMore[3:])
	want := binary.LittleEndian.Uint32(capMore[len(capMore)-4:])

	x.session, err = NewSession(Config{Name: adminName, Key: key, Want: want, Rand: io.MultiReader(bytes.NewReader(binary.LittleEndian.AppendUint64(nil, cc)), bytes.NewReader(moreRand))})
	if err != nil {
		t.Fatal(err)
	}
	h := x.session.MonHandler(capModes)
	method, modes, req, err := h.Start()
	if err != nil || method != capMethod || !bytes.Equal(req, capReq) || len(modes) != len(capModes) {
		t.Fatalf("AUTH_REQUEST: got %d %v %x, captured %d %v %x (%v)", method, modes, req, capMethod, capModes, capReq, err)
	}
	more, err := h.HandleReplyMore(blobSeg(t, frameByTag(t, x.mf, tagAuthReplyMore).segs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(more, capMore) {
		t.Fatalf("AUTH_REQUEST_MORE:\n got %x\ncaptured %x", more, capMore)
	}
	done := frameByTag(t, x.mf, tagAuthDone)
	gid, mode, p := authDone(t, done.segs[0])
	x.res, err = h.HandleDone(gid, mode, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.res.SessionKey) != 16 || x.res.GlobalID == 0 {
		t.Fatalf("result %+v", x.res)
	}
	wantSecret := 0
	if secure {
		wantSecret = 64
		if mode != auth.ModeSecure {
			t.Fatalf("mode %d", mode)
		}
	}
	if len(x.res.ConnectionSecret) != wantSecret {
		t.Fatalf("connection secret of %d bytes, want %d", len(x.res.ConnectionSecret), wantSecret)
	}
	return x
}

// checkSignatures verifies each side's AUTH_SIGNATURE: the client's over
// what it received up to AUTH_DONE, the mon's over what it received up to
// AUTH_REQUEST_MORE.
func checkSignatures(t *testing.T, key []byte, c2m, m2c []byte, cEnd, mEnd int, cSig, mSig []byte) {
	t.Helper()
	if err := auth.CheckSignature(key, m2c[:mEnd], cSig); err != nil {
		t.Errorf("client's AUTH_SIGNATURE: %v", err)
	}
	if err := auth.CheckSignature(key, c2m[:cEnd], mSig); err != nil {
		t.Errorf("mon's AUTH_SIGNATURE: %v", err)
	}
}

func TestCaptureMonCRC(t *testing.T) {
	for _, conn := range []string{"conn1", "conn2"} {
		t.Run(conn, func(t *testing.T) {
			x := replayMon(t, "testdata/cephx-crc", conn, false)
			cf, _ := walkPlain(t, x.c2m, 0)
			mf, _ := walkPlain(t, x.m2c, 0)
			checkSignatures(t, x.res.SessionKey, x.c2m, x.m2c,
				frameByTag(t, cf, tagAuthRequestMore).end, frameByTag(t, mf, tagAuthDone).end,
				frameByTag(t, cf, tagAuthSignature).segs[0], frameByTag(t, mf, tagAuthSignature).segs[0])
			if _, err := x.session.Ticket(ServiceAuth); err != nil {
				t.Fatal(err)
			}
			namePlain(t, conn, x.c2m, wire.RoleServer, false)
			namePlain(t, conn, x.m2c, wire.RoleClient, conn == "conn2")
		})
	}
}

// The Go mon side, given the captured server challenge, accepts the real
// ceph client's AUTH_REQUEST and its key proof in AUTH_REQUEST_MORE, and
// refuses the same proof against another challenge.
func TestCaptureServerAcceptsRealClient(t *testing.T) {
	for _, c := range [][2]string{
		{"testdata/cephx-crc", "conn1"}, {"testdata/cephx-crc", "conn2"},
		{"testdata/cephx-secure", "conn1"}, {"testdata/cephx-secure", "conn2"},
		{"testdata/osd-cephx-crc", "1-put.conn2"}, {"testdata/osd-cephx-secure", "1-put.conn0"},
	} {
		t.Run(c[0][9:]+"/"+c[1], func(t *testing.T) {
			c2m := readFile(t, c[0]+"/"+c[1]+".client-to-mon.bin")
			m2c := readFile(t, c[0]+"/"+c[1]+".mon-to-client.bin")
			cf, _ := walkPlain(t, c2m, tagAuthRequestMore)
			mf, _ := walkPlain(t, m2c, tagAuthDone)
			method, modes, req := authRequest(t, frameByTag(t, cf, tagAuthRequest).segs[0])
			more := blobSeg(t, frameByTag(t, cf, tagAuthRequestMore).segs[0])
			challenge := blobSeg(t, frameByTag(t, mf, tagAuthReplyMore).segs[0])
			wantGID, wantMode, _ := authDone(t, frameByTag(t, mf, tagAuthDone).segs[0])

			for _, flip := range []bool{false, true} {
				ch := append([]byte(nil), challenge[1:9]...)
				if flip {
					ch[0] ^= 1
				}
				secrets, _ := GenerateServiceSecrets(rand.Reader, time.Now(), ServiceAuth, ServiceMon, ServiceOSD, ServiceMgr)
				srv, err := NewServer(ServerConfig{
					Secrets:   secrets,
					Keyring:   loadKeyring(t, c[0]),
					GlobalIDs: auth.NewGlobalIDs(wantGID),
					Rand:      io.MultiReader(bytes.NewReader(ch), rand.Reader),
				})
				if err != nil {
					t.Fatal(err)
				}
				h := srv.Handler()
				rep, err := h.HandleRequest(method, modes, req)
				if err != nil || (!flip && !bytes.Equal(rep.Payload, challenge)) {
					t.Fatalf("challenge %x, captured %x (%v)", rep.Payload, challenge, err)
				}
				rep, err = h.HandleRequestMore(more)
				if flip {
					var bm *auth.BadMethodError
					if !errors.As(err, &bm) || bm.Result != -auth.EACCES {
						t.Fatalf("proof against another challenge: %v", err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if !rep.Done || rep.Result.GlobalID != wantGID || rep.Result.ConMode != wantMode || rep.PeerName != "client.admin" {
					t.Fatalf("reply %+v", rep)
				}
			}
		})
	}
}
