package rados

import (
	"os"
	"testing"

	"github.com/gomsgr/msgr/messages"
)

func TestMapFeedFullMaps(t *testing.T) {
	b, err := os.ReadFile("../osdc/osdctest/osdmap.bin") // the captured cluster's map, epoch 8
	if err != nil {
		t.Fatal(err)
	}
	var f mapFeed
	// Incrementals with no full map under them make nothing yet.
	if m, err := f.add(&messages.MOSDMap{IncrementalMaps: map[uint32][]byte{9: {1}}}); m != nil || err != nil {
		t.Fatalf("incremental alone: %v %v", m, err)
	}
	m, err := f.add(&messages.MOSDMap{Maps: map[uint32][]byte{8: b}})
	if err != nil || m == nil || m.Epoch != 8 || m.PoolByName("vec") == nil {
		t.Fatalf("full map: %v %v", m, err)
	}
	// The same epoch again brings nothing.
	if m, err := f.add(&messages.MOSDMap{Maps: map[uint32][]byte{8: b}}); m != nil || err != nil {
		t.Fatalf("same epoch: %v %v", m, err)
	}
	// A gap (epoch 10 after 8) is not applied.
	if m, err := f.add(&messages.MOSDMap{IncrementalMaps: map[uint32][]byte{10: {1}}}); m != nil || err != nil {
		t.Fatalf("gap: %v %v", m, err)
	}
	// A corrupt incremental is an error and leaves the feed as it was.
	if _, err := f.add(&messages.MOSDMap{IncrementalMaps: map[uint32][]byte{9: {1, 2, 3}}}); err == nil {
		t.Fatal("corrupt incremental accepted")
	}
	if f.epoch != 8 || len(f.incs) != 0 {
		t.Fatalf("feed moved to %d with %d incrementals", f.epoch, len(f.incs))
	}
}
