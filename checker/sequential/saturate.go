package sequential

import (
	"context"
	"math/bits"

	"consist/checker/internal/reghist"
)

// maxRounds bounds the saturation rounds; saturation is incomplete
// anyway, and the search decides what it leaves.
const maxRounds = 200

// saturation is the outcome of saturate.
type saturation struct {
	// cyclic is set when the must-precede graph has a cycle: no
	// sequential order exists.
	cyclic bool
	// rounds counts the rounds run.
	rounds int
}

// saturate adds write-order edges that every sequential order has, round
// after round, until a round adds none or the graph has a cycle. Each
// round sorts the graph topologically and walks it once in that order
// (see walk). memory bounds the bytes of the walk's masks and of the
// derived edges.
func (g *graph) saturate(ctx context.Context, memory int64) (saturation, error) {
	var s saturation
	if int64(g.nodes())*int64(cellBytes) > memory {
		return s, errMemory
	}
	if g.seen == nil {
		g.seen = map[[2]int32]struct{}{}
	}
	w := newWalker(g)
	for s.rounds = 0; s.rounds < maxRounds; s.rounds++ {
		g.link()
		ok, err := g.sort(ctx)
		if err != nil {
			return s, err
		}
		if !ok {
			s.cyclic = true
			return s, nil
		}
		before := len(g.derived)
		if err := w.walk(ctx); err != nil {
			return s, err
		}
		if len(g.derived) == before {
			return s, nil
		}
		if int64(g.nodes())*int64(cellBytes)+int64(len(g.derived))*derivedBytes > memory {
			return s, errMemory
		}
	}
	return s, nil
}

// derivedBytes is about what a derived edge costs, its entry in seen
// included.
const derivedBytes = 48

// The walk tracks, at each node, the latest windowBits writes (of any
// key) before it in the topological order, as bit masks.
const (
	windowWords = 4
	windowBits  = 64 * windowWords
	cellBytes   = 2*8*windowWords + 4
)

// mask is a set of writes in a node's window: bit b stands for the
// write numbered frame-1-b, counting the writes in topological order.
type mask [windowWords]uint64

// cell is what the walk knows at a node: reach holds the writes that
// precede it, aft those whose after() node precedes it or is it — the
// writes whose reads are all known to precede it. frame is the number of
// writes before the node, itself included once it is placed.
type cell struct {
	reach, aft mask
	frame      int32
}

// walker holds the walk's state, indexed by position in the topological
// order, so that a node and its successors, which tend to be near it in
// the order, are near in memory too.
type walker struct {
	g     *graph
	cells []cell
	// succ lists each position's successors' positions.
	succStart, succ []int32
	// writes holds the node of each write, by number.
	writes []int32
	// number holds each write's number, by position.
	number []int32
	// ofKey holds each key's writes, in the frame keyFrame.
	ofKey    []mask
	keyFrame []int32
	// prevOnKey is each operation's latest predecessor in its session on
	// the same key, or None.
	prevOnKey []int32
}

func newWalker(g *graph) *walker {
	return &walker{g: g, cells: make([]cell, g.nodes()), succStart: make([]int32, g.nodes()+1), number: make([]int32, g.nodes()),
		ofKey: make([]mask, g.k), keyFrame: make([]int32, g.k), prevOnKey: g.r.Chains(true).PrevOp}
}

// relabel builds the successor lists in positions.
func (w *walker) relabel() {
	g := w.g
	w.succ = w.succ[:0]
	for i, v := range g.order {
		w.succStart[i] = int32(len(w.succ))
		for _, s := range g.successors(v) {
			w.succ = append(w.succ, g.pos[s])
		}
	}
	w.succStart[len(g.order)] = int32(len(w.succ))
}

// walk propagates the windows along the graph in topological order and
// derives, for unique values:
//
//   - at a read r of w2: every other write w1 of its key that precedes r
//     precedes w2, since w2 is the last write before r;
//   - at a write w2: every write w1 of its key that precedes it precedes
//     it in ws, so w1's reads precede w2 too.
//
// The writes that precede an operation are those in its window, and the
// one its session's previous operation on its key wrote or read (see
// sessionWrite). It derives only edges the graph does not already imply.
// Forgetting the writes that fall out of the window keeps the walk linear
// but misses their edges; the search decides what saturation leaves.
func (w *walker) walk(ctx context.Context) error {
	g := w.g
	w.relabel()
	clear(w.cells)
	clear(w.ofKey)
	clear(w.keyFrame)
	w.writes = w.writes[:0]
	for i, v := range g.order {
		if i&0xffff == 0xffff && ctx.Err() != nil {
			return ctx.Err()
		}
		c := &w.cells[i]
		f := int32(len(w.writes))
		c.reach.shift(c.frame, f)
		c.aft.shift(c.frame, f)
		c.frame = f
		if g.isOp(v) {
			w.deriveAt(v, c)
			if g.isWrite(v) {
				w.number[i] = f
				w.writes = append(w.writes, v)
				k := g.r.Ops[v].Key
				w.ofKey[k].shift(w.keyFrame[k], f+1)
				w.ofKey[k][0] |= 1
				w.keyFrame[k] = f + 1
				c.frame++
				c.reach.shift(f, f+1)
				c.aft.shift(f, f+1)
				c.reach[0] |= 1
			}
		}
		if a := g.afterOf(v); a != -1 && g.isWrite(a) {
			c.aft.add(c.frame, w.number[g.pos[a]])
		}
		for _, s := range w.succ[w.succStart[i]:w.succStart[i+1]] {
			w.cells[s].merge(c)
		}
	}
	return nil
}

