package osdmap

import (
	"github.com/gomsgr/msgr/crush"
)

// buildMap builds, without Ceph's tools, a map of hosts*perHost OSDs, all
// up and in, in straw2 hosts under one straw2 root with jewel tunables.
// Pool 1 is replicated (size 3, rule 0: chooseleaf firstn host); pool 2 is
// erasure (size 4, rule 1: chooseleaf indep host).
func buildMap(hosts, perHost int, pgNum uint32) *OSDMap {
	n := hosts * perHost
	cm := &crush.Map{
		MaxDevices: int32(n),
		Tunables: crush.Tunables{ChooseTotalTries: 50, ChooseLeafDescendOnce: 1, ChooseLeafVaryR: 1,
			ChooseLeafStable: 1, StrawCalcVersion: 1, AllowedBucketAlgs: 54},
	}
	root := &crush.Bucket{ID: -1, Type: 10, Alg: crush.AlgStraw2}
	cm.Buckets = append(cm.Buckets, root)
	for h := 0; h < hosts; h++ {
		b := &crush.Bucket{ID: int32(-2 - h), Type: 1, Alg: crush.AlgStraw2}
		for i := 0; i < perHost; i++ {
			b.Items = append(b.Items, int32(h*perHost+i))
			b.ItemWeights = append(b.ItemWeights, 0x10000)
			b.Weight += 0x10000
		}
		cm.Buckets = append(cm.Buckets, b)
		root.Items = append(root.Items, b.ID)
		root.ItemWeights = append(root.ItemWeights, b.Weight)
		root.Weight += b.Weight
	}
	cm.Rules = []*crush.Rule{
		{Ruleset: 0, Type: PoolTypeReplicated, MinSize: 1, MaxSize: 10, Steps: []crush.Step{
			{Op: crush.OpTake, Arg1: -1}, {Op: crush.OpChooseLeafFirstN, Arg1: 0, Arg2: 1}, {Op: crush.OpEmit}}},
		{Ruleset: 1, Type: PoolTypeErasure, MinSize: 3, MaxSize: 6, Steps: []crush.Step{
			{Op: crush.OpSetChooseLeafTries, Arg1: 5}, {Op: crush.OpSetChooseTries, Arg1: 100},
			{Op: crush.OpTake, Arg1: -1}, {Op: crush.OpChooseLeafIndep, Arg1: 0, Arg2: 1}, {Op: crush.OpEmit}}},
	}
	m := &OSDMap{Epoch: 1, Crush: cm, PGTemp: map[PG][]int32{}, PrimaryTemp: map[PG]int32{},
		PGUpmap: map[PG][]int32{}, PGUpmapItems: map[PG][][2]int32{}}
	m.setMaxOSD(int32(n))
	for i := 0; i < n; i++ {
		m.OSDState[i] = StateExists | StateUp
		m.OSDWeight[i] = WeightIn
	}
	m.Pools = map[int64]*Pool{
		1: {ID: 1, Name: "rep", Type: PoolTypeReplicated, Size: 3, MinSize: 2, CrushRule: 0, ObjectHash: HashRjenkins,
			PGNum: pgNum, PGPNum: pgNum, Flags: PoolFlagHashPSPool},
		2: {ID: 2, Name: "ec", Type: PoolTypeErasure, Size: 4, MinSize: 3, CrushRule: 1, ObjectHash: HashRjenkins,
			PGNum: pgNum, PGPNum: pgNum, Flags: PoolFlagHashPSPool},
	}
	for _, p := range m.Pools {
		p.calcMasks()
	}
	return m
}
