package cephx

import (
	"encoding/binary"
	"os"
	"testing"
)

// Frame tags used by the tests.
const (
	tagHello           = 1
	tagAuthRequest     = 2
	tagAuthBadMethod   = 3
	tagAuthReplyMore   = 4
	tagAuthRequestMore = 5
	tagAuthDone        = 6
	tagAuthSignature   = 7
)

// testFrame is one msgr2.1 frame: tag, segments, and the stream offset
// just past it.
type testFrame struct {
	tag  byte
	segs [][]byte
	end  int
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// walkPlain splits the plain (pre-encryption, or crc-mode) frames of a
// msgr2.1 stream, stopping at the first frame it cannot take whole or, when
// stopAfterDone, right after AUTH_DONE (a secure stream is encrypted from
// there on). It returns the frames and the offset where it stopped. It is
// a test helper: crcs are not checked here.
func walkPlain(t testing.TB, s []byte, stopAfter byte) ([]testFrame, int) {
	t.Helper()
	if len(s) < 10 || string(s[:8]) != "ceph v2\n" {
		t.Fatal("no banner")
	}
	off := 10 + int(binary.LittleEndian.Uint16(s[8:10]))
	var fs []testFrame
	for off+32 <= len(s) {
		p := s[off : off+32]
		n := int(p[1])
		var lens []int
		total := 0
		for i := 0; i < n && i < 4; i++ {
			l := int(binary.LittleEndian.Uint32(p[2+6*i:]))
			lens = append(lens, l)
			total += l
		}
		size := 32 + total + 4
		if n > 1 {
			size += 13
		}
		if off+size > len(s) {
			break
		}
		f := testFrame{tag: p[0]}
		q := off + 32
		for i, l := range lens {
			f.segs = append(f.segs, s[q:q+l])
			q += l
			if i == 0 {
				q += 4
			}
		}
		off += size
		f.end = off
		fs = append(fs, f)
		if stopAfter != 0 && f.tag == stopAfter {
			break
		}
	}
	return fs, off
}

func frameByTag(t testing.TB, fs []testFrame, tag byte) testFrame {
	t.Helper()
	for _, f := range fs {
		if f.tag == tag {
			return f
		}
	}
	t.Fatalf("no frame with tag %d", tag)
	return testFrame{}
}
