package messages

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/monmap"
)

// monSamples are populated values of every mon message type.
func monSamples() []message.Message {
	fsid := encoding.UUID{0xa6, 0xc7, 0xf4, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	return []message.Message{
		&MMonMap{MonMapBL: []byte{9, 6, 0, 0, 0, 0}},
		&MMonGetMap{},
		&MMonSubscribe{What: map[string]SubscribeItem{
			SubMonMap: {Start: 2}, SubOSDMap: {Start: 7, Flags: SubscribeOnetime}, SubConfig: {}}, Hostname: "host1"},
		&MMonSubscribeAck{Interval: 300, FSID: fsid},
		&MAuth{Paxos: ClientPaxos, Protocol: 2, Payload: []byte{1, 2, 3}, MonMapEpoch: 4},
		&MAuthReply{Protocol: 2, Result: -13, GlobalID: 4242, ResultBL: []byte("blob"), ResultMsg: "denied"},
		&MMonGetVersion{Handle: 9, What: "osdmap"},
		&MMonGetVersionReply{Handle: 9, MapVersion: 31, OldestVersion: 1},
		&MOSDMap{FSID: fsid,
			IncrementalMaps: map[uint32][]byte{8: {1}, 7: {2, 2}},
			Maps:            map[uint32][]byte{6: {3, 3, 3}},
			OldestMap:       1, NewestMap: 8,
			GapRemovedSnaps: map[int64][]SnapInterval{3: {{Start: 1, Len: 2}, {Start: 9, Len: 1}}, 1: {}}},
		NewMMonCommand(5, fsid, []string{`{"prefix": "osd dump", "format": "json"}`}, []byte("input")),
		&MMonCommandAck{Paxos: PaxosHeader{Version: 12, SessionMon: 0, SessionMonTid: 3}, Tid: 5, Result: -22,
			Status: "invalid command", Cmd: []string{`{"prefix": "bogus"}`}, Data: []byte("out")},
		&MConfig{Config: map[string]string{"debug_ms": "0", "mon_host": "x"}},
	}
}

func TestMonRoundTrip(t *testing.T) {
	reg := monRegistry(t)
	for _, m := range monSamples() {
		var p message.Payload
		h, err := message.EncodeMessage(m, encoding.FeaturesAll, &p)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		got, err := reg.Decode(&h, encoding.FeaturesAll, &p)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip %T:\n got %+v\nwant %+v", m, got, m)
		}
		if s, ok := got.(interface{ String() string }); !ok || s.String() == "" {
			t.Errorf("%T: no String", m)
		}
		// Every decoder fails cleanly, with a typed error, on every
		// truncation of a body that has mandatory fields.
		for n := 0; n < len(p.Front); n++ {
			q := message.Payload{Front: p.Front[:n], Data: p.Data}
			if _, err := reg.Decode(&h, encoding.FeaturesAll, &q); err == nil {
				if _, ok := m.(*MAuth); ok && n == len(p.Front)-4 {
					continue // the monmap epoch is optional
				}
				t.Errorf("%T truncated to %d of %d bytes: no error", m, n, len(p.Front))
			} else if !errors.Is(err, encoding.ErrTruncated) && !errors.Is(err, encoding.ErrTooLarge) && !errors.Is(err, encoding.ErrMalformed) {
				t.Errorf("%T truncated: untyped error %v", m, err)
			}
		}
	}
}

func TestMonOlderVersions(t *testing.T) {
	// MMonSubscribe v1 (pre-SUBSCRIBE2): unused u64, have u64, onetime u8.
	var front []byte
	front = encoding.AppendU32(front, 1)
	front = encoding.AppendString(front, "osdmap")
	front = encoding.AppendU64(front, 0)
	front = encoding.AppendU64(front, 12)
	front = encoding.AppendU8(front, 1)
	var s MMonSubscribe
	if err := s.Decode(&message.Header{Version: 1}, 0, &message.Payload{Front: front}); err != nil {
		t.Fatal(err)
	}
	if s.What["osdmap"] != (SubscribeItem{Start: 12, Flags: SubscribeOnetime}) || s.Hostname != "" {
		t.Errorf("v1 subscribe: %+v", s)
	}
	if err := s.Encode(&message.Header{}, encoding.FeatureMsgAddr2, &message.Payload{}); !errors.Is(err, ErrMonVersion) {
		t.Errorf("encoding for a peer without SUBSCRIBE2: %v", err)
	}

	// MOSDMap v3 has no gap_removed_snaps; v1 has no oldest/newest.
	full := &MOSDMap{Maps: map[uint32][]byte{2: {1}}, IncrementalMaps: map[uint32][]byte{}, OldestMap: 1, NewestMap: 2}
	var p message.Payload
	if err := full.Encode(&message.Header{}, encoding.FeaturesAll, &p); err != nil {
		t.Fatal(err)
	}
	v3 := p.Front[:len(p.Front)-4] // drop the empty gap map
	var m MOSDMap
	if err := m.Decode(&message.Header{Version: 3}, 0, &message.Payload{Front: v3}); err != nil || !reflect.DeepEqual(&m, full) {
		t.Errorf("v3: %+v %v", m, err)
	}
	if err := m.Decode(&message.Header{Version: 1}, 0, &message.Payload{Front: v3[:len(v3)-8]}); err != nil || m.OldestMap != 0 || m.First() != 2 {
		t.Errorf("v1: %+v %v", m, err)
	}

	// MMonGetVersionReply v1 has no oldest version.
	var r MMonGetVersionReply
	b := encoding.AppendU64(encoding.AppendU64(nil, 1), 5)
	if err := r.Decode(&message.Header{Version: 1}, 0, &message.Payload{Front: b}); err != nil || r.MapVersion != 5 {
		t.Errorf("get_version_reply v1: %+v %v", r, err)
	}
}

func TestMMonMapCarriesMonMap(t *testing.T) {
	mm := &monmap.MonMap{Epoch: 3, Ranks: []string{"a"}, Mons: []monmap.MonInfo{{Name: "a"}}}
	m, err := NewMMonMap(mm, encoding.FeaturesAll)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Map()
	if err != nil || got.Epoch != 3 || got.Ranks[0] != "a" {
		t.Errorf("%+v %v", got, err)
	}
	if _, err := NewMMonMap(mm, 0); !errors.Is(err, monmap.ErrFeatures) {
		t.Errorf("legacy peer: %v", err)
	}
}

func TestRegisterMonTwice(t *testing.T) {
	r := message.NewRegistry()
	if err := RegisterMon(r); err != nil {
		t.Fatal(err)
	}
	if err := RegisterMon(r); !errors.Is(err, message.ErrRegistered) {
		t.Errorf("second registration: %v", err)
	}
}
