package messages

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// monCaptured is one MESSAGE frame of a captured mon connection.
type monCaptured struct {
	file    string
	hdr     message.Header
	payload message.Payload
}

// monCaptures walks every captured mon connection in testdata/mon with
// internal/wire (every crc checked) and returns its MESSAGE frames.
func monCaptures(t testing.TB) []monCaptured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "mon", "*", "*.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	sort.Strings(files)
	var out []monCaptured
	for _, f := range files {
		stream, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		role := wire.RoleClient
		if strings.Contains(f, "client-to-mon") {
			role = wire.RoleServer
		}
		_, err = wire.ReplayCapture(stream, nil, role, func(fr *wire.Frame) error {
			if fr.Tag != wire.TagMessage {
				return nil
			}
			c := monCaptured{file: f}
			if err := message.DecodeHeader2(&c.hdr, fr.Segment(wire.SegHeader)); err != nil {
				return err
			}
			c.payload = message.Payload{
				Front:  bytes.Clone(fr.Segment(wire.SegFront)),
				Middle: bytes.Clone(fr.Segment(wire.SegMiddle)),
				Data:   bytes.Clone(fr.Segment(wire.SegData)),
			}
			out = append(out, c)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return out
}

func monRegistry(t testing.TB) *message.Registry {
	r := message.NewRegistry()
	if err := RegisterMon(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func fsidOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mon", dir, "ceph-status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ FSID string }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.FSID
}

// TestMonCaptures decodes every mon message the real ceph and rados CLIs
// and ceph-mon exchanged, checks what each must contain, and re-encodes
// each to the captured bytes.
func TestMonCaptures(t *testing.T) {
	reg := monRegistry(t)
	seen := map[uint16]int{}
	for _, c := range monCaptures(t) {
		if !reg.Known(c.hdr.Type) {
			continue // MMgrMap (1796) belongs to no package yet
		}
		seen[c.hdr.Type]++
		m, err := reg.Decode(&c.hdr, encoding.FeaturesAll, &c.payload)
		if err != nil {
			t.Fatalf("%s: type %d: %v", c.file, c.hdr.Type, err)
		}
		var p message.Payload
		h, err := message.EncodeMessage(m, encoding.FeaturesAll, &p)
		if err != nil {
			t.Fatalf("%s: %v: encode: %v", c.file, m, err)
		}
		if !bytes.Equal(p.Front, c.payload.Front) || !bytes.Equal(p.Data, c.payload.Data) || len(p.Middle) != 0 {
			t.Errorf("%s: %v: re-encoding differs:\n got %x\nwant %x", c.file, m, p.Front, c.payload.Front)
		}
		if h.Version != c.hdr.Version || h.CompatVersion != c.hdr.CompatVersion || h.Tid != c.hdr.Tid {
			t.Errorf("%s: %v: header v%d/%d tid %d, captured v%d/%d tid %d", c.file, m,
				h.Version, h.CompatVersion, h.Tid, c.hdr.Version, c.hdr.CompatVersion, c.hdr.Tid)
		}
		dir := filepath.Base(filepath.Dir(c.file))
		fsid := ""
		if dir != "rados-none-crc" {
			fsid = fsidOf(t, dir)
		}
		switch m := m.(type) {
		case *MMonMap:
			mm, err := m.Map()
			if err != nil || (fsid != "" && mm.FSID.String() != fsid) || len(mm.Mons) != 1 {
				t.Errorf("%s: monmap %v %v", c.file, mm, err)
			}
		case *MMonSubscribe:
			if m.Hostname != "vm" || len(m.What) == 0 {
				t.Errorf("%s: %v host %q", c.file, m, m.Hostname)
			}
			for k, it := range m.What {
				if k == SubOSDMap && it.Flags != SubscribeOnetime || k != SubOSDMap && it.Flags != 0 || it.Start != 0 {
					t.Errorf("%s: %v", c.file, m)
				}
			}
		case *MMonCommand:
			var cmd map[string]any
			if len(m.Cmd) != 1 || json.Unmarshal([]byte(m.Cmd[0]), &cmd) != nil || cmd["prefix"] == nil {
				t.Errorf("%s: %v", c.file, m)
			}
			if fsid != "" && m.FSID.String() != fsid || m.Paxos != ClientPaxos {
				t.Errorf("%s: %v fsid %s paxos %+v", c.file, m, m.FSID, m.Paxos)
			}
		case *MMonCommandAck:
			// The get_command_descriptions answer: JSON with cmd000 ...
			var out map[string]any
			if m.Result != 0 || m.Tid != 1 || json.Unmarshal(m.Data, &out) != nil || out["cmd000"] == nil {
				t.Errorf("%s: %v", c.file, m)
			}
		case *MOSDMap:
			if (fsid != "" && m.FSID.String() != fsid) || len(m.Maps) != 1 || m.NewestMap != m.Last() || m.OldestMap != 1 {
				t.Errorf("%s: %v fsid %s", c.file, m, m.FSID)
			}
			for _, bl := range m.Maps {
				if len(bl) < 6 || bl[0] != 8 || bl[1] != 7 { // OSDMap: ENCODE_START(8, 7)
					t.Errorf("%s: full map starts %x", c.file, bl[:min(len(bl), 6)])
				}
			}
		case *MConfig:
			if len(m.Config) != 0 {
				t.Errorf("%s: %v", c.file, m)
			}
		}
	}
	for _, typ := range []uint16{TypeMonMap, TypeMonGetMap, TypeMonSubscribe, TypeMonCommand, TypeMonCommandAck, TypeOSDMap, TypeConfig} {
		if seen[typ] == 0 {
			t.Errorf("no captured message of type %d", typ)
		}
	}
}
