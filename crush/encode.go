package crush

import (
	"slices"

	"github.com/gomsgr/msgr/encoding"
)

// Append appends m encoded as Pacific's CrushWrapper::encode writes it for
// a Luminous or later peer: buckets, rules, the name maps, every tunable,
// device classes and choose_args. Decoding the result gives m back.
func (m *Map) Append(b []byte) []byte {
	b = encoding.AppendU32(b, Magic)
	b = encoding.AppendI32(b, int32(len(m.Buckets)))
	b = encoding.AppendU32(b, uint32(len(m.Rules)))
	b = encoding.AppendI32(b, m.MaxDevices)
	for _, bk := range m.Buckets {
		b = appendBucket(b, bk)
	}
	for _, r := range m.Rules {
		if r == nil {
			b = encoding.AppendU32(b, 0)
			continue
		}
		b = encoding.AppendU32(b, 1)
		b = encoding.AppendU32(b, uint32(len(r.Steps)))
		b = append(b, r.Ruleset, r.Type, r.MinSize, r.MaxSize)
		for _, s := range r.Steps {
			b = encoding.AppendU32(b, s.Op)
			b = encoding.AppendI32(b, s.Arg1)
			b = encoding.AppendI32(b, s.Arg2)
		}
	}
	b = appendI32StringMap(b, m.TypeNames)
	b = appendI32StringMap(b, m.Names)
	b = appendI32StringMap(b, m.RuleNames)
	t := m.Tunables
	b = encoding.AppendU32(b, t.ChooseLocalTries)
	b = encoding.AppendU32(b, t.ChooseLocalFallbackTries)
	b = encoding.AppendU32(b, t.ChooseTotalTries)
	b = encoding.AppendU32(b, t.ChooseLeafDescendOnce)
	b = append(b, t.ChooseLeafVaryR, t.StrawCalcVersion)
	b = encoding.AppendU32(b, t.AllowedBucketAlgs)
	b = append(b, t.ChooseLeafStable)
	b = appendI32I32Map(b, m.ClassMap)
	b = appendI32StringMap(b, m.ClassNames)
	b = encoding.AppendMap(b, m.ClassBuckets, encoding.AppendI32, appendI32I32Map)
	b = m.appendChooseArgs(b)
	if m.MSRDescents != 0 || m.MSRCollisionTries != 0 {
		// Squid's msr tunables; Pacific maps end before them.
		b = encoding.AppendU32(b, m.MSRDescents)
		b = encoding.AppendU32(b, m.MSRCollisionTries)
	}
	return b
}

func appendBucket(b []byte, bk *Bucket) []byte {
	if bk == nil {
		return encoding.AppendU32(b, 0)
	}
	b = encoding.AppendU32(b, uint32(bk.Alg))
	b = encoding.AppendI32(b, bk.ID)
	b = encoding.AppendU16(b, bk.Type)
	b = append(b, bk.Alg, bk.Hash)
	b = encoding.AppendU32(b, bk.Weight)
	b = encoding.AppendU32(b, uint32(len(bk.Items)))
	for _, it := range bk.Items {
		b = encoding.AppendI32(b, it)
	}
	switch bk.Alg {
	case AlgUniform:
		b = encoding.AppendU32(b, bk.ItemWeight)
	case AlgList:
		for i := range bk.Items {
			b = encoding.AppendU32(b, bk.ItemWeights[i])
			b = encoding.AppendU32(b, bk.SumWeights[i])
		}
	case AlgTree:
		b = append(b, uint8(len(bk.NodeWeights)))
		for _, w := range bk.NodeWeights {
			b = encoding.AppendU32(b, w)
		}
	case AlgStraw:
		for i := range bk.Items {
			b = encoding.AppendU32(b, bk.ItemWeights[i])
			b = encoding.AppendU32(b, bk.Straws[i])
		}
	case AlgStraw2:
		for i := range bk.Items {
			b = encoding.AppendU32(b, bk.ItemWeights[i])
		}
	}
	return b
}

func appendI32StringMap(b []byte, m map[int32]string) []byte {
	return encoding.AppendMap(b, m, encoding.AppendI32, encoding.AppendString)
}

func appendI32I32Map(b []byte, m map[int32]int32) []byte {
	return encoding.AppendMap(b, m, encoding.AppendI32, encoding.AppendI32)
}

// appendChooseArgs writes choose_args as Ceph does: buckets whose argument
// is empty are left out.
func (m *Map) appendChooseArgs(b []byte) []byte {
	keys := make([]int64, 0, len(m.ChooseArgs))
	for k := range m.ChooseArgs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = encoding.AppendU32(b, uint32(len(keys)))
	for _, k := range keys {
		b = encoding.AppendI64(b, k)
		args := m.ChooseArgs[k]
		idx := make([]int, 0, len(args))
		for i, a := range args {
			if len(a.WeightSet) > 0 || len(a.IDs) > 0 {
				idx = append(idx, i)
			}
		}
		slices.Sort(idx)
		b = encoding.AppendU32(b, uint32(len(idx)))
		for _, i := range idx {
			a := args[i]
			b = encoding.AppendU32(b, uint32(i))
			b = encoding.AppendU32(b, uint32(len(a.WeightSet)))
			for _, ws := range a.WeightSet {
				b = encoding.AppendSlice(b, ws, encoding.AppendU32)
			}
			b = encoding.AppendSlice(b, a.IDs, encoding.AppendI32)
		}
	}
	return b
}
