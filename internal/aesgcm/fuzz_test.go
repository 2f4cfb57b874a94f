package aesgcm

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzSealOpen: Seal and Stream equal crypto/cipher's, Open and Stream
// undo them, and Open of any other bytes agrees with crypto/cipher's Open.
func FuzzSealOpen(f *testing.F) {
	f.Add(make([]byte, KeySize), make([]byte, NonceSize), []byte("hello"), []byte{}, uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, KeySize), bytes.Repeat([]byte{1}, NonceSize), make([]byte, 300), []byte("ad"), uint16(77))
	f.Add(bytes.Repeat([]byte{7}, KeySize), bytes.Repeat([]byte{9}, NonceSize), make([]byte, 4096+17), []byte{}, uint16(1000))
	f.Fuzz(func(t *testing.T, keyIn, nonceIn, pt, ad []byte, flip uint16) {
		key, nonce := make([]byte, KeySize), make([]byte, NonceSize)
		copy(key, keyIn)
		copy(nonce, nonceIn)
		g, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		std := stdGCM(t, key)
		want := std.Seal(nil, nonce, pt, ad)
		got := g.Seal(nil, nonce, pt, ad)
		if !bytes.Equal(got, want) {
			t.Fatalf("Seal of %d bytes differs from crypto/cipher", len(pt))
		}
		// The same record through a Stream, in pieces of a fuzzed size.
		var st Stream
		st.InitSeal(g, nonce, ad)
		piece := 1 + int(flip)%300
		streamed := make([]byte, len(pt))
		for off := 0; off < len(pt); off += piece {
			end := min(off+piece, len(pt))
			st.Update(streamed[off:end], pt[off:end])
		}
		if streamed = st.Tag(streamed); !bytes.Equal(streamed, want) {
			t.Fatalf("Stream of %d bytes in %d-byte pieces differs from crypto/cipher", len(pt), piece)
		}
		st.InitOpen(g, nonce, ad)
		for off := 0; off < len(pt); off += piece {
			end := min(off+piece, len(pt))
			st.Update(streamed[off:end], streamed[off:end])
		}
		if err := st.Verify(streamed[len(pt):]); err != nil || !bytes.Equal(streamed[:len(pt)], pt) {
			t.Fatalf("Stream open of %d bytes in %d-byte pieces: %v", len(pt), piece, err)
		}
		opened, err := g.Open(got[:0], nonce, got, ad)
		if err != nil || !bytes.Equal(opened, pt) {
			t.Fatalf("Open of Seal: %v", err)
		}
		bad := std.Seal(nil, nonce, pt, ad)
		bad[int(flip)%len(bad)] ^= byte(flip>>8) | 1
		_, stdErr := std.Open(nil, nonce, bad, ad)
		_, err = g.Open(nil, nonce, bad, ad)
		if (stdErr == nil) != (err == nil) || (err != nil && !errors.Is(err, ErrOpen)) {
			t.Fatalf("Open of a changed record: %v, crypto/cipher %v", err, stdErr)
		}
	})
}
