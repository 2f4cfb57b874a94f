package cephx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

// serveAuth plays a mon's msgr2 auth phase on an accepted connection with
// h, up to the client's first frame after AUTH_SIGNATURE, and returns that
// frame's tag (CLIENT_IDENT when the client accepted everything).
func serveAuth(c net.Conn, h auth.ServerHandler) (wire.Tag, auth.ServerReply, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	lc := &liveConn{c: c, enc: wire.NewEncoder(), dec: wire.NewDecoder(wire.Limits{}), buf: make([]byte, 64<<10)}
	if err := lc.sendE(wire.AppendBanner(nil, wire.Banner{Supported: wire.SupportedFeatures})); err != nil {
		return 0, auth.ServerReply{}, err
	}
	for {
		_, raw, err := lc.dec.Banner()
		if err != nil {
			return 0, auth.ServerReply{}, err
		}
		if raw != nil {
			lc.rx = append(lc.rx, raw...)
			break
		}
		if err := lc.readE(); err != nil {
			return 0, auth.ServerReply{}, err
		}
	}
	f, err := lc.nextE()
	if err != nil || f.Tag != wire.TagHello {
		return 0, auth.ServerReply{}, fmt.Errorf("hello: %v %v", f.Tag, err)
	}
	peer, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	if err := lc.sendFrameE(&wire.Hello{EntityType: encoding.EntityTypeMon, PeerAddr: encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Addr: peer}}); err != nil {
		return 0, auth.ServerReply{}, err
	}
	var rep auth.ServerReply
	for {
		f, err := lc.nextE()
		if err != nil {
			return 0, rep, err
		}
		switch fr := f.F.(type) {
		case *wire.AuthRequest:
			rep, err = h.HandleRequest(fr.Method, fr.PreferredModes, fr.Payload)
		case *wire.AuthRequestMore:
			rep, err = h.HandleRequestMore(fr.Payload)
		default:
			return f.Tag, rep, fmt.Errorf("unexpected %v during auth", f.Tag)
		}
		var bm *auth.BadMethodError
		if errors.As(err, &bm) {
			lc.sendFrameE(&wire.AuthBadMethod{Method: bm.Method, Result: bm.Result, AllowedMethods: bm.AllowedMethods, AllowedModes: bm.AllowedModes})
			continue
		}
		if err != nil {
			return 0, rep, err
		}
		if !rep.Done {
			lc.sendFrameE(&wire.AuthReplyMore{Payload: rep.Payload})
			continue
		}
		received := append([]byte(nil), lc.rx...)
		lc.sendFrameE(&wire.AuthDone{GlobalID: rep.Result.GlobalID, ConMode: rep.Result.ConMode, Payload: rep.Payload})
		sent := append([]byte(nil), lc.tx...)
		if rep.Result.ConMode == auth.ModeSecure {
			rx, tx, err := wire.NewSecure(rep.Result.ConnectionSecret, wire.RoleServer, true)
			if err != nil {
				return 0, rep, err
			}
			lc.enc.SetSecure(tx)
			lc.dec.SetSecure(rx)
		}
		f, err = lc.nextE()
		if err != nil {
			return 0, rep, err
		}
		cs, ok := f.F.(*wire.AuthSignature)
		if !ok {
			return f.Tag, rep, fmt.Errorf("client sent %v instead of AUTH_SIGNATURE", f.Tag)
		}
		if err := auth.CheckSignature(rep.Result.SessionKey, sent, cs.Signature[:]); err != nil {
			return f.Tag, rep, err
		}
		sig := &wire.AuthSignature{}
		copy(sig.Signature[:], auth.Signature(rep.Result.SessionKey, received))
		lc.sendFrameE(sig)
		f, err = lc.nextE()
		return f.Tag, rep, err
	}
}

// The E variants of the liveConn helpers return errors instead of failing
// a test: the server side runs outside the test goroutine.
func (lc *liveConn) sendE(b []byte) error {
	if !lc.enc.Secure() {
		lc.tx = append(lc.tx, b...)
	}
	_, err := lc.c.Write(b)
	return err
}

func (lc *liveConn) sendFrameE(f wire.ControlFrame) error {
	b, err := lc.enc.AppendControl(nil, f)
	if err != nil {
		return err
	}
	return lc.sendE(b)
}

func (lc *liveConn) readE() error {
	n, err := lc.c.Read(lc.buf)
	if err != nil {
		return err
	}
	lc.dec.Feed(lc.buf[:n])
	return nil
}

