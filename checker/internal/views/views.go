// Package views decides whether each process of a register history with
// unique writes has a legal view: a total order of every write and the
// process's own operations, respecting a model's ordering rules, in which
// each of the process's reads returns the last write to its key before it.
// PRAM, causal memory and the session guarantees are all of this form
// (Lipton & Sandberg 1988; Ahamad et al. 1995; Brzezinski, Sobaniec &
// Wawrzyniak 2003), differing only in the rules.
//
// The algorithm builds the view lazily, saturating as it goes. The
// viewer's ordered operations are placed in session order; placing one
// first places everything that must precede it (its ancestors under the
// rules), depth first. Two facts make every conclusion a proof:
//
//   - everything placed before a read r is an ancestor of r, so if r read
//     the initial value of x while some write of x is placed, no view has r
//     legal;
//   - if r read w but writes w1…wk of its key were placed after w, each wi
//     is an ancestor of r, and in every legal view must precede w: the edge
//     wi → w is added and the construction starts over.
//
// Edges are only ever added when every legal view has them, so a cycle is
// a proof of invalidity; a construction that completes is a legal view, a
// proof of validity. Each round adds at least one edge, so the rounds end.
// In the common case one or two rounds suffice, each linear in the size of
// the view.
//
// A view holds the viewer's whole past, so checking P processes one by one
// costs O(n·P) — and a client that crashes and continues under a fresh
// process id multiplies P. Check therefore first builds joint views, one
// for each group of processes that follow each other in time (a client's
// successive processes): a joint view in which every read of its members
// is legal is a legal view of each member (drop the other members' reads).
// Members that do not fit are grouped anew, and only the few left at the
// end are checked alone, exactly.
package views

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"consist/checker/internal/reghist"
)

// Rules are a model's ordering constraints on a view.
type Rules interface {
	// Preds appends to buf the operations that must precede op in the
	// viewer's view; own says whether op is one of the viewer's. For an
	// operation that reads and is the viewer's own, the write it read
	// should come last.
	Preds(own bool, op int32, buf []int32) []int32
	// Ordered reports whether op, one of the viewer's operations, is
	// placed in session order (and so drives the construction); the
	// rules must order the viewer's ordered operations in session order
	// themselves, through Preds. Only the viewer's ordered reads are
	// checked: an unordered read of the viewer is a model's way of saying
	// that the read may see any state of the view (the one right after
	// the write it read, or the initial one, always serves), so where the
	// construction happens to place it, as an ordering point between
	// other operations, it need not be legal.
	Ordered(op int32) bool
}

// Violation is a proof that a process has no legal view.
type Violation struct {
	// Viewer is the process whose view is impossible.
	Viewer int32
	// Cycle is true when the rules and the reads force a cycle: Path then
	// lists operations each of which must precede the next, and the last
	// must precede the first. Otherwise Path runs from a write to a read
	// of the initial value of its key that the write must precede.
	Cycle bool
	Path  []int32
	// Because names, for every edge forced by a read, that read: the edge
	// a → b is there because Because[Edge{a, b}] read b while a was
	// already visible to it.
	Because map[Edge]int32
}

// Edge is an ordering a → b.
type Edge struct{ From, To int32 }

// Reason words an error of Check or View as the reason of an Unknown
// verdict.
func Reason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "the check was stopped before it finished (" + err.Error() + "); give it a longer --timeout"
	}
	return err.Error()
}

// Checker checks the views of one history under one set of rules.
type Checker struct {
	h     *reghist.History
	rules Rules

	placedIn []uint32
	onStack  []uint32
	// member[p] == epoch when process p is (one of) the current viewer.
	member []uint32
	// placed lists the operations placed in the current construction;
	// placedAt[op] is op's index there, and joinedAt the index at which
	// the current member of a joint view began.
	placed   []int32
	placedAt []int32
	joinedAt int32
	keyPos   []int32
	epoch    uint32
	cur      []int32
	seq      [][]int32
	extra    map[int32][]int32
	because  map[Edge]int32
	// forcedAt numbers the forced edges in the order they were forced:
	// the ancestry that forced one uses only edges numbered below it.
	forcedAt map[Edge]int32
	frames   []frame
	arena    []int32
	work     int64
}

