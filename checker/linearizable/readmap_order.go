package linearizable

import (
	"cmp"
	"context"
	"slices"
)

// The shapes of contradiction the read-mapping engine finds.
type rmShape uint8

const (
	// shapeUnwritten: a kept operation observed a value nothing wrote.
	shapeUnwritten rmShape = iota
	// shapeFuture: an operation returned before the write of the value
	// it observed began.
	shapeFuture
	// shapeLostUpdate: two cas that both took effect observed the same
	// value.
	shapeLostUpdate
	// shapeCASRing: cas that observe each other's values in a ring.
	shapeCASRing
	// shapeOrder: clusters that must each precede the other, by real
	// time and cas chains.
	shapeOrder
)

// rmConflict is a contradiction: the operations (indices into the
// partition, the pseudo-write n possibly among the clusters) that show it.
type rmConflict struct {
	shape rmShape
	// reader is the operation that observed what it could not (unwritten,
	// future), or the first cas of a lost update or ring.
	reader int32
	// other is the second cas of a lost update.
	other int32
	// ring is the cas of a ring, in order.
	ring []int32
	// before holds the real-time facts of an order conflict: before[k][0]
	// completed before before[k][1] began. For a conflict inside one
	// chain there is one fact, contradicting the chain's order; between
	// two chains there are two, contradicting each other.
	before [][2]int32
	// chain lists the cas whose chains the argument relies on.
	chain []int32
	// ops are the witness operations, once confirmed.
	ops []int32
}

// directConflict finds the contradictions that need no ordering: a value
// nobody wrote, a value observed before its write began, a cas that found
// the value it wrote itself, two cas taking effect from the same value.
func (rm *readMapping) directConflict() *rmConflict {
	var unwritten, future *rmConflict
	for i := range rm.n {
		if !rm.kept[i] || !rm.reads(i) {
			continue
		}
		w := rm.src[i]
		switch {
		case w == rmNone:
			if unwritten == nil || rm.ok[i] && !rm.ok[unwritten.reader] {
				unwritten = &rmConflict{shape: shapeUnwritten, reader: int32(i)}
			}
		case rm.ret[i] < rm.inv[w] && future == nil:
			future = &rmConflict{shape: shapeFuture, reader: int32(i)}
		}
	}
	if unwritten != nil {
		return unwritten
	}
	if future != nil {
		return future
	}
	for i := range rm.n {
		if rm.kept[i] && rm.kind[i] == regCAS && rm.src[i] == int32(i) {
			return &rmConflict{shape: shapeCASRing, reader: int32(i), ring: []int32{int32(i)}}
		}
	}
	next := rm.casSuccessors()
	for i := range rm.n {
		if rm.kept[i] && rm.kind[i] == regCAS {
			if w := rm.src[i]; next[w] != int32(i) {
				return &rmConflict{shape: shapeLostUpdate, reader: next[w], other: int32(i)}
			}
		}
	}
	return nil
}

// casSuccessors returns, for each writer, the kept cas that observed its
// value (the first one, in history order), or rmNone.
func (rm *readMapping) casSuccessors() []int32 {
	next := make([]int32, rm.n+1)
	for i := range next {
		next[i] = rmNone
	}
	for i := range rm.n {
		if rm.kept[i] && rm.kind[i] == regCAS {
			if w := rm.src[i]; next[w] == rmNone {
				next[w] = int32(i)
			}
		}
	}
	return next
}

// rmChain is a run of clusters that cas tie together, in order, with the
// least return and greatest call over all of them, and the clusters
// holding those.
type rmChain struct {
	from, to   int32 // the chain's clusters are clusters[from:to]
	f, s       int
	fArg, sArg int32
	key        int
}

// orderClusters orders the kept writes' clusters as a linearization needs
// them, or returns the contradiction that prevents it. The order is the
// concatenation of the chains' clusters, chains in the returned order.
func (rm *readMapping) orderClusters(ctx context.Context) ([]int32, *rmConflict) {
	n := rm.n
	// Each cluster's least return and greatest call, and the operation
	// that has it.
	f := make([]int, n+1)
	s := make([]int, n+1)
	fOp := make([]int32, n+1)
	sOp := make([]int32, n+1)
	for i := range f {
		f[i], s[i], fOp[i], sOp[i] = never, -2, rmNone, rmNone
	}
	add := func(c int32, i int) {
		if rm.ret[i] < f[c] {
			f[c], fOp[c] = rm.ret[i], int32(i)
		}
		if rm.inv[i] > s[c] {
			s[c], sOp[c] = rm.inv[i], int32(i)
		}
	}
	writers := 0
	for i := 0; i <= n; i++ {
		if !rm.kept[i] {
			continue
		}
		if rm.kind[i] == regRead {
			add(rm.src[i], i)
		} else {
			add(int32(i), i)
			writers++
		}
	}
	next := rm.casSuccessors()

	// Chains start at the writes and the initial value; what no chain
	// reaches is a ring of cas.
	clusters := make([]int32, 0, writers)
	var chains []rmChain
	for i := 0; i <= n; i++ {
		if !rm.kept[i] || rm.kind[i] != regWrite {
			continue
		}
		ch := rmChain{from: int32(len(clusters)), f: never, s: -2}
		sMax, sArg := -2, rmNone
		for c := int32(i); c != rmNone; c = next[c] {
			if len(clusters) > int(ch.from) && f[c] < sMax {
				return nil, rm.chainConflict(clusters[ch.from:], sArg, c, fOp[c], sOp[sArg])
			}
			if s[c] > sMax {
				sMax, sArg = s[c], c
			}
			if f[c] < ch.f {
				ch.f, ch.fArg = f[c], c
			}
			clusters = append(clusters, c)
		}
		ch.to = int32(len(clusters))
		ch.s, ch.sArg = sMax, sArg
		ch.key = min(ch.f, ch.s)
		chains = append(chains, ch)
	}
	if len(clusters) < writers {
		return nil, rm.ringConflict(next)
	}
	if ctx.Err() != nil {
		return nil, nil
	}

	slices.SortFunc(chains, func(a, b rmChain) int { return cmp.Compare(a.key, b.key) })
	order := make([]int32, 0, len(clusters))
	sMax, sArg := -2, -1
	for j, ch := range chains {
		if j > 0 && ch.f < sMax {
			ci := chains[sArg]
			// The sort guarantees ci.f < ch.s as well (see readMapping).
			facts := [][2]int32{{fOp[ch.fArg], sOp[ci.sArg]}, {fOp[ci.fArg], sOp[ch.sArg]}}
			c := &rmConflict{shape: shapeOrder, before: facts}
			c.chain = append(chainLinks(clusters[ci.from:ci.to], ci.fArg, ci.sArg), chainLinks(clusters[ch.from:ch.to], ch.fArg, ch.sArg)...)
			rm.simplify(c)
			return nil, c
		}
		if ch.s > sMax {
			sMax, sArg = ch.s, j
		}
		order = append(order, clusters[ch.from:ch.to]...)
	}
	return order, nil
}

