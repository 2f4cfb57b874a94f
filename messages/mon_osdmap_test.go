package messages_test

import (
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
	"os"
)

// TestCapturedOSDMapDecodes hands the full map of the captured MOSDMap to
// the osdmap package: the bufferlist boundaries must be right for it to
// decode, with the epoch the message names.
func TestCapturedOSDMapDecodes(t *testing.T) {
	stream, err := os.ReadFile("testdata/mon/none-crc/conn2.mon-to-client.bin")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	_, err = wire.ReplayCapture(stream, nil, wire.RoleClient, func(f *wire.Frame) error {
		var h message.Header
		if f.Tag != wire.TagMessage || message.DecodeHeader2(&h, f.Segment(0)) != nil || h.Type != messages.TypeOSDMap {
			return nil
		}
		var m messages.MOSDMap
		if err := m.Decode(&h, encoding.FeaturesAll, &message.Payload{Front: f.Segment(1)}); err != nil {
			return err
		}
		for epoch, bl := range m.Maps {
			om, err := osdmap.Decode(bl)
			if err != nil {
				t.Fatalf("epoch %d: %v", epoch, err)
			}
			if om.Epoch != epoch || om.FSID != m.FSID {
				t.Errorf("map epoch %d fsid %s, message says %d %s", om.Epoch, om.FSID, epoch, m.FSID)
			}
			found++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no full OSDMap in the capture")
	}
}
