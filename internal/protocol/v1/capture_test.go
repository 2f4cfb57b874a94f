package v1

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// The captures in testdata are Ceph 16.2.15's own bytes (the ceph and rados
// CLIs against a v1-only cluster, and OSD <-> OSD), one file per direction
// of a TCP connection (../shared/research/msgr1.md).

type capMsg struct {
	off    int
	hdr    message.Header
	hdrCRC uint32
	foot   Footer
	pay    message.Payload
}

type capStream struct {
	msgs      []capMsg
	acks      int
	keepalive int
	connects  []Connect
	replies   []ConnectReply
}

// walkPair walks a connection's two streams as a dialogue (what a reply
// holds decides what the next connect is), re-encoding every item and
// comparing it with the captured bytes.
func walkPair(t *testing.T, cli, srv []byte) (c, s capStream) {
	t.Helper()
	ci, si := 0, 0
	take := func(b []byte, i *int, n int, what string) []byte {
		t.Helper()
		if *i+n > len(b) {
			t.Fatalf("%s: needs %d bytes at %d, %d left", what, n, *i, len(b)-*i)
		}
		p := b[*i : *i+n]
		*i += n
		return p
	}
	if string(take(srv, &si, BannerLen, "server banner")) != Banner || string(take(cli, &ci, BannerLen, "client banner")) != Banner {
		t.Fatal("bad banner")
	}
	for _, p := range [][]byte{take(srv, &si, AddrLen, "server addr"), take(srv, &si, AddrLen, "peer addr"), take(cli, &ci, AddrLen, "client addr")} {
		a, err := DecodeAddr(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendAddr(nil, a); !bytes.Equal(got, p) {
			t.Fatalf("address %v re-encodes to\n%x\nnot\n%x", a, got, p)
		}
	}
	var features uint64
	for {
		var cn Connect
		p := take(cli, &ci, ConnectLen, "connect")
		if err := DecodeConnect(&cn, p); err != nil {
			t.Fatal(err)
		}
		cn.Authorizer = take(cli, &ci, int(cn.AuthorizerLen), "authorizer")
		if got := AppendConnect(nil, &cn); !bytes.Equal(got, cli[ci-len(got):ci]) {
			t.Fatalf("connect re-encodes differently")
		}
		c.connects = append(c.connects, cn)
		var r ConnectReply
		p = take(srv, &si, ConnectReplyLen, "connect reply")
		if err := DecodeConnectReply(&r, p); err != nil {
			t.Fatal(err)
		}
		r.Authorizer = take(srv, &si, int(r.AuthorizerLen), "authorizer reply")
		if got := AppendConnectReply(nil, &r); !bytes.Equal(got, srv[si-len(got):si]) {
			t.Fatalf("connect reply re-encodes differently")
		}
		s.replies = append(s.replies, r)
		if r.Tag == TagSeq {
			take(srv, &si, 8, "server in_seq")
			take(cli, &ci, 8, "client in_seq")
		}
		if r.Tag == TagSeq || r.Tag == TagReady {
			features = cn.Features & r.Features
			break
		}
	}
	msgAuth := encoding.HasFeatures(features, encoding.FeatureMsgAuth)
	c = walkItems(t, cli, ci, msgAuth, c)
	s = walkItems(t, srv, si, msgAuth, s)
	return c, s
}

func walkItems(t *testing.T, b []byte, i int, msgAuth bool, st capStream) capStream {
	t.Helper()
	for i < len(b) {
		tag := Tag(b[i])
		i++
		need := map[Tag]int{TagAck: 8, TagKeepalive: 0, TagKeepalive2: 8, TagKeepalive2Ack: 8}
		if n, ok := need[tag]; ok {
			if tag == TagAck {
				st.acks++
			} else {
				st.keepalive++
			}
			i += n
			continue
		}
		if tag != TagMsg {
			t.Fatalf("@%d: tag %v", i-1, tag)
		}
		m := capMsg{off: i - 1}
		crc, err := DecodeHeader(&m.hdr, b[i:])
		if err != nil {
			t.Fatalf("@%d: %v", i, err)
		}
		m.hdrCRC = crc
		if got := message.AppendHeader(nil, &m.hdr); !bytes.Equal(got, b[i:i+HeaderLen]) {
			t.Fatalf("@%d: header re-encodes to %x, not %x", i, got, b[i:i+HeaderLen])
		}
		i += HeaderLen
		fl, ml, dl := int(m.hdr.FrontLen), int(m.hdr.MiddleLen), int(m.hdr.DataLen)
		m.pay = message.Payload{Front: b[i : i+fl], Middle: b[i+fl : i+fl+ml], Data: b[i+fl+ml : i+fl+ml+dl]}
		i += fl + ml + dl
		if err := DecodeFooter(&m.foot, b[i:], msgAuth); err != nil {
			t.Fatal(err)
		}
		if got := AppendFooter(nil, &m.foot, msgAuth); !bytes.Equal(got, b[i:i+FooterSize(msgAuth)]) {
			t.Fatalf("@%d: footer re-encodes differently", i)
		}
		i += FooterSize(msgAuth)
		if err := CheckCRCs(&m.foot, &m.pay); err != nil {
			t.Fatalf("message seq %d @%d: %v", m.hdr.Seq, m.off, err)
		}
		st.msgs = append(st.msgs, m)
	}
	return st
}

// capturePairs lists testdata's connections: client-side file, server-side file.
func capturePairs(t *testing.T) [][2]string {
	var pairs [][2]string
	files, _ := filepath.Glob("testdata/*/*.bin")
	for _, f := range files {
		if !strings.Contains(f, ".client-to-") {
			continue
		}
		peer := strings.TrimSuffix(f[strings.Index(f, ".client-to-")+len(".client-to-"):], ".bin")
		srv := strings.Replace(f, ".client-to-"+peer, "."+peer+"-to-client", 1)
		if _, err := os.Stat(srv); err != nil {
			t.Fatalf("%s has no sibling %s", f, srv)
		}
		pairs = append(pairs, [2]string{f, srv})
	}
	if len(pairs) < 7 {
		t.Fatalf("only %d capture pairs", len(pairs))
	}
	return pairs
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCaptureReencode: every handshake item, header and footer of Ceph's
// streams decodes and re-encodes to the same bytes, and every crc checks.
func TestCaptureReencode(t *testing.T) {
	total, signed := 0, 0
	for _, p := range capturePairs(t) {
		c, s := walkPair(t, readFile(t, p[0]), readFile(t, p[1]))
		for _, m := range append(c.msgs, s.msgs...) {
			total++
			if m.foot.Flags&message.FooterSigned != 0 {
				signed++
			}
		}
		if strings.Contains(p[0], "peer-") && (c.acks == 0 || s.acks == 0) {
			t.Errorf("%s: a lossless OSD<->OSD stream with no ACK", p[0])
		}
		if strings.Contains(p[0], "cephx") && strings.Contains(p[0], "osd") {
			if len(c.connects) != 2 || s.replies[0].Tag != TagChallengeAuthorizer {
				t.Errorf("%s: cephx OSD connect without the CEPHX_V2 challenge: %d connects", p[0], len(c.connects))
			}
		}
	}
	t.Logf("%d messages, %d signed", total, signed)
	if total < 40 || signed < 2 {
		t.Fatalf("%d messages, %d signed", total, signed)
	}
}

// TestHeaderCRCSeedZero pins msgr1's crc: ceph_crc32c seeded with 0 (msgr2
// segments use 0xffffffff).
func TestHeaderCRCSeedZero(t *testing.T) {
	b := readFile(t, "testdata/none-crc/1-put.conn0.mon-to-client.bin")
	h := b[324+1 : 324+1+HeaderLen]
	if message.HeaderCRC(h) != binary.LittleEndian.Uint32(h[headerCRCLen:]) {
		t.Fatal("header crc of AUTH_REPLY does not match crc32c seed 0")
	}
	if sectionCRC(nil) != 0 {
		t.Fatal("crc of nothing must be 0")
	}
}
