package encoding

import "testing"

// Ceph's own vectors (src/test/common/test_crc32c.cc), a seed of
// 0xffffffff (the standard CRC-32C before its final inversion), and a crc
// carried on over two pieces.
func TestCRC32C(t *testing.T) {
	for _, tc := range []struct {
		seed uint32
		in   string
		want uint32
	}{
		{0, "foo bar baz", 4119623852},
		{1234, "foo bar baz", 881700046},
		{0, "whiz bang boom", 2360230088},
		{5678, "whiz bang boom", 3743019208},
		{0xffffffff, "123456789", ^uint32(0xe3069283)},
		{0, "", 0},
		{7, "", 7},
	} {
		if got := CRC32C(tc.seed, []byte(tc.in)); got != tc.want {
			t.Errorf("CRC32C(%d, %q) = %d, want %d", tc.seed, tc.in, got, tc.want)
		}
	}
	if a, b := CRC32C(CRC32C(5, []byte("foo ")), []byte("bar baz")), CRC32C(5, []byte("foo bar baz")); a != b {
		t.Errorf("carried on %#x, at once %#x", a, b)
	}
}
