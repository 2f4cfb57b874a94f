package crush

import (
	"math"
	"sync"
)

// workBucket is the per-call permutation state of one bucket
// (struct crush_work_bucket).
type workBucket struct {
	gen   uint64
	permX uint32
	permN uint32
	perm  []uint32
}

// work is the scratch space of one DoRule call. Ceph initialises it per
// call, so no permutation state crosses calls; a generation counter stands
// in for re-initialising every bucket.
type work struct {
	gen     uint64
	buckets []workBucket
	a, b, c []int32
}

var workPool = sync.Pool{New: func() any { return &work{gen: 1} }}

func (w *work) bucket(idx int, size int) *workBucket {
	if idx >= len(w.buckets) {
		nb := make([]workBucket, idx+1)
		copy(nb, w.buckets)
		w.buckets = nb
	}
	wb := &w.buckets[idx]
	if wb.gen != w.gen {
		wb.gen, wb.permX, wb.permN = w.gen, 0, 0
	}
	if cap(wb.perm) < size {
		wb.perm = make([]uint32, size)
	}
	wb.perm = wb.perm[:size]
	return wb
}

func (w *work) reset() { w.gen++ }

type mapper struct {
	m       *Map
	w       *work
	weights []uint32
	args    ChooseArgs
}

func (c *mapper) permChoose(b *Bucket, x, r int) int32 {
	size := uint32(len(b.Items))
	wb := c.w.bucket(int(-1-b.ID), int(size))
	pr := uint32(r) % size
	var s uint32
	if wb.permX != uint32(x) || wb.permN == 0 {
		wb.permX = uint32(x)
		if pr == 0 {
			s = hash3(b.Hash, uint32(x), uint32(b.ID), 0) % size
			wb.perm[0] = s
			wb.permN = 0xffff
			return b.Items[s]
		}
		for i := uint32(0); i < size; i++ {
			wb.perm[i] = i
		}
		wb.permN = 0
	} else if wb.permN == 0xffff {
		for i := uint32(1); i < size; i++ {
			wb.perm[i] = i
		}
		wb.perm[wb.perm[0]] = 0
		wb.permN = 1
	}
	for wb.permN <= pr {
		p := wb.permN
		if p < size-1 {
			i := hash3(b.Hash, uint32(x), uint32(b.ID), p) % (size - p)
			if i != 0 {
				wb.perm[p+i], wb.perm[p] = wb.perm[p], wb.perm[p+i]
			}
		}
		wb.permN++
	}
	s = wb.perm[pr]
	return b.Items[s]
}

func listChoose(b *Bucket, x, r int) int32 {
	for i := len(b.Items) - 1; i >= 0; i-- {
		w := uint64(hash4(b.Hash, uint32(x), uint32(b.Items[i]), uint32(r), uint32(b.ID)))
		w &= 0xffff
		w *= uint64(b.SumWeights[i])
		w >>= 16
		if w < uint64(b.ItemWeights[i]) {
			return b.Items[i]
		}
	}
	return b.Items[0]
}

func treeHeight(n int) int {
	h := 0
	for n&1 == 0 {
		h++
		n >>= 1
	}
	return h
}

func treeChoose(b *Bucket, x, r int) int32 {
	nodes := b.NodeWeights
	n := len(nodes) >> 1
	for n&1 == 0 {
		if n == 0 || n >= len(nodes) {
			return b.Items[0] // malformed tree; Ceph would misbehave here
		}
		w := uint64(nodes[n])
		t := (uint64(hash4(b.Hash, uint32(x), uint32(n), uint32(r), uint32(b.ID))) * w) >> 32
		h := treeHeight(n)
		l := n - (1 << (h - 1))
		if l >= 0 && l < len(nodes) && t < uint64(nodes[l]) {
			n = l
		} else {
			n += 1 << (h - 1)
		}
	}
	if n>>1 >= len(b.Items) {
		return b.Items[0]
	}
	return b.Items[n>>1]
}

