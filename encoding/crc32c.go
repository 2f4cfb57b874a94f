package encoding

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32C is Ceph's ceph_crc32c(seed, p): CRC-32C (Castagnoli) from seed,
// without the inversions the standard library applies on the way in and
// out. msgr1 seeds its crcs with 0, msgr2's segments and the maps with
// 0xffffffff; a crc goes on over more bytes by seeding with the last.
func CRC32C(seed uint32, p []byte) uint32 {
	if canFold && len(p) >= foldBlock {
		n := len(p) &^ (foldBlock - 1)
		seed, p = foldAVX512(seed, p[:n]), p[n:]
	}
	return ^crc32.Update(^seed, castagnoli, p)
}
