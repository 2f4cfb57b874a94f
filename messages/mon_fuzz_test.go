package messages

import (
	"reflect"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// monFuzz seeds f with the captured and sample bodies of type typ and
// checks that whatever decodes re-encodes to something that decodes to
// the same value.
func monFuzz(f *testing.F, typ uint16) {
	for _, c := range monCaptures(f) {
		if c.hdr.Type == typ {
			f.Add(c.hdr.Version, c.payload.Front, c.payload.Data)
		}
	}
	for _, m := range monSamples() {
		if m.Type() != typ {
			continue
		}
		var p message.Payload
		h, err := message.EncodeMessage(m, encoding.FeaturesAll, &p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(h.Version, p.Front, p.Data)
	}
	reg := monRegistry(f)
	f.Fuzz(func(t *testing.T, version uint16, front, data []byte) {
		h := message.Header{Type: typ, Version: version}
		m, err := reg.Decode(&h, encoding.FeaturesAll, &message.Payload{Front: front, Data: data})
		if err != nil {
			return
		}
		var p message.Payload
		h2, err := message.EncodeMessage(m, encoding.FeaturesAll, &p)
		if err != nil {
			t.Fatalf("%v: encode: %v", m, err)
		}
		again, err := reg.Decode(&h2, encoding.FeaturesAll, &p)
		if err != nil {
			t.Fatalf("%v: re-encoded body does not decode: %v", m, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip:\n%+v\n%+v", m, again)
		}
	})
}

func FuzzMMonMap(f *testing.F)             { monFuzz(f, TypeMonMap) }
func FuzzMMonSubscribe(f *testing.F)       { monFuzz(f, TypeMonSubscribe) }
func FuzzMMonSubscribeAck(f *testing.F)    { monFuzz(f, TypeMonSubscribeAck) }
func FuzzMAuth(f *testing.F)               { monFuzz(f, TypeAuth) }
func FuzzMAuthReply(f *testing.F)          { monFuzz(f, TypeAuthReply) }
func FuzzMMonGetVersion(f *testing.F)      { monFuzz(f, TypeMonGetVersion) }
func FuzzMMonGetVersionReply(f *testing.F) { monFuzz(f, TypeMonGetVersionReply) }
func FuzzMOSDMap(f *testing.F)             { monFuzz(f, TypeOSDMap) }
func FuzzMMonCommand(f *testing.F)         { monFuzz(f, TypeMonCommand) }
func FuzzMMonCommandAck(f *testing.F)      { monFuzz(f, TypeMonCommandAck) }
func FuzzMConfig(f *testing.F)             { monFuzz(f, TypeConfig) }