type frame struct {
	op         int32
	start, end int32 // its predecessors, in arena
	next       int32
}

// New prepares a checker of h's views under rules.
func New(h *reghist.History, rules Rules) *Checker {
	n := len(h.Ops)
	return &Checker{h: h, rules: rules,
		placedIn: make([]uint32, n), onStack: make([]uint32, n), keyPos: make([]int32, n), member: make([]uint32, len(h.Sessions)), placedAt: make([]int32, n),
		cur: make([]int32, len(h.Keys)), seq: make([][]int32, len(h.Keys))}
}

// Check returns the first process without a legal view, or nil when
// every process has one.
func (c *Checker) Check(ctx context.Context) (*Violation, error) {
	unproven := c.liveProcesses()
	// Members a joint view leaves out often fit another: group them anew
	// while that proves enough of them.
	for len(unproven) > 1 {
		var left []int32
		for _, group := range c.successions(unproven) {
			if len(group) == 1 {
				left = append(left, group[0])
				continue
			}
			out, err := c.joint(ctx, group)
			if err != nil {
				return nil, err
			}
			left = append(left, out...)
		}
		progress := len(unproven) - len(left)
		unproven = left
		if progress < len(left) {
			break
		}
	}
	slices.Sort(unproven)
	for _, p := range unproven {
		v, err := c.View(ctx, p)
		if v != nil || err != nil {
			return v, err
		}
	}
	return nil, nil
}

// liveProcesses returns the processes with operations.
func (c *Checker) liveProcesses() []int32 {
	procs := make([]int32, 0, len(c.h.Sessions))
	for p, ops := range c.h.Sessions {
		if len(ops) > 0 {
			procs = append(procs, int32(p))
		}
	}
	return procs
}

// successions partitions procs into groups whose sessions follow each
// other (each member's first operation was invoked after the previous
// member's last), each in that order: at most as many groups as processes
// ever ran at once.
func (c *Checker) successions(procs []int32) [][]int32 {
	first := func(p int32) int32 { return c.h.Sessions[p][0] }
	last := func(p int32) int32 { s := c.h.Sessions[p]; return s[len(s)-1] }
	slices.SortFunc(procs, func(a, b int32) int { return cmp.Compare(first(a), first(b)) })
	var groups [][]int32
	for _, p := range procs {
		// Join the group whose last member ended last before p began.
		best, bestEnd := -1, int32(-1)
		for i, g := range groups {
			if end := last(g[len(g)-1]); end < first(p) && end > bestEnd {
				best, bestEnd = i, end
			}
		}
		if best < 0 {
			groups = append(groups, []int32{p})
		} else {
			groups[best] = append(groups[best], p)
		}
	}
	return groups
}

// View decides whether process p has a legal view.
func (c *Checker) View(ctx context.Context, p int32) (*Violation, error) {
	c.extra, c.because, c.forcedAt = map[int32][]int32{}, map[Edge]int32{}, map[Edge]int32{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.begin()
		c.member[p] = c.epoch
		forced := false
		for _, op := range c.h.Sessions[p] {
			if !c.rules.Ordered(op) || c.placedIn[op] == c.epoch {
				continue
			}
			v, f, err := c.place(ctx, p, op, true)
			if v != nil || err != nil {
				return v, err
			}
			forced = forced || f
		}
		if !forced {
			return nil, nil
		}
	}
}

// maxJointPasses bounds the constructions of one joint view.
const maxJointPasses = 8

// joint builds one view shared by the processes of group, in passes. In
// a pass each member in turn places its session; a member whose reads
// need new edges adds them and is taken out again until the next pass,
// and a member whose reads cannot be legal there is left to be checked
// alone. The edges one member forces need not hold for another, but a
// pass in which every remaining member fits is a legal view for each of
// them (without the others' reads, followed by the writes never placed).
// joint returns the members left out.
func (c *Checker) joint(ctx context.Context, group []int32) ([]int32, error) {
	c.extra, c.because, c.forcedAt = map[int32][]int32{}, map[Edge]int32{}, map[Edge]int32{}
	members := group
	var left []int32
	for pass := 0; len(members) > 0; pass++ {
		c.begin()
		var next []int32 // the members of the next pass
		again := false
		for _, p := range members {
			mark := len(c.placed)
			v, forced, err := c.join(ctx, p)
			if err != nil {
				return nil, err
			}
			switch {
			case v == nil && !forced:
				next = append(next, p)
				continue
			case v == nil && pass+1 < maxJointPasses:
				next, again = append(next, p), true
			default:
				left = append(left, p)
			}
			c.rollback(mark)
			c.member[p] = 0
		}
		if !again {
			break
		}
		members = next
	}
	return left, nil
}

