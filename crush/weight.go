package crush

import (
	"errors"
	"fmt"
)

// ErrUnsupported reports an edit this package does not implement.
var ErrUnsupported = errors.New("crush: unsupported")

// itemWeightIn returns the weight of the item at position i of b
// (crush_get_bucket_item_weight).
func itemWeightIn(b *Bucket, i int) uint32 {
	switch b.Alg {
	case AlgUniform:
		return b.ItemWeight
	case AlgList, AlgStraw, AlgStraw2:
		return b.ItemWeights[i]
	case AlgTree:
		if n := ((i + 1) << 1) - 1; n < len(b.NodeWeights) {
			return b.NodeWeights[n]
		}
	}
	return 0
}

// ItemWeight returns the 16.16 weight of item id in the first bucket (by
// index) that holds it, or the bucket's own weight if id is a bucket, as
// CrushWrapper::get_item_weight does. ok is false if id is nowhere.
func (m *Map) ItemWeight(id int32) (w int32, ok bool) {
	for _, b := range m.Buckets {
		if b == nil {
			continue
		}
		if b.ID == id {
			return int32(b.Weight), true
		}
		for i, it := range b.Items {
			if it == id {
				return int32(itemWeightIn(b, i)), true
			}
		}
	}
	return 0, false
}

// AdjustItemWeight sets item id's weight in every bucket holding it and
// propagates the new bucket weights to their parents
// (CrushWrapper::adjust_item_weight). Only straw2 buckets without
// choose_args are supported; other cases return ErrUnsupported and leave m
// unchanged.
func (m *Map) AdjustItemWeight(id int32, weight uint32) error {
	if len(m.ChooseArgs) > 0 {
		return fmt.Errorf("%w: adjusting weights with choose_args", ErrUnsupported)
	}
	var check func(id int32, depth int) error
	check = func(id int32, depth int) error {
		if depth > len(m.Buckets)+1 {
			return fmt.Errorf("%w: crush hierarchy has a cycle", ErrUnsupported)
		}
		for _, b := range m.Buckets {
			if b == nil {
				continue
			}
			for _, it := range b.Items {
				if it == id {
					if b.Alg != AlgStraw2 {
						return fmt.Errorf("%w: adjusting weights in bucket alg %d", ErrUnsupported, b.Alg)
					}
					if err := check(b.ID, depth+1); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := check(id, 0); err != nil {
		return err
	}
	m.adjust(id, weight)
	return nil
}

func (m *Map) adjust(id int32, weight uint32) {
	for _, b := range m.Buckets {
		if b == nil {
			continue
		}
		for i, it := range b.Items {
			if it == id {
				diff := weight - b.ItemWeights[i]
				b.ItemWeights[i] = weight
				b.Weight += diff
				m.adjust(b.ID, b.Weight)
			}
		}
	}
}

// MaxTries returns the largest retry count the map's tunables or rule
// steps ask for. Mapping cost grows with it (in Ceph as here), so callers
// handling untrusted maps can refuse absurd values before mapping.
func (m *Map) MaxTries() uint32 {
	t := m.ChooseTotalTries
	if m.ChooseLocalTries > t {
		t = m.ChooseLocalTries
	}
	if m.ChooseLocalFallbackTries > t {
		t = m.ChooseLocalFallbackTries
	}
	for _, r := range m.Rules {
		if r == nil {
			continue
		}
		for _, s := range r.Steps {
			if s.Op >= OpSetChooseTries && s.Op <= OpSetChooseLocalFallback && s.Arg1 > 0 && uint32(s.Arg1) > t {
				t = uint32(s.Arg1)
			}
		}
	}
	return t
}

// MaxBucketSize returns the number of items in the largest bucket; mapping
// cost grows with its square when local fallback retries are enabled.
func (m *Map) MaxBucketSize() int {
	n := 0
	for _, b := range m.Buckets {
		if b != nil && len(b.Items) > n {
			n = len(b.Items)
		}
	}
	return n
}