func strawChoose(b *Bucket, x, r int) int32 {
	high := 0
	var highDraw uint64
	for i, it := range b.Items {
		draw := uint64(hash3(b.Hash, uint32(x), uint32(it), uint32(r)) & 0xffff)
		draw *= uint64(b.Straws[i])
		if i == 0 || draw > highDraw {
			high, highDraw = i, draw
		}
	}
	return b.Items[high]
}

func straw2Choose(b *Bucket, x, r int, arg *ChooseArg, position int) int32 {
	weights := b.ItemWeights
	ids := b.Items
	if arg != nil {
		if len(arg.WeightSet) > 0 {
			if position >= len(arg.WeightSet) {
				position = len(arg.WeightSet) - 1
			}
			weights = arg.WeightSet[position]
		}
		if len(arg.IDs) > 0 {
			ids = arg.IDs
		}
	}
	high := 0
	var highDraw int64
	for i := range b.Items {
		var draw int64
		if w := weights[i]; w != 0 {
			u := hash3(b.Hash, uint32(x), uint32(ids[i]), uint32(r)) & 0xffff
			ln := int64(crushLn(u)) - 0x1000000000000
			draw = ln / int64(w)
		} else {
			draw = math.MinInt64
		}
		if i == 0 || draw > highDraw {
			high, highDraw = i, draw
		}
	}
	return b.Items[high]
}

func (c *mapper) bucketChoose(b *Bucket, x, r int, position int) int32 {
	switch b.Alg {
	case AlgUniform:
		return c.permChoose(b, x, r)
	case AlgList:
		return listChoose(b, x, r)
	case AlgTree:
		return treeChoose(b, x, r)
	case AlgStraw:
		return strawChoose(b, x, r)
	case AlgStraw2:
		if c.args != nil {
			if a, ok := c.args[int(-1-b.ID)]; ok {
				return straw2Choose(b, x, r, &a, position)
			}
		}
		return straw2Choose(b, x, r, nil, position)
	}
	return b.Items[0]
}

func (c *mapper) isOut(item int32, x int) bool {
	if int(item) >= len(c.weights) {
		return true
	}
	w := c.weights[item]
	if w >= 0x10000 {
		return false
	}
	if w == 0 {
		return true
	}
	return Hash32_2(uint32(x), uint32(item))&0xffff >= w
}

// itemType returns the type of item and whether it is a usable bucket
// reference; devices are type 0.
func (c *mapper) itemType(item int32) (int, *Bucket) {
	if item >= 0 {
		return 0, nil
	}
	b := c.m.Bucket(item)
	if b == nil {
		return -1, nil
	}
	return int(b.Type), b
}

func (c *mapper) chooseFirstN(bucket *Bucket, x, numrep, typ int, out []int32, outpos, outSize int,
	tries, recurseTries, localRetries, localFallbackRetries uint, recurseToLeaf bool,
	varyR, stable uint, out2 []int32, parentR int) int {
	count := outSize
	rep := outpos
	if stable != 0 {
		rep = 0
	}
	var item int32
	for ; rep < numrep && count > 0; rep++ {
		ftotal := uint(0)
		skipRep := false
		for {
			retryDescent := false
			in := bucket
			flocal := uint(0)
			descents := 0
			for {
				collide := false
				retryBucket := false
				r := rep + parentR + int(ftotal)
				reject := false
				if len(in.Items) == 0 {
					reject = true
				} else {
					if localFallbackRetries > 0 && flocal >= uint(len(in.Items)>>1) && flocal > localFallbackRetries {
						item = c.permChoose(in, x, r)
					} else {
						item = c.bucketChoose(in, x, r, outpos)
					}
					if item >= c.m.MaxDevices {
						skipRep = true
						break
					}
					itemtype, ib := c.itemType(item)
					if itemtype < 0 {
						skipRep = true
						break
					}
					if itemtype != typ {
						// A cycle in a malformed hierarchy would descend
						// forever; treat it as a bad item.
						if descents++; ib == nil || descents > len(c.m.Buckets) {
							skipRep = true
							break
						}
						in = ib
						continue
					}
					for i := 0; i < outpos; i++ {
						if out[i] == item {
							collide = true
							break
						}
					}
					if !collide && recurseToLeaf {
						if item < 0 {
							subR := 0
							if varyR != 0 {
								subR = r >> (varyR - 1)
							}
							n := outpos + 1
							if stable != 0 {
								n = 1
							}
							if c.chooseFirstN(ib, x, n, 0, out2, outpos, count, recurseTries, 0,
								localRetries, localFallbackRetries, false, varyR, stable, nil, subR) <= outpos {
								reject = true
							}
						} else {
							out2[outpos] = item
						}
					}
					if !reject && !collide && itemtype == 0 {
						reject = c.isOut(item, x)
					}
				}
				if reject || collide {
					ftotal++
					flocal++
					if collide && flocal <= localRetries {
						retryBucket = true
					} else if localFallbackRetries > 0 && flocal <= uint(len(in.Items))+localFallbackRetries {
						retryBucket = true
					} else if ftotal < tries {
						retryDescent = true
					} else {
						skipRep = true
					}
				}
				if !retryBucket {
					break
				}
			}
			if !retryDescent || skipRep {
				break
			}
		}
		if skipRep {
			continue
		}
		out[outpos] = item
		outpos++
		count--
	}
	return outpos
}

