package wire

import "github.com/gomsgr/msgr/encoding"

// PreSum is a segment's crc32c taken before its frame is built: by the
// sender's goroutine as it hands a message over (msgr's Conn.send), so
// that the connection's loop does not read the data once more to sum it
// (Ceph's bufferlist likewise keeps the crcs of its buffers, and its
// send_message prepares a message in the caller's thread). A framing uses
// it only when its own crc of that segment has the same seed and length;
// any other (secure mode, a different protocol) ignores it.
//
// A PreSum is only right while the segment's bytes stay as they were
// summed: it relies on the rule Conn.Send states, that the caller does not
// touch the data until the message is written or acked (a copy the
// connection makes of it, DetachData, holds the same bytes).
type PreSum struct {
	CRC  uint32
	Seed uint32
	Len  int // bytes summed; 0: no sum was taken
}

// TakePreSum sums p from seed; nothing for an empty p.
func TakePreSum(seed uint32, p []byte) PreSum {
	if len(p) == 0 {
		return PreSum{}
	}
	return PreSum{CRC: encoding.CRC32C(seed, p), Seed: seed, Len: len(p)}
}

// For returns the crc of p from seed if s is that sum (the same seed and
// length, p's bytes as summed: see PreSum), and false otherwise.
func (s PreSum) For(seed uint32, p []byte) (uint32, bool) {
	return s.CRC, s.Len != 0 && s.Len == len(p) && s.Seed == seed
}
