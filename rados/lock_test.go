package rados

import (
	"os"
	"testing"
)

// testdata/lock_get_info.bin: lock.get_info's output from a Pacific OSD
// for a shared lock "lk" (tag "tag1") held by client.4346 with cookie
// "c1", description "d1", for an hour.
func TestDecodeLockInfo(t *testing.T) {
	b, err := os.ReadFile("testdata/lock_get_info.bin")
	if err != nil {
		t.Fatal(err)
	}
	li, err := decodeLockInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if li.NumLockers != 1 || li.Exclusive || li.Tag != "tag1" || li.Clients[0] != "client.4346" || li.Cookies[0] != "c1" || li.Addrs[0] != "127.0.0.1:0/3863492040" {
		t.Fatalf("%+v", li)
	}
	for n := range len(b) {
		if _, err := decodeLockInfo(b[:n]); err == nil {
			t.Fatalf("%d of %d bytes decoded", n, len(b))
		}
	}
}

func FuzzDecodeLockInfo(f *testing.F) {
	b, err := os.ReadFile("testdata/lock_get_info.bin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, p []byte) { decodeLockInfo(p) })
}
