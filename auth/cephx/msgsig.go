package cephx

import (
	"encoding/binary"
	"fmt"

	"github.com/gomsgr/msgr/auth"
)

// SigFields are the parts of a msgr1 message a cephx signature covers.
type SigFields struct {
	HeaderCRC uint32
	FrontCRC  uint32
	FrontLen  uint32
	MiddleCRC uint32
	MiddleLen uint32
	DataCRC   uint32
	DataLen   uint32
	Seq       uint64
}

// MessageSignature is CephxSessionHandler::_calc_signature in its
// CEPHX_V2 form, what msgr1 puts in a message footer's sig: eight
// little-endian u32 (header crc, front crc and length, middle crc and
// length, data crc and length, the seq's low word) encrypted with the
// session key of the ticket the connection was authorized with, and the
// first four u64 of the ciphertext XORed together. msgr2 does not use it
// (its frames are covered by crcs or GCM).
func MessageSignature(sessionKey []byte, f SigFields) (uint64, error) {
	var blk [32]byte
	binary.LittleEndian.PutUint32(blk[0:], f.HeaderCRC)
	binary.LittleEndian.PutUint32(blk[4:], f.FrontCRC)
	binary.LittleEndian.PutUint32(blk[8:], f.FrontLen)
	binary.LittleEndian.PutUint32(blk[12:], f.MiddleCRC)
	binary.LittleEndian.PutUint32(blk[16:], f.MiddleLen)
	binary.LittleEndian.PutUint32(blk[20:], f.DataCRC)
	binary.LittleEndian.PutUint32(blk[24:], f.DataLen)
	binary.LittleEndian.PutUint32(blk[28:], uint32(f.Seq))
	var out [48]byte
	k := auth.CryptoKey{Type: auth.KeyTypeAES, Secret: sessionKey}
	ct, err := k.AppendEncrypt(out[:0], blk[:])
	if err != nil {
		return 0, fmt.Errorf("cephx: message signature: %w", err)
	}
	return binary.LittleEndian.Uint64(ct[0:]) ^ binary.LittleEndian.Uint64(ct[8:]) ^
		binary.LittleEndian.Uint64(ct[16:]) ^ binary.LittleEndian.Uint64(ct[24:]), nil
}
