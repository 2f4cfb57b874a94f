package encoding

// CRC-32C by carry-less multiplication (as Ceph's crc32c_intel_fast and
// ISA-L's crc32_iscsi do on x86): where the CPU has it (canFold), the
// bulk of a buffer is folded 256 bytes at a time into 64 bytes whose
// crc is the bulk's, several times faster than the crc32 instruction the
// standard library uses; the rest goes through the standard library. The fold constants, per 16-byte lane: a lane L moved F bits
// further on is congruent, mod the polynomial P, to L.lo*x^(F+64) +
// L.hi*x^F, which a carry-less product of the bit-reflected qwords with
// x^(F+63) mod P and x^(F-1) mod P (bit-reflected to the top of a qword)
// gives; TestFoldConstants computes them.

// foldBlock is how many bytes the kernel takes at a time; folding pays
// from one block on (BenchmarkCRC32C: 256 bytes 14 ns against 26).
const foldBlock = 256
