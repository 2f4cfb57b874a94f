package messages

import (
	"bytes"
	"testing"
)

func TestMWatchNotify(t *testing.T) {
	m := &MWatchNotify{Opcode: WatchEventNotify, Cookie: 9, Ver: 3, NotifyID: 0x1234, Payload: []byte("hi"), ReturnCode: -110, NotifierGID: 4100, Data: []byte("d")}
	front := m.AppendFront(nil)
	for _, v := range []uint16{1, 2, 3} {
		d, err := DecodeMWatchNotify(v, front, m.Data)
		if err != nil || d.Cookie != 9 || d.NotifyID != 0x1234 || !bytes.Equal(d.Payload, m.Payload) || !bytes.Equal(d.Data, m.Data) {
			t.Fatalf("v%d: %+v %v", v, d, err)
		}
		if (v >= 2) != (d.ReturnCode == -110) || (v >= 3) != (d.NotifierGID == 4100) {
			t.Fatalf("v%d: %+v", v, d)
		}
	}
	for n := range len(front) {
		if _, err := DecodeMWatchNotify(3, front[:n], nil); err == nil {
			t.Fatalf("%d of %d bytes decoded", n, len(front))
		}
	}
}

func FuzzDecodeMWatchNotify(f *testing.F) {
	f.Add((&MWatchNotify{Opcode: WatchEventNotifyComplete, Cookie: 1, NotifyID: 2, Payload: []byte("x")}).AppendFront(nil), []byte("y"))
	f.Fuzz(func(t *testing.T, front, data []byte) {
		m, err := DecodeMWatchNotify(MWatchNotifyVersion, front, data)
		if err != nil {
			return
		}
		m2, err := DecodeMWatchNotify(MWatchNotifyVersion, m.AppendFront(nil), m.Data)
		if err != nil || m2.Cookie != m.Cookie || !bytes.Equal(m2.Payload, m.Payload) {
			t.Fatalf("re-encoded MWatchNotify differs: %v", err)
		}
	})
}