func (c *mapper) chooseIndep(bucket *Bucket, x, left, numrep, typ int, out []int32, outpos int,
	tries, recurseTries uint, recurseToLeaf bool, out2 []int32, parentR int) {
	endpos := outpos + left
	for rep := outpos; rep < endpos; rep++ {
		out[rep] = itemUndef
		if out2 != nil {
			out2[rep] = itemUndef
		}
	}
	for ftotal := uint(0); left > 0 && ftotal < tries; ftotal++ {
		for rep := outpos; rep < endpos; rep++ {
			if out[rep] != itemUndef {
				continue
			}
			in := bucket
			descents := 0
			for {
				r := rep + parentR
				if in.Alg == AlgUniform && len(in.Items)%numrep == 0 {
					r += (numrep + 1) * int(ftotal)
				} else {
					r += numrep * int(ftotal)
				}
				if len(in.Items) == 0 {
					break
				}
				item := c.bucketChoose(in, x, r, outpos)
				if item >= c.m.MaxDevices {
					out[rep] = ItemNone
					if out2 != nil {
						out2[rep] = ItemNone
					}
					left--
					break
				}
				itemtype, ib := c.itemType(item)
				if itemtype != typ {
					if descents++; item >= 0 || ib == nil || descents > len(c.m.Buckets) {
						out[rep] = ItemNone
						if out2 != nil {
							out2[rep] = ItemNone
						}
						left--
						break
					}
					in = ib
					continue
				}
				collide := false
				for i := outpos; i < endpos; i++ {
					if out[i] == item {
						collide = true
						break
					}
				}
				if collide {
					break
				}
				if recurseToLeaf {
					if item < 0 {
						c.chooseIndep(ib, x, 1, numrep, 0, out2, rep, recurseTries, 0, false, nil, r)
						if out2[rep] == ItemNone {
							break
						}
					} else {
						out2[rep] = item
					}
				}
				if itemtype == 0 && c.isOut(item, x) {
					break
				}
				out[rep] = item
				left--
				break
			}
		}
	}
	for rep := outpos; rep < endpos; rep++ {
		if out[rep] == itemUndef {
			out[rep] = ItemNone
		}
		if out2 != nil && out2[rep] == itemUndef {
			out2[rep] = ItemNone
		}
	}
}

