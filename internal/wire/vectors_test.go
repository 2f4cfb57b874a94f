package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/message"
)

const vectors = "testdata/ceph-16.2.15"

// captures returns every captured stream under dir.
func captures(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(vectors, dir, "*-to-*.bin"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no captures in %s: %v", dir, err)
	}
	sort.Strings(names)
	return names
}

// walked is one stream decoded as far as it goes.
type walked struct {
	lines    []string // frames.txt style: "HELLO segs=[36]"
	frames   int
	messages map[uint16]int
	rest     int   // bytes left undecoded
	err      error // the error that stopped the walk, if any
}

// walk decodes a whole crc-mode stream, checking every frame's payload and
// that re-encoding it reproduces the captured bytes.
func walk(t testing.TB, stream []byte, chunk func() int) walked {
	t.Helper()
	var w walked
	w.messages = map[uint16]int{}
	d := NewDecoder(Limits{})
	e := NewEncoder()
	off := 0
	feed := func() bool {
		if off == len(stream) {
			return false
		}
		n := len(stream) - off
		if chunk != nil {
			n = min(n, chunk())
		}
		d.Feed(stream[off : off+n])
		off += n
		return true
	}
	for {
		bn, raw, err := d.Banner()
		if err != nil {
			t.Fatalf("banner: %v", err)
		}
		if raw != nil {
			if bn != (Banner{Supported: FeatureRevision1}) || !bytes.Equal(raw, AppendBanner(nil, bn)) {
				t.Fatalf("banner %+v raw %x", bn, raw)
			}
			w.lines = append(w.lines, fmt.Sprintf("banner supported=%#x required=%#x", bn.Supported, bn.Required))
			break
		}
		if !feed() {
			t.Fatal("stream ends inside the banner")
		}
	}
	for {
		f, err := d.Next()
		if err != nil {
			w.err = err
			break
		}
		if f == nil {
			if !feed() {
				break
			}
			continue
		}
		w.frames++
		switch f.Tag {
		case TagClientIdent, TagServerIdent, TagSessionReconnect, TagSessionReconnectOK:
			// The session is open after these: the handshake itself
			// fits PreSessionLimits.
			d.Establish()
		}
		segs := make([]string, f.NumSegments)
		for i := range segs {
			segs[i] = fmt.Sprint(f.Lengths[i])
		}
		line := fmt.Sprintf("%v segs=[%s]", f.Tag, strings.Join(segs, ", "))
		var again []byte
		if f.Tag == TagMessage {
			var h message.Header
			if err := message.DecodeHeader2(&h, f.Segment(SegHeader)); err != nil {
				t.Fatalf("header2: %v", err)
			}
			w.messages[h.Type]++
			line += fmt.Sprintf(" msg_type=%d", h.Type)
			// Re-encode header2 from its decoded fields, segments as is.
			p := message.Payload{Front: f.Segment(SegFront), Middle: f.Segment(SegMiddle), Data: f.Segment(SegData)}
			again, err = e.AppendMessage(nil, &h, &p)
		} else {
			cf, derr := DecodeControlFrame(f.Tag, f.Payload())
			if derr != nil {
				t.Fatalf("%v: %v", f.Tag, derr)
			}
			again, err = e.AppendControl(nil, cf)
		}
		if err != nil || !bytes.Equal(again, f.Raw) {
			t.Fatalf("%s: re-encoded frame differs (%v)\n got %x\nwant %x", line, err, again, f.Raw)
		}
		w.lines = append(w.lines, line)
	}
	w.rest = d.Buffered() + len(stream) - off
	return w
}

// listing reads frames.txt into stream name → frame lines.
func listing(t testing.TB, dir string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, dir, "frames.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	var cur string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "== "):
			cur = strings.TrimPrefix(l, "== ")
		case strings.HasPrefix(l, "  @"), strings.HasSuffix(l, "trailing bytes"), l == "":
		default:
			m[cur] = append(m[cur], strings.TrimSpace(l))
		}
	}
	return m
}