// join adds p to the viewer of a joint view and places its session; it
// reports a conflict, or whether p's reads forced new edges.
func (c *Checker) join(ctx context.Context, p int32) (*Violation, bool, error) {
	session := c.h.Sessions[p]
	for _, op := range session {
		if c.placedIn[op] == c.epoch {
			return conflict, false, nil // placed under another member's rules
		}
	}
	c.member[p] = c.epoch
	c.joinedAt = int32(len(c.placed))
	forced := false
	for _, op := range session {
		if !c.rules.Ordered(op) || c.placedIn[op] == c.epoch {
			continue
		}
		v, f, err := c.place(ctx, p, op, false)
		if v != nil || err != nil {
			return v, false, err
		}
		forced = forced || f
	}
	return nil, forced, nil
}

// begin starts a construction with no viewer yet.
func (c *Checker) begin() {
	c.epoch++
	c.placed = c.placed[:0]
	for k := range c.cur {
		c.cur[k], c.seq[k] = reghist.Initial, c.seq[k][:0]
	}
}

// rollback unplaces every operation placed since the construction had
// mark of them.
func (c *Checker) rollback(mark int) {
	for i := len(c.placed) - 1; i >= mark; i-- {
		op := c.placed[i]
		c.placedIn[op] = 0
		if o := &c.h.Ops[op]; o.Writer() {
			seq := c.seq[o.Key][:len(c.seq[o.Key])-1]
			c.seq[o.Key], c.cur[o.Key] = seq, reghist.Initial
			if len(seq) > 0 {
				c.cur[o.Key] = seq[len(seq)-1]
			}
		}
	}
	c.placed = c.placed[:mark]
}

// own reports whether op belongs to the current viewer.
func (c *Checker) own(op int32) bool { return c.member[c.h.Ops[op].Process] == c.epoch }

// conflict is the violation place reports, not worked out, for a joint
// view.
var conflict = &Violation{}

// place places op and its unplaced ancestors, depth first. It reports a
// violation, or whether it forced new edges. For a joint view it reports
// any violation as conflict.
func (c *Checker) place(ctx context.Context, p, root int32, exact bool) (*Violation, bool, error) {
	forced := false
	c.frames, c.arena = c.frames[:0], c.arena[:0]
	c.push(root)
	for len(c.frames) > 0 {
		f := &c.frames[len(c.frames)-1]
		if f.next < f.end {
			pred := c.arena[f.next]
			f.next++
			if c.placedIn[pred] == c.epoch {
				continue
			}
			if c.onStack[pred] == c.epoch {
				if !exact {
					c.abandon()
					return conflict, false, nil
				}
				return c.cycle(p, f.op, pred), false, nil
			}
			c.push(pred)
			continue
		}
		op := f.op
		c.arena = c.arena[:f.start]
		c.frames = c.frames[:len(c.frames)-1]
		c.onStack[op] = 0
		c.work++
		if c.work&0xffff == 0 && ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		o := &c.h.Ops[op]
		if o.Reader() && c.own(op) && c.rules.Ordered(op) {
			k := o.Key
			switch {
			case o.Reads == reghist.Initial && c.cur[k] != reghist.Initial:
				if !exact {
					c.abandon()
					return conflict, false, nil
				}
				return c.initialRead(p, c.cur[k], op), false, nil
			case o.Reads != reghist.Initial && c.cur[k] != o.Reads:
				w := o.Reads
				if c.placedIn[w] != c.epoch {
					return nil, false, fmt.Errorf("views: rules did not place the write %d read by %d before it", w, op)
				}
				later := c.seq[k][c.keyPos[w]+1:]
				if !exact && c.placedAt[later[0]] < c.joinedAt {
					// An earlier member placed it: it need not be in
					// the read's past, so no edge can be forced.
					c.abandon()
					return conflict, false, nil
				}
				for _, later := range later {
					e := Edge{later, w}
					if _, dup := c.because[e]; !dup {
						c.because[e] = op
						c.forcedAt[e] = int32(len(c.forcedAt))
						c.extra[w] = append(c.extra[w], later)
						forced = true
					}
				}
			}
		}
		c.placedIn[op] = c.epoch
		c.placedAt[op] = int32(len(c.placed))
		c.placed = append(c.placed, op)
		if o.Writer() {
			k := o.Key
			c.keyPos[op] = int32(len(c.seq[k]))
			c.seq[k] = append(c.seq[k], op)
			c.cur[k] = op
		}
	}
	return nil, forced, nil
}

