package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"testing"
)

// TestCipherCryptoCipher: records sealed by a Cipher, short and long (the
// AVX-512 kernels from 256 bytes on), are crypto/cipher's AES-128-GCM
// under Ceph's nonce sequence; the other end opens them in place, peeks
// the preamble of v2.0 records before opening them, and refuses a
// changed record with ErrAuthTag.
func TestCipherCryptoCipher(t *testing.T) {
	block, err := aes.NewCipher(testSecret[:keySize])
	if err != nil {
		t.Fatal(err)
	}
	std, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{0, PreambleSize, 255, 256, 4096 + 17, 1<<20 + 5, 4 << 20}
	for _, rev1 := range []bool{true, false} {
		_, tx, _ := NewSecure(testSecret, RoleClient, rev1)
		rx, _, _ := NewSecure(testSecret, RoleServer, rev1)
		var nonce [nonceSize]byte
		copy(nonce[:], testSecret[keySize+nonceSize:]) // the client sends with the second
		for i, n := range sizes {
			plain := fill(n, byte(i))
			rec := make([]byte, n+TagSize)
			copy(rec, plain)
			if err := tx.seal(rec, n); err != nil {
				t.Fatal(err)
			}
			if want := std.Seal(nil, nonce[:], plain, nil); !bytes.Equal(rec, want) {
				t.Fatalf("rev1=%v record %d (%d bytes) differs from crypto/cipher", rev1, i, n)
			}
			if rev1 {
				binary.LittleEndian.PutUint64(nonce[4:], binary.LittleEndian.Uint64(nonce[4:])+1)
			} else {
				binary.LittleEndian.PutUint32(nonce[:4], binary.LittleEndian.Uint32(nonce[:4])+1)
			}
			if !rev1 && n >= PreambleSize {
				var pre [PreambleSize]byte
				rx.peekPreamble(pre[:], rec)
				if !bytes.Equal(pre[:], plain[:PreambleSize]) {
					t.Fatalf("record %d: peeked preamble %x", i, pre)
				}
			}
			bad := bytes.Clone(rec)
			bad[len(bad)/2] ^= 4
			probe := *rx // the same nonce for the changed record as for the real one
			if err := probe.open(bad); !errors.Is(err, ErrAuthTag) {
				t.Fatalf("record %d changed: %v, want ErrAuthTag", i, err)
			}
			if err := rx.open(rec); err != nil {
				t.Fatalf("rev1=%v record %d: %v", rev1, i, err)
			}
			if !bytes.Equal(rec[:n], plain) {
				t.Fatalf("rev1=%v record %d: opened to other bytes", rev1, i)
			}
		}
	}
}
