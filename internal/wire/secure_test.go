package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"math/rand/v2"
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

// TestSealSegments: a record sealed from its segments where they are is
// the record of the segments copied, padded and sealed, whatever their
// lengths (around blocks and the kernels' 256-byte rounds) and however
// many there are.
func TestSealSegments(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	lengths := []int{0, 1, 15, 16, 17, 200, 255, 256, 257, 4000, 65536 + 5}
	_, tx, _ := NewSecure(testSecret, RoleClient, true)
	_, ref, _ := NewSecure(testSecret, RoleClient, true)
	for round := range 200 {
		head := []int{0, PreambleSize}[round%2]
		segs := make([][]byte, 1+rng.IntN(4))
		for i := range segs {
			segs[i] = fill(lengths[rng.IntN(len(lengths))], byte(round+i))
		}
		from, to := rng.IntN(2), len(segs)+rng.IntN(2) // past len(segs): empty
		epi := [epilogueSecure]byte{lateStatusComplete}
		var plain []byte
		plain = append(plain, fill(head, 99)...)
		for i := from; i < to; i++ {
			if i < len(segs) {
				plain = append(plain, segs[i]...)
			}
			plain = append(plain, make([]byte, int(pad16(uint64(len(plain))))-len(plain))...)
		}
		plain = append(plain, epi[:]...)
		want := make([]byte, len(plain)+TagSize)
		copy(want, plain)
		if err := ref.seal(want, len(plain)); err != nil {
			t.Fatal(err)
		}
		rec := make([]byte, len(want))
		copy(rec, fill(head, 99))
		if err := tx.sealSegments(rec, head, segs, from, to, epi[:]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec, want) {
			t.Fatalf("round %d: head %d, segments %d..%d of %d: record differs", round, head, from, to, len(segs))
		}
	}
}