// deriveAt applies the rules at operation v, whose cell c holds what
// precedes it.
func (w *walker) deriveAt(v int32, c *cell) {
	g := w.g
	o := &g.r.Ops[v]
	switch {
	case o.Reader() && o.Reads >= 0:
		// A cas reading w2 directly follows it, so the rule for reads
		// covers the rule for writes.
		w2 := o.Reads
		known := w.cells[g.pos[w2]].aft
		known.shift(w.cells[g.pos[w2]].frame, c.frame)
		known.add(c.frame, w.number[g.pos[w2]])
		w.deriveAll(c.reach.minus(&known), o.Key, w2, v, c.frame)
		if w1 := w.sessionWrite(v); w1 != reghist.None && w1 != w2 && g.after(w1) != w2 {
			g.derive(w1, w2, v)
		}
	case o.Writer():
		w.deriveAll(c.reach.minus(&c.aft), o.Key, v, v, c.frame)
		if w1 := w.sessionWrite(v); w1 != reghist.None && g.after(w1) != v {
			g.derive(w1, v, v)
		}
	}
}

// sessionWrite returns the write that the session's previous operation on
// v's key wrote or read: it precedes v however far back it lies, beyond
// the window. It returns None when there is none, or it is an initial
// value.
func (w *walker) sessionWrite(v int32) int32 {
	u := w.prevOnKey[v]
	if u == reghist.None {
		return reghist.None
	}
	if o := &w.g.r.Ops[u]; !o.Writer() {
		return o.Reads // a write, or Initial (None)
	}
	return u
}

// deriveAll derives that each write of key in candidates (in frame f)
// precedes w2, latest first, skipping those that precede one derived
// already: once w1 is known to precede w2, the rule for writes makes each
// write w0 before w1 precede w1 in ws, and so w2.
func (w *walker) deriveAll(candidates mask, key, w2, because, f int32) {
	g := w.g
	ofKey := w.ofKey[key]
	ofKey.shift(w.keyFrame[key], f)
	for i := range candidates {
		candidates[i] &= ofKey[i]
	}
	for i := range candidates {
		for candidates[i] != 0 {
			b := int32(i*64 + bits.TrailingZeros64(candidates[i]))
			candidates[i] &^= 1 << (b % 64)
			w1 := w.writes[f-1-b]
			covered := w.cells[g.pos[w1]].reach
			covered.shift(w.cells[g.pos[w1]].frame, f)
			candidates = candidates.minus(&covered)
			g.derive(w1, w2, because)
		}
	}
}

// derive records that w1 precedes w2 in ws, unless it was derived before.
func (g *graph) derive(w1, w2, because int32) {
	if _, dup := g.seen[[2]int32{w1, w2}]; dup {
		return
	}
	g.seen[[2]int32{w1, w2}] = struct{}{}
	g.derived = append(g.derived, derivedEdge{w1, w2, because})
}

// merge adds what c knows to the cell of its successor d, keeping d in
// the later of their frames.
func (d *cell) merge(c *cell) {
	if d.frame < c.frame {
		d.reach.shift(d.frame, c.frame)
		d.aft.shift(d.frame, c.frame)
		d.frame = c.frame
	}
	reach, aft := c.reach, c.aft
	reach.shift(c.frame, d.frame)
	aft.shift(c.frame, d.frame)
	for i := range d.reach {
		d.reach[i] |= reach[i]
		d.aft[i] |= aft[i]
	}
}

// shift moves m from frame from to the later frame to: its writes get
// older, and those that leave the window are forgotten.
func (m *mask) shift(from, to int32) {
	d := int(to - from)
	if d == 0 {
		return
	}
	if d >= windowBits {
		*m = mask{}
		return
	}
	words, by := d/64, uint(d%64)
	for i := windowWords - 1; i >= 0; i-- {
		var x uint64
		if j := i - words; j >= 0 {
			x = m[j] << by
			if by > 0 && j > 0 {
				x |= m[j-1] >> (64 - by)
			}
		}
		m[i] = x
	}
}

// add puts write number n in m, in frame f, if it is in the window.
func (m *mask) add(f, n int32) {
	if b := f - 1 - n; b < windowBits {
		m[b/64] |= 1 << (b % 64)
	}
}

// minus returns m without the writes in o.
func (m mask) minus(o *mask) mask {
	for i := range m {
		m[i] &^= o[i]
	}
	return m
}