// simplify rewrites the facts of a conflict between two single-cluster
// chains in terms of the writes where real time allows, so that the
// witness names the writes and as few reads as possible.
func (rm *readMapping) simplify(c *rmConflict) {
	if len(c.chain) > 0 {
		return
	}
	for k := range c.before {
		x, y := c.before[k][0], c.before[k][1]
		cx, cy := rm.clusterOf(x), rm.clusterOf(y)
		if cx != int32(rm.n) && rm.ret[cx] < rm.inv[y] {
			x = cx
		}
		if cy != int32(rm.n) && rm.ret[x] < rm.inv[cy] {
			y = cy
		}
		c.before[k] = [2]int32{x, y}
	}
}

// clusterOf returns the cluster operation i belongs to: its write's.
func (rm *readMapping) clusterOf(i int32) int32 {
	if rm.kind[i] == regRead {
		return rm.src[i]
	}
	return i
}

// chainLinks returns the cas that tie cluster a to cluster b within a
// chain (the clusters after the earlier of the two, up to the later).
func chainLinks(chain []int32, a, b int32) []int32 {
	ia, ib := slices.Index(chain, a), slices.Index(chain, b)
	if ia > ib {
		ia, ib = ib, ia
	}
	return slices.Clone(chain[ia+1 : ib+1])
}

// chainConflict reports a chain whose order real time contradicts: an
// operation x of cluster c completed before an operation y of an earlier
// cluster of the chain, at, began.
func (rm *readMapping) chainConflict(chain []int32, at, c, x, y int32) *rmConflict {
	links := chainLinks(append(slices.Clone(chain), c), at, c)
	return &rmConflict{shape: shapeOrder, before: [][2]int32{{x, y}}, chain: links}
}

// ringConflict finds a ring of cas: kept cas no chain from a write
// reaches.
func (rm *readMapping) ringConflict(next []int32) *rmConflict {
	reached := make([]bool, rm.n+1)
	for i := 0; i <= rm.n; i++ {
		if rm.kept[i] && rm.kind[i] == regWrite {
			for c := int32(i); c != rmNone; c = next[c] {
				reached[c] = true
			}
		}
	}
	for i := range rm.n {
		if !rm.kept[i] || rm.kind[i] != regCAS || reached[i] {
			continue
		}
		// Walk back along what each cas observed until a cas repeats.
		pos := map[int32]int{}
		var path []int32
		c := int32(i)
		for {
			if k, ok := pos[c]; ok {
				ring := path[k:]
				slices.Reverse(ring)
				return &rmConflict{shape: shapeCASRing, reader: ring[0], ring: ring}
			}
			pos[c] = len(path)
			path = append(path, c)
			c = rm.src[c]
		}
	}
	return nil
}

// linearization lays out the operations cluster by cluster: each write
// (the pseudo-write excepted), then the reads that observed it in order of
// call.
func (rm *readMapping) linearization(order []int32) []int32 {
	n := rm.n
	start := make([]int32, n+2)
	for i := range n {
		if rm.kept[i] && rm.kind[i] == regRead {
			start[rm.src[i]+1]++
		}
	}
	for c := 1; c <= n+1; c++ {
		start[c] += start[c-1]
	}
	reads := make([]int32, start[n+1])
	fill := slices.Clone(start[:n+1])
	for i := range n {
		if rm.kept[i] && rm.kind[i] == regRead {
			c := rm.src[i]
			reads[fill[c]] = int32(i)
			fill[c]++
		}
	}
	lin := make([]int32, 0, n)
	for _, c := range order {
		if int(c) != n {
			lin = append(lin, c)
		}
		lin = append(lin, reads[start[c]:start[c+1]]...)
	}
	return lin
}