// abandon leaves a placement midway, taking its operations off the stack.
func (c *Checker) abandon() {
	for _, f := range c.frames {
		c.onStack[f.op] = 0
	}
	c.frames = c.frames[:0]
}

func (c *Checker) push(op int32) {
	start := int32(len(c.arena))
	c.arena = append(c.arena, c.extra[op]...)
	c.arena = c.rules.Preds(c.own(op), op, c.arena)
	c.onStack[op] = c.epoch
	c.frames = append(c.frames, frame{op: op, start: start, end: int32(len(c.arena)), next: start})
}

// preds returns every operation that must precede op in p's view, the
// edges forced before the limit-th included.
func (c *Checker) preds(p, op int32, limit int32, buf []int32) []int32 {
	for _, y := range c.extra[op] {
		if c.forcedAt[Edge{y, op}] < limit {
			buf = append(buf, y)
		}
	}
	return c.rules.Preds(c.h.Ops[op].Process == p, op, buf)
}

// path returns a shortest chain of operations from -> … -> to, each
// preceding the next, or nil. It does not use the edge avoid, nor, when
// avoid is a forced edge, any edge forced after it: the chain then shows
// why avoid was forced without resting on it.
func (c *Checker) path(p, from, to int32, avoid Edge) []int32 {
	if from == to {
		return []int32{to}
	}
	limit := int32(len(c.forcedAt))
	if n, ok := c.forcedAt[avoid]; ok {
		limit = n
	}
	parent := map[int32]int32{to: reghist.None}
	queue := []int32{to}
	var buf []int32
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		buf = c.preds(p, x, limit, buf[:0])
		for _, y := range buf {
			if _, seen := parent[y]; seen || (Edge{y, x}) == avoid {
				continue
			}
			parent[y] = x
			if y == from {
				var out []int32
				for z := from; z != reghist.None; z = parent[z] {
					out = append(out, z)
				}
				return out
			}
			queue = append(queue, y)
		}
	}
	return nil
}

func (c *Checker) initialRead(p, w, r int32) *Violation {
	return c.violation(p, false, c.path(p, w, r, Edge{}))
}

// cycle reports the cycle closed by the edge pred -> op, where pred is
// already an ancestor of op's descendants on the stack.
func (c *Checker) cycle(p, op, pred int32) *Violation {
	// op must follow pred; pred must (through the stack) follow op.
	back := c.path(p, op, pred, Edge{})
	if back == nil {
		back = []int32{op, pred}
	}
	return c.violation(p, true, back)
}

func (c *Checker) violation(p int32, cycle bool, path []int32) *Violation {
	v := &Violation{Viewer: p, Cycle: cycle, Path: path, Because: map[Edge]int32{}}
	edges := len(path) - 1
	if cycle {
		edges = len(path)
	}
	for i := 0; i < edges; i++ {
		e := Edge{path[i], path[(i+1)%len(path)]}
		if r, ok := c.because[e]; ok {
			v.Because[e] = r
		}
	}
	return v
}

// Ancestry returns a shortest chain from one operation to another in p's
// view, under the edges the last check forced but without the edge avoid;
// explanations use it to show why a forced edge holds.
func (c *Checker) Ancestry(p, from, to int32, avoid Edge) []int32 {
	return c.path(p, from, to, avoid)
}
