package messages

import (
	"errors"
	"fmt"
	"sort"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// Message types of the monitor client path (src/include/ceph_fs.h,
// src/msg/Message.h).
const (
	TypeMonMap             uint16 = 4  // CEPH_MSG_MON_MAP
	TypeMonGetMap          uint16 = 5  // CEPH_MSG_MON_GET_MAP
	TypeMonSubscribe       uint16 = 15 // CEPH_MSG_MON_SUBSCRIBE
	TypeMonSubscribeAck    uint16 = 16 // CEPH_MSG_MON_SUBSCRIBE_ACK
	TypeAuth               uint16 = 17 // CEPH_MSG_AUTH
	TypeAuthReply          uint16 = 18 // CEPH_MSG_AUTH_REPLY
	TypeMonGetVersion      uint16 = 19 // CEPH_MSG_MON_GET_VERSION
	TypeMonGetVersionReply uint16 = 20 // CEPH_MSG_MON_GET_VERSION_REPLY
	TypeOSDMap             uint16 = 41 // CEPH_MSG_OSD_MAP
	TypeMonCommand         uint16 = 50 // MSG_MON_COMMAND
	TypeMonCommandAck      uint16 = 51 // MSG_MON_COMMAND_ACK
	TypeConfig             uint16 = 62 // MSG_CONFIG
)

// ErrMonVersion reports a monitor message whose header version this
// package does not decode.
var ErrMonVersion = errors.New("messages: unsupported mon message version")

// Bounds on counts read from the wire, beyond the check that the input
// holds that many elements.
const (
	maxMapEntries = 1 << 20
)

// PaxosHeader is the PaxosServiceMessage prefix of MMonCommand, MAuth and
// other messages a mon may forward: a version and two fields kept for
// compatibility. Clients send {0, -1, 0} (ClientPaxos).
type PaxosHeader struct {
	Version       uint64
	SessionMon    int16
	SessionMonTid uint64
}

// ClientPaxos is the PaxosHeader clients send.
var ClientPaxos = PaxosHeader{SessionMon: -1}

func appendPaxos(b []byte, p PaxosHeader) []byte {
	b = encoding.AppendU64(b, p.Version)
	b = encoding.AppendU16(b, uint16(p.SessionMon))
	return encoding.AppendU64(b, p.SessionMonTid)
}

func decodePaxos(d *encoding.Decoder) PaxosHeader {
	return PaxosHeader{Version: d.U64(), SessionMon: int16(d.U16()), SessionMonTid: d.U64()}
}

// RegisterMon registers every message type of this package's mon client
// path (MonClient's dispatch set) in r.
func RegisterMon(r *message.Registry) error {
	for _, e := range []struct {
		t uint16
		f func() message.Message
	}{
		{TypeMonMap, func() message.Message { return &MMonMap{} }},
		{TypeMonGetMap, func() message.Message { return &MMonGetMap{} }},
		{TypeMonSubscribe, func() message.Message { return &MMonSubscribe{} }},
		{TypeMonSubscribeAck, func() message.Message { return &MMonSubscribeAck{} }},
		{TypeAuth, func() message.Message { return &MAuth{} }},
		{TypeAuthReply, func() message.Message { return &MAuthReply{} }},
		{TypeMonGetVersion, func() message.Message { return &MMonGetVersion{} }},
		{TypeMonGetVersionReply, func() message.Message { return &MMonGetVersionReply{} }},
		{TypeOSDMap, func() message.Message { return &MOSDMap{} }},
		{TypeMonCommand, func() message.Message { return &MMonCommand{} }},
		{TypeMonCommandAck, func() message.Message { return &MMonCommandAck{} }},
		{TypeConfig, func() message.Message { return &MConfig{} }},
		{TypeStatfs, func() message.Message { return &MStatfs{} }},
		{TypeStatfsReply, func() message.Message { return &MStatfsReply{} }},
		{TypeGetPoolStats, func() message.Message { return &MGetPoolStats{} }},
		{TypeGetPoolStatsReply, func() message.Message { return &MGetPoolStatsReply{} }},
		{TypePoolOp, func() message.Message { return &MPoolOp{} }},
		{TypePoolOpReply, func() message.Message { return &MPoolOpReply{} }},
	} {
		if err := r.Register(e.t, e.f); err != nil {
			return err
		}
	}
	return nil
}

// finish turns a decoder's sticky error into the message's error.
func finish(name string, d *encoding.Decoder) error {
	if err := d.Err(); err != nil {
		return fmt.Errorf("messages: %s: %w", name, err)
	}
	return nil
}

func versionError(name string, got uint16) error {
	return fmt.Errorf("%w: %s v%d", ErrMonVersion, name, got)
}

// appendStringMap encodes a std::map<string,string> (sorted keys).
func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = encoding.AppendU32(b, uint32(len(keys)))
	for _, k := range keys {
		b = encoding.AppendString(b, k)
		b = encoding.AppendString(b, m[k])
	}
	return b
}

func decodeStringMap(d *encoding.Decoder) map[string]string {
	n := d.Len(8)
	if n > maxMapEntries {
		d.Failf("map of %d entries", n)
		return nil
	}
	m := make(map[string]string, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.String()
		m[k] = d.String()
	}
	return m
}
