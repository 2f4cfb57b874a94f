package rados

import (
	"fmt"
	"sync"

	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// mapFeed turns the monitors' MOSDMap messages into whole OSDMaps for the
// Objecter. An osdmap.OSDMap is read-only once handed out (the Objecter
// and callers read it without locks) while Apply mutates a map, so each
// new epoch is built afresh: the newest full map decoded again and the
// incrementals since applied in order. The cost grows with the number of
// incrementals since the last full map; the monitors send a full map
// whenever a client falls far behind.
type mapFeed struct {
	mu    sync.Mutex
	full  []byte   // newest full map
	incs  [][]byte // incrementals after it, epochs full+1, full+2, ...
	epoch uint32   // of the newest map built
}

// add takes what m carries and returns the newest map it makes, or nil if
// it brings nothing newer (or nothing usable yet: incrementals with no full
// map under them, or with a gap).
func (f *mapFeed) add(m *messages.MOSDMap) (*osdmap.OSDMap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var best uint32
	for e := range m.Maps {
		if e > f.epoch && e > best {
			best = e
		}
	}
	full, incs, epoch := f.full, f.incs, f.epoch
	if best > 0 {
		full, incs, epoch = m.Maps[best], nil, best
	}
	if full == nil {
		return nil, nil
	}
	for e := epoch + 1; ; e++ {
		b, ok := m.IncrementalMaps[e]
		if !ok {
			break
		}
		incs = append(incs, b)
		epoch = e
	}
	if epoch == f.epoch {
		return nil, nil
	}
	om, err := osdmap.Decode(full)
	if err != nil {
		return nil, fmt.Errorf("rados: osdmap: %w", err)
	}
	for _, b := range incs {
		inc, err := osdmap.DecodeIncremental(b)
		if err != nil {
			return nil, fmt.Errorf("rados: osdmap incremental: %w", err)
		}
		if err := om.Apply(inc); err != nil {
			return nil, fmt.Errorf("rados: osdmap incremental %d: %w", inc.Epoch, err)
		}
	}
	if om.Epoch != epoch {
		return nil, fmt.Errorf("rados: osdmap epoch %d built, %d expected", om.Epoch, epoch)
	}
	f.full, f.incs, f.epoch = full, incs, epoch
	return om, nil
}