func (lc *liveConn) nextE() (liveFrame, error) {
	for {
		f, err := lc.dec.Next()
		if err != nil {
			return liveFrame{}, err
		}
		if f == nil {
			if err := lc.readE(); err != nil {
				return liveFrame{}, err
			}
			continue
		}
		lc.rx = append(lc.rx, f.Raw...)
		if f.Tag == wire.TagMessage {
			return liveFrame{Tag: f.Tag}, nil
		}
		cf, err := wire.DecodeControlFrame(f.Tag, f.Payload())
		return liveFrame{Tag: f.Tag, F: cf}, err
	}
}

// The real ceph CLI against the Go mon side: with client.admin's key it
// completes cephx (crc and secure), verifies our AUTH_SIGNATURE and, in
// secure mode, sends CLIENT_IDENT encrypted with the connection secret we
// generated; with a wrong key or as an unknown entity it is refused and
// exits non-zero, naming a permission error as it does against a real mon.
func TestLiveCLIAgainstGoServer(t *testing.T) {
	if _, err := exec.LookPath("ceph"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no ceph CLI under CI")
		}
		t.Skip("no ceph CLI")
	}
	if os.Getenv("MSGR_TEST_CEPH_CEPHX") == "" && os.Getenv("CI") != "true" {
		t.Skip("MSGR_TEST_CEPH_CEPHX not set: live tests off")
	}
	kr, err := auth.LoadKeyring("testdata/cephx-crc/keyring")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := kr.Key(adminName)
	wrong := auth.CryptoKey{Type: auth.KeyTypeAES, Secret: bytes.Repeat([]byte{7}, 16)}
	ghost := auth.EntityName{Type: adminName.Type, ID: "ghost"}
	for _, tc := range []struct {
		name    string
		mode    string
		who     auth.EntityName
		key     auth.CryptoKey
		wantTag wire.Tag
		errno   int32
	}{
		{"crc", "crc", adminName, key, wire.TagClientIdent, 0},
		{"secure", "secure", adminName, key, wire.TagClientIdent, 0},
		{"wrong key", "crc", adminName, wrong, 0, -auth.EACCES},
		{"unknown entity", "secure", ghost, key, 0, -auth.EACCES},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := NewServer(ServerConfig{Keyring: kr})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			type outcome struct {
				tag wire.Tag
				rep auth.ServerReply
				err error
			}
			results := make(chan outcome, 16)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer c.Close()
						tag, rep, err := serveAuth(c, srv.Handler())
						results <- outcome{tag, rep, err}
					}()
				}
			}()

			dir := t.TempDir()
			client := auth.NewKeyring()
			client.Add(tc.who, tc.key)
			os.WriteFile(filepath.Join(dir, "keyring"), client.Marshal(), 0o600)
			conf := fmt.Sprintf("[global]\nfsid = 9b0f3a5e-54b5-4c6f-9d43-1d2f3c4b5a69\nmon host = v2:%s\n"+
				"auth client required = cephx\nms mon client mode = %s\nms client mode = %s\nkeyring = %s\n"+
				"log file = %s\nadmin socket = %s\n",
				ln.Addr(), tc.mode, tc.mode, filepath.Join(dir, "keyring"), filepath.Join(dir, "client.log"), filepath.Join(dir, "asok"))
			os.WriteFile(filepath.Join(dir, "ceph.conf"), []byte(conf), 0o600)

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "ceph", "-c", filepath.Join(dir, "ceph.conf"), "-n", tc.who.String(), "--connect-timeout", "4", "status")
			out, cerr := cmd.CombinedOutput()
			if cerr == nil {
				t.Fatalf("the CLI succeeded against a server that stops after auth:\n%s", out)
			}
			ln.Close()
			var got outcome
			select {
			case got = <-results:
			case <-time.After(5 * time.Second):
				t.Fatalf("no connection reached the server; CLI said:\n%s", out)
			}
			if tc.errno != 0 {
				// Our AUTH_BAD_METHOD makes the CLI give up: it
				// reports a permission error and exits non-zero.
				if got.err == nil {
					t.Fatalf("wrong key accepted: %+v", got)
				}
				if !bytes.Contains(out, []byte("ermission")) && !bytes.Contains(out, []byte("EACCES")) && !bytes.Contains(out, []byte("errno 13")) {
					t.Errorf("CLI output does not name the cause:\n%s", out)
				}
				t.Logf("CLI: %s", bytes.TrimSpace(out))
				return
			}
			if got.err != nil || got.tag != tc.wantTag {
				t.Fatalf("server: tag %v err %v; CLI said:\n%s", got.tag, got.err, out)
			}
			wantMode := map[string]uint32{"crc": auth.ModeCRC, "secure": auth.ModeSecure}[tc.mode]
			if got.rep.Result.ConMode != wantMode || got.rep.PeerName != "client.admin" {
				t.Fatalf("reply %+v", got.rep)
			}
		})
	}
}