// TestCapturesCRC walks every crc-mode capture: every frame decodes, every
// crc checks out, every frame re-encodes to the captured bytes, and the osd
// streams list exactly what frames.txt lists.
func TestCapturesCRC(t *testing.T) {
	for _, dir := range []string{"none-crc", "cephx-crc", "osd/none-crc", "osd/cephx-crc"} {
		var want map[string][]string
		if strings.HasPrefix(dir, "osd/") {
			want = listing(t, dir)
		}
		total, msgs := 0, map[uint16]int{}
		for _, name := range captures(t, dir) {
			stream, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			w := walk(t, stream, nil)
			if w.err != nil {
				t.Fatalf("%s: %v after %d frames", name, w.err, w.frames)
			}
			base := filepath.Base(name)
			// conn2.mon-to-client ends inside a frame: incomplete, not corrupt.
			if truncated := base == "conn2.mon-to-client.bin"; truncated != (w.rest > 0) {
				t.Fatalf("%s: %d bytes left over", name, w.rest)
			}
			if want != nil {
				if got, exp := strings.Join(w.lines, "\n"), strings.Join(want[base], "\n"); got != exp {
					t.Fatalf("%s: listing differs\n got:\n%s\nwant:\n%s", name, got, exp)
				}
			}
			total += w.frames
			for k, v := range w.messages {
				msgs[k] += v
			}
			if testing.Verbose() {
				t.Logf("%s: %d frames, %d bytes pending: %s", name, w.frames, w.rest, strings.Join(w.lines, "; "))
			}
		}
		t.Logf("%s: %d frames, message types %v", dir, total, msgs)
	}
}

// TestCapturesSplit feeds every crc stream in random pieces (1 byte to a few
// KiB) and requires the same frames as when fed whole.
func TestCapturesSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dir := range []string{"none-crc", "cephx-crc", "osd/cephx-crc"} {
		for _, name := range captures(t, dir) {
			stream, _ := os.ReadFile(name)
			whole := walk(t, stream, nil)
			for _, maxChunk := range []int{1, 7, 100, 5000} {
				split := walk(t, stream, func() int { return 1 + rng.IntN(maxChunk) })
				if strings.Join(split.lines, "\n") != strings.Join(whole.lines, "\n") || split.rest != whole.rest {
					t.Fatalf("%s split by %d: frames differ", name, maxChunk)
				}
			}
		}
	}
}

// TestCapturesSecureUntilAuth walks the cephx-secure captures up to the end
// of authentication (the last plain frame) and checks that the next frame
// is encrypted: plain decoding reports a crc error, and decoding with a
// wrong connection secret reports ErrAuthTag.
func TestCapturesSecureUntilAuth(t *testing.T) {
	want := listing(t, "osd/cephx-secure")
	for _, dir := range []string{"cephx-secure", "osd/cephx-secure"} {
		for _, name := range captures(t, dir) {
			stream, _ := os.ReadFile(name)
			w := walk(t, stream, nil)
			if !errors.Is(w.err, ErrBadCRC) {
				t.Fatalf("%s: plain walk ended with %v, want ErrBadCRC", name, w.err)
			}
			last := w.lines[len(w.lines)-1]
			if !strings.HasPrefix(last, "AUTH_DONE") && !strings.HasPrefix(last, "AUTH_REQUEST") {
				t.Fatalf("%s: last plain frame %s", name, last)
			}
			if dir == "osd/cephx-secure" {
				if got, exp := strings.Join(w.lines, "\n"), strings.Join(want[filepath.Base(name)], "\n"); got != exp {
					t.Fatalf("%s: listing differs\n got:\n%s\nwant:\n%s", name, got, exp)
				}
			}
			// The same stream with a wrong secret: the first encrypted
			// record fails authentication.
			role := RoleClient
			if strings.Contains(name, "client-to-") {
				role = RoleServer
			}
			wrong := bytes.Repeat([]byte{0x5a}, 64)
			_, err := ReplayCapture(stream, wrong, role, func(*Frame) error { return nil })
			if !errors.Is(err, ErrAuthTag) {
				t.Fatalf("%s: wrong secret gave %v, want ErrAuthTag", name, err)
			}
		}
	}
}