// DoRule maps input x through rule ruleno and appends at most resultMax
// items to dst (crush_do_rule). weights holds each device's 16.16 reweight
// (0 = out, 0x10000 = fully in); devices past its end count as out. args are
// the choose_args to use (see ChooseArgsFor), or nil.
//
// Like Ceph's, the cost grows with the map's retry tunables; a map with
// absurd tries values is as slow here as in Ceph.
func (m *Map) DoRule(ruleno int, x int32, resultMax int, weights []uint32, args ChooseArgs, dst []int32) []int32 {
	if ruleno < 0 || ruleno >= len(m.Rules) || m.Rules[ruleno] == nil || resultMax <= 0 {
		return dst
	}
	rule := m.Rules[ruleno]
	w := workPool.Get().(*work)
	defer func() {
		w.reset()
		workPool.Put(w)
	}()
	if cap(w.a) < resultMax {
		w.a = make([]int32, resultMax)
		w.b = make([]int32, resultMax)
		w.c = make([]int32, resultMax)
	}
	a, o, cc := w.a[:resultMax], w.b[:resultMax], w.c[:resultMax]
	wv := a
	c := mapper{m: m, w: w, weights: weights, args: args}

	chooseTries := uint(m.ChooseTotalTries) + 1
	chooseLeafTries := uint(0)
	localRetries := uint(m.ChooseLocalTries)
	localFallbackRetries := uint(m.ChooseLocalFallbackTries)
	varyR := uint(m.ChooseLeafVaryR)
	stable := uint(m.ChooseLeafStable)
	xi := int(x)

	wsize := 0
	resultLen := 0
	for _, st := range rule.Steps {
		firstn := false
		switch st.Op {
		case OpTake:
			if (st.Arg1 >= 0 && st.Arg1 < m.MaxDevices) || m.Bucket(st.Arg1) != nil {
				wv[0] = st.Arg1
				wsize = 1
			}
		case OpSetChooseTries:
			if st.Arg1 > 0 {
				chooseTries = uint(st.Arg1)
			}
		case OpSetChooseLeafTries:
			if st.Arg1 > 0 {
				chooseLeafTries = uint(st.Arg1)
			}
		case OpSetChooseLocalTries:
			if st.Arg1 >= 0 {
				localRetries = uint(st.Arg1)
			}
		case OpSetChooseLocalFallback:
			if st.Arg1 >= 0 {
				localFallbackRetries = uint(st.Arg1)
			}
		case OpSetChooseLeafVaryR:
			if st.Arg1 >= 0 {
				varyR = uint(st.Arg1)
			}
		case OpSetChooseLeafStable:
			if st.Arg1 >= 0 {
				stable = uint(st.Arg1)
			}
		case OpChooseLeafFirstN, OpChooseFirstN, OpChooseLeafIndep, OpChooseIndep:
			firstn = st.Op == OpChooseLeafFirstN || st.Op == OpChooseFirstN
			if wsize == 0 {
				break
			}
			recurseToLeaf := st.Op == OpChooseLeafFirstN || st.Op == OpChooseLeafIndep
			osize := 0
			for i := 0; i < wsize; i++ {
				numrep := int(st.Arg1)
				if numrep <= 0 {
					numrep += resultMax
					if numrep <= 0 {
						continue
					}
				}
				b := m.Bucket(wv[i])
				if b == nil {
					continue
				}
				if firstn {
					var recurseTries uint
					switch {
					case chooseLeafTries != 0:
						recurseTries = chooseLeafTries
					case m.ChooseLeafDescendOnce != 0:
						recurseTries = 1
					default:
						recurseTries = chooseTries
					}
					osize += c.chooseFirstN(b, xi, numrep, int(st.Arg2), o[osize:], 0, resultMax-osize,
						chooseTries, recurseTries, localRetries, localFallbackRetries, recurseToLeaf,
						varyR, stable, cc[osize:], 0)
				} else {
					outSize := numrep
					if resultMax-osize < outSize {
						outSize = resultMax - osize
					}
					lt := chooseLeafTries
					if lt == 0 {
						lt = 1
					}
					c.chooseIndep(b, xi, outSize, numrep, int(st.Arg2), o[osize:], 0,
						chooseTries, lt, recurseToLeaf, cc[osize:], 0)
					osize += outSize
				}
			}
			if recurseToLeaf {
				copy(o[:osize], cc[:osize])
			}
			wv, o = o, wv
			wsize = osize
		case OpEmit:
			for i := 0; i < wsize && resultLen < resultMax; i++ {
				dst = append(dst, wv[i])
				resultLen++
			}
			wsize = 0
		}
	}
	return dst
}
