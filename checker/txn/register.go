package txn

// This file infers the dependencies of a read/write-register history as
// Elle does (Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from
// Experimental Observations", VLDB 2020, §4, and Elle's
// elle.rw-register): writes are assumed unique per key, so a read names
// the transaction it read from (wr); the version order of each key, which
// registers do not reveal, is what can be proven from the initial state
// and from the properties the user lets us assume of the store's keys,
// and ww and rw dependencies (Adya, "Weak Consistency", MIT 1999, §3.1.4)
// follow from it.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"consist/checker"
	"consist/checker/internal/graph"
	"consist/history"
)

// versionSource is one way of learning a key's version order.
type versionSource uint8

// The sources of version orders, in the order they are tried (Elle's
// version-graphs): the initial state always, the others when assumed.
const (
	// srcInitial: the initial state (nil) precedes every version.
	srcInitial versionSource = iota
	// srcWFR: a transaction's write of a key follows the version of it the
	// transaction read (Options.WFRKeys).
	srcWFR
	// srcSequential: each process's order of ok transactions orders the
	// versions it saw of each key (Options.SequentialKeys).
	srcSequential
	// srcLinearizable: real time orders the versions of each key
	// (Options.LinearizableKeys).
	srcLinearizable
)

// sourceNames are Elle's names for the sources.
var sourceNames = [...]string{"initial-state", "wfr-keys", "sequential-keys", "linearizable-keys"}

// Writers of a version, besides transaction numbers.
const (
	noWriter  int32 = -1
	ambiguous int32 = -2 // several transactions installed the value
)

// canon stands for a value that cannot be a map key (a list, a map): its
// canonical form.
type canon struct{ s string }

// norm makes v usable as a map key, equal exactly when history.Equal
// holds for ordinary values.
func norm(v any) any {
	switch v.(type) {
	case nil, bool, int64, float64, string, history.Number:
		return v
	}
	return canon{history.Canonical(v)}
}

// vkey is a key and a (normalised) value of it.
type vkey struct {
	key int32
	val any
}

// intKey is a key and an integer value of it.
type intKey struct {
	key int32
	val int64
}

// rwVersion is one version of a key: a value some transaction installed
// or read.
type rwVersion struct {
	key int32
	// shown is the value as the history has it.
	shown any
	// writer is the transaction whose final write of the key installed
	// the value: noWriter, or ambiguous when several did.
	writer int32
	// readers are the ok transactions whose external read of the key
	// returned the value, as a list in regInfer.rdTxn/rdNext.
	readHead, readTail int32
	// origin is the first transaction that named the value.
	origin int32
}

// rwTouch is what one transaction did with one key, as version numbers:
// its external read (the first micro-op on the key, when it is a known
// read), its final write, and the first and last versions it saw.
type rwTouch struct {
	txn, key       int32
	extRead, write int32 // -1: none
	first, final   int32
}

// vedge is a proven order between two versions of one key, with why it
// holds: a's version precedes b's (b is -1 for the initial state and
// writes-follow-reads, whose reason is one transaction).
type vedge struct {
	from, to int32
	src      versionSource
	a, b     int32
}

// regInfer holds the state of one inference.
type regInfer struct {
	ctx  context.Context
	th   *History
	opts checker.Options

	vers []rwVersion
	// ids number the versions: integers (most workloads write them) in
	// intIDs, whose keys hash fastest, other values in ids.
	ids           map[vkey]int32
	intIDs        map[intKey]int32
	nilOf         []int32 // each key's nil version, -1 until needed
	rdTxn, rdNext []int32
	touches       []rwTouch

	// failed and intermediate index the writes no read may observe: a
	// failed transaction's, and a value a transaction overwrote itself.
	failed, intermediate map[vkey]int32
	// rmw are (external read version, transaction) pairs of ok
	// transactions that read a key and then wrote it, for lost updates.
	rmw [][2]int32
	// eligible says whether a transaction's writes are known to have
	// taken effect: it is ok, or it is info and a read observed it.
	eligible []bool

	out Inference
}

// inferRegister infers the dependencies of the rw-register history th and
// the anomalies that show without a cycle (Kingsbury & Alvaro, VLDB 2020,
// §4; Elle's elle.rw-register; Adya 1999 for the anomalies):
//
//   - wr: an ok transaction's external read of k = v (its first micro-op
//     on k, a read) depends on the transaction whose final write of k
//     installed v, ok or info (reading it proves an info transaction took
//     effect). A read of nil reads the initial version; a value written
//     by no one is taken as an initial value, as Elle does. A value that
//     two transactions install and someone reads is an error: rw-register
//     inference needs unique writes.
//   - version orders, per key, from the sources Elle uses, each added in
//     turn: the initial state (nil) precedes every version; with
//     opts.WFRKeys a transaction's final write of k follows its external
//     read of k; with opts.SequentialKeys the last version of k an ok
//     transaction saw precedes the first version the next ok transaction
//     of its process that touches k saw; with opts.LinearizableKeys the
//     same holds for an ok transaction and the nearest transactions
//     touching k invoked after it completed. A source that would make
//     some key's order cyclic is left out, and each cycle is reported as
//     a cyclic-versions anomaly (Elle's :cyclic-versions). The orders are
//     used edge by edge, as Elle's are, without their transitive closure.
//   - ww and rw: for each proven v < v' of k, the writer of v precedes the
//     writer of v' (ww), and every reader of v precedes it (rw). Only ok
//     transactions and info transactions a read observed take part.
//   - anomalies without cycles: G1a (a read of a value only a failed
//     transaction wrote), G1b (a read of a value another transaction
//     overwrote itself), internal (a read that disagrees with the
//     transaction's own earlier write or read of the key), future-read (a
//     transaction read the value it wrote only later) and lost-update (two
//     ok transactions read one version of a key and both wrote it).
//
// Reads of info and failed transactions are unknown and constrain
// nothing; failed transactions' writes are never visible. Dirty updates
// are a list-append anomaly: a register write does not show what it was
// built on.
func inferRegister(ctx context.Context, th *History, opts checker.Options) (Inference, error) {
	th, err := asRegisters(th)
	if err != nil {
		return Inference{}, err
	}
	mops := 0
	for i := range th.Txns {
		mops += len(th.Txns[i].Mops)
	}
	r := &regInfer{ctx: ctx, th: th, opts: opts, ids: map[vkey]int32{}, intIDs: make(map[intKey]int32, mops),
		failed: map[vkey]int32{}, intermediate: map[vkey]int32{},
		vers: make([]rwVersion, 0, mops), touches: make([]rwTouch, 0, mops),
		rdTxn: make([]int32, 0, mops/2), rdNext: make([]int32, 0, mops/2)}
	r.nilOf = make([]int32, len(th.Keys))
	for i := range r.nilOf {
		r.nilOf[i] = -1
	}
	if err := r.scan(); err != nil {
		return Inference{}, err
	}
	if err := r.aborted(); err != nil {
		return Inference{}, err
	}
	r.lostUpdates()
	if err := r.wr(); err != nil {
		return Inference{}, err
	}
	edges, err := r.versionOrders()
	if err != nil {
		return Inference{}, err
	}
	if err := r.wwrw(edges); err != nil {
		return Inference{}, err
	}
	if err := r.vanished(edges); err != nil {
		return Inference{}, err
	}
	return r.out, nil
}

// asRegisters refuses a history FromHistory did not type as rw-register.
func asRegisters(th *History) (*History, error) {
	if th.Workload != RWRegister {
		return nil, fmt.Errorf("%s is a list-append history: rw-register inference needs register writes [\"w\", k, v] and reads [\"r\", k, v]", th.H.Source)
	}
	return th, nil
}

// cancelled reports the context's error every 4096 steps.
func (r *regInfer) cancelled(i int) error {
	if i&4095 == 0 {
		if err := r.ctx.Err(); err != nil {
			return fmt.Errorf("inferring rw-register dependencies: %w", err)
		}
	}
	return nil
}

// version returns the number of key k's version with value v, making it.
func (r *regInfer) version(k int32, v any, origin int32) int32 {
	id := int32(len(r.vers))
	if n, ok := v.(int64); ok {
		ik := intKey{k, n}
		if old, ok := r.intIDs[ik]; ok {
			return old
		}
		r.intIDs[ik] = id
	} else {
		vk := vkey{k, norm(v)}
		if old, ok := r.ids[vk]; ok {
			return old
		}
		r.ids[vk] = id
	}
	r.vers = append(r.vers, rwVersion{key: k, shown: v, writer: noWriter, readHead: -1, readTail: -1, origin: origin})
	if v == nil {
		r.nilOf[k] = id
	}
	return id
}

// registerKeyState is what one transaction has done so far with one key.
type registerKeyState struct {
	key int32
	// readFirst: the first micro-op on the key was a known read, of
	// extRead.
	readFirst bool
	extRead   any
	// wrote: the transaction wrote the key, last final.
	wrote bool
	final any
	// state is what a read should return now (internal consistency):
	// the last write's value, or the last read's; fromWrite says which.
	state               any
	hasState, fromWrite bool
	// future: the transaction later wrote the value it first read.
	future bool
}

// scan reads every transaction once: versions, readers and writers,
// touches, failed and intermediate writes, internal inconsistencies,
// future reads and read-modify-writes.
func (r *regInfer) scan() error {
	th := r.th
	r.eligible = make([]bool, len(th.Txns))
	var ks []registerKeyState
	for i := range th.Txns {
		if err := r.cancelled(i); err != nil {
			return err
		}
		t := &th.Txns[i]
		ti := int32(i)
		ks = ks[:0]
		internal := false
		for j := range t.Mops {
			m := &t.Mops[j]
			if m.Kind != Write && (m.Kind != ReadRegister || !m.Known) {
				continue // an unknown read constrains nothing
			}
			var e *registerKeyState
			for x := range ks {
				if ks[x].key == m.Key {
					e = &ks[x]
					break
				}
			}
			if e == nil {
				ks = append(ks, registerKeyState{key: m.Key})
				if m.Kind == ReadRegister {
					ks[len(ks)-1].readFirst, ks[len(ks)-1].extRead = true, m.Value
				}
				e = &ks[len(ks)-1]
			}
			v := norm(m.Value)
			if m.Kind == Write {
				if e.wrote {
					if _, dup := r.intermediate[vkey{m.Key, norm(e.final)}]; !dup {
						r.intermediate[vkey{m.Key, norm(e.final)}] = ti
					}
				}
				if t.Type == history.Fail {
					if _, dup := r.failed[vkey{m.Key, v}]; !dup {
						r.failed[vkey{m.Key, v}] = ti
					}
				}
				if e.readFirst && v == norm(e.extRead) {
					e.future = true
				}
				e.wrote, e.final = true, m.Value
				e.state, e.hasState, e.fromWrite = m.Value, true, true
				continue
			}
			if e.hasState && v != norm(e.state) && !internal {
				// Elle reports the first inconsistency of a transaction.
				internal = true
				r.internal(t, m, e)
			}
			e.state, e.hasState, e.fromWrite = m.Value, true, false
		}
		if t.Type == history.Fail {
			continue
		}
		r.eligible[i] = t.Type == history.OK
		for x := range ks {
			e := &ks[x]
			tc := rwTouch{txn: ti, key: e.key, extRead: -1, write: -1}
			if e.readFirst {
				tc.extRead = r.version(e.key, e.extRead, ti)
				v := &r.vers[tc.extRead]
				n := int32(len(r.rdTxn))
				r.rdTxn = append(r.rdTxn, ti)
				r.rdNext = append(r.rdNext, -1)
				if v.readTail < 0 {
					v.readHead = n
				} else {
					r.rdNext[v.readTail] = n
				}
				v.readTail = n
			}
			if e.wrote {
				tc.write = r.version(e.key, e.final, ti)
				v := &r.vers[tc.write]
				if v.writer == noWriter {
					v.writer = ti
				} else if v.writer != ti {
					v.writer = ambiguous
				}
			}
			tc.first, tc.final = tc.extRead, tc.write
			if tc.first < 0 {
				tc.first = tc.write
			}
			if tc.final < 0 {
				tc.final = tc.extRead
			}
			r.touches = append(r.touches, tc)
			if e.future {
				r.futureRead(t, e)
			}
			if e.readFirst && e.wrote {
				r.rmw = append(r.rmw, [2]int32{tc.extRead, ti})
			}
		}
	}
	return nil
}

// txnOp is transaction i's operation.
func (r *regInfer) txnOp(i int32) *history.Op { return r.th.Txns[i].Op }

// keyName names key k in a sentence.
func (r *regInfer) keyName(k int32) string { return checker.KeyName(r.th.Keys[k]) }

// internal reports that m, a read of t, disagrees with what t's own
// earlier micro-ops on the key left (Elle's internal consistency).
func (r *regInfer) internal(t *Txn, m *Mop, e *registerKeyState) {
	w := checker.NewWitness(r.th.H)
	why := "read"
	if e.fromWrite {
		why = "written"
	}
	r.out.Anomalies = append(r.out.Anomalies, w.Anomaly(checker.Internal, r.th.Keys[m.Key],
		checker.Say("%s read %s = %s after it had itself %s %s there: a transaction's reads must agree with its own earlier writes and reads (internal consistency)",
			w.Op(t.Op), r.keyName(m.Key), checker.Val(m.Value), why, checker.Val(e.state))))
}

// futureRead reports that t's external read of a key returned the value
// it wrote there only later.
func (r *regInfer) futureRead(t *Txn, e *registerKeyState) {
	w := checker.NewWitness(r.th.H)
	r.out.Anomalies = append(r.out.Anomalies, w.Anomaly(checker.FutureRead, r.th.Keys[e.key],
		checker.Say("%s read %s = %s before it wrote %s there itself: it saw its own future write",
			w.Op(t.Op), r.keyName(e.key), checker.Val(e.extRead), checker.Val(e.extRead))))
}

// aborted finds the reads of failed transactions' writes (G1a) and of
// intermediate writes (G1b), as Elle's g1a-cases and g1b-cases: every
// read micro-op of an ok transaction counts, external or not.
func (r *regInfer) aborted() error {
	if len(r.failed) == 0 && len(r.intermediate) == 0 {
		return nil
	}
	for i := range r.th.Txns {
		if err := r.cancelled(i); err != nil {
			return err
		}
		t := &r.th.Txns[i]
		if t.Type != history.OK {
			continue
		}
		for j := range t.Mops {
			m := &t.Mops[j]
			if m.Kind != ReadRegister || !m.Known {
				continue
			}
			vk := vkey{m.Key, norm(m.Value)}
			if wi, ok := r.failed[vk]; ok {
				w := checker.NewWitness(r.th.H)
				writer := r.txnOp(wi)
				w.Order(writer, t.Op)
				w.Link(writer, checker.WR)
				r.out.Anomalies = append(r.out.Anomalies, w.Anomaly(checker.G1a, r.th.Keys[m.Key],
					checker.Say("%s read %s = %s, which only %s wrote: it read the write of an aborted transaction (G1a, aborted read)",
						w.Op(t.Op), r.keyName(m.Key), checker.Val(m.Value), w.Op(writer))))
			}
			if wi, ok := r.intermediate[vk]; ok && wi != int32(i) {
				w := checker.NewWitness(r.th.H)
				writer := r.txnOp(wi)
				w.Order(writer, t.Op)
				w.Link(writer, checker.WR)
				r.out.Anomalies = append(r.out.Anomalies, w.Anomaly(checker.G1b, r.th.Keys[m.Key],
					checker.Say("%s read %s = %s, which %s wrote and then overwrote with %s in the same transaction: it read an intermediate version (G1b, intermediate read)",
						w.Op(t.Op), r.keyName(m.Key), checker.Val(m.Value), w.Op(writer), checker.Val(r.finalWrite(wi, m.Key)))))
			}
		}
	}
	return nil
}

// finalWrite is the value transaction i wrote last to key k.
func (r *regInfer) finalWrite(i, k int32) any {
	mops := r.th.Txns[i].Mops
	for j := len(mops) - 1; j >= 0; j-- {
		if mops[j].Kind == Write && mops[j].Key == k {
			return mops[j].Value
		}
	}
	return nil
}

// lostUpdates reports every version of a key that two or more ok
// transactions read externally and then wrote over (Elle's
// lost-update-cases; Adya 1999's H_lu): one of the updates was lost,
// whatever the version order.
func (r *regInfer) lostUpdates() {
	if len(r.rmw) < 2 {
		return
	}
	slices.SortStableFunc(r.rmw, func(a, b [2]int32) int { return int(a[0]) - int(b[0]) })
	for i := 0; i < len(r.rmw); {
		j := i + 1
		for j < len(r.rmw) && r.rmw[j][0] == r.rmw[i][0] {
			j++
		}
		if j-i >= 2 {
			v := &r.vers[r.rmw[i][0]]
			w := checker.NewWitness(r.th.H)
			var who []checker.Phrase
			for _, p := range r.rmw[i:j] {
				who = append(who, checker.Say("%s", w.Op(r.txnOp(p[1]))))
			}
			all, lost := "both", "one of the two updates was lost"
			if len(who) > 2 {
				all, lost = "all", "all but one of their updates were lost"
			}
			r.out.Anomalies = append(r.out.Anomalies, w.Anomaly(checker.LostUpdate, r.th.Keys[v.key],
				checker.Say("%s %s read %s = %s and then wrote it, so %s (lost update)",
					checker.Join(who, " and "), all, r.keyName(v.key), checker.Val(v.shown), lost)))
		}
		i = j
	}
}

// wr adds a write-read dependency from each version's writer to each of
// its readers, and marks the info transactions a read observed.
func (r *regInfer) wr() error {
	r.out.Deps = make([]Dep, 0, len(r.rdTxn))
	for id := range r.vers {
		if err := r.cancelled(id); err != nil {
			return err
		}
		v := &r.vers[id]
		if v.readHead < 0 || v.writer == noWriter {
			continue
		}
		if v.writer == ambiguous {
			return r.ambiguity(v)
		}
		for n := v.readHead; n >= 0; n = r.rdNext[n] {
			reader := r.rdTxn[n]
			if reader == v.writer {
				continue // a future read, reported by scan
			}
			r.out.Deps = append(r.out.Deps, Dep{From: v.writer, To: reader, Rel: WR, Key: v.key, Value: v.shown})
			r.eligible[v.writer] = true
		}
	}
	return nil
}

// ambiguity is the error for a read of a value two transactions wrote.
func (r *regInfer) ambiguity(v *rwVersion) error {
	h := r.th.H
	line := func(i int32) string {
		op := r.txnOp(i)
		e := h.InvokeEvent(op)
		if c := h.CompleteEvent(op); c != nil {
			e = c
		}
		if e.Line > 0 {
			return fmt.Sprintf("line %d", e.Line)
		}
		return fmt.Sprintf("index %d", e.Index)
	}
	writers := []string{}
	for i := range r.th.Txns {
		t := &r.th.Txns[i]
		if t.Type != history.Fail && len(writers) < 2 {
			for j := range t.Mops {
				if t.Mops[j].Kind == Write && t.Mops[j].Key == v.key && norm(t.Mops[j].Value) == norm(v.shown) {
					writers = append(writers, line(int32(i)))
					break
				}
			}
		}
	}
	return fmt.Errorf("%s: %s = %s is written by more than one transaction (%s) and read at %s: a rw-register history needs every value written at most once per key so that a read names its writer; make the workload's written values unique",
		h.Source, r.keyName(v.key), history.Describe(v.shown), strings.Join(writers, " and "), line(r.rdTxn[v.readHead]))
}

// versionOrders gathers the proven version orders, source by source as
// Elle's version-graphs does: a source whose orders, with those already
// taken, make any key's versions cyclic is reported (cyclic-versions)
// and left out. It returns the orders taken.
func (r *regInfer) versionOrders() ([]vedge, error) {
	seen := make(map[uint64]struct{}, len(r.vers))
	var taken []vedge
	used := []versionSource{}
	for _, src := range []versionSource{srcInitial, srcWFR, srcSequential, srcLinearizable} {
		switch {
		case src == srcWFR && !r.opts.WFRKeys,
			src == srcSequential && !r.opts.SequentialKeys,
			src == srcLinearizable && !r.opts.LinearizableKeys:
			continue
		}
		cand, err := r.sourceEdges(src, seen)
		if err != nil {
			return nil, err
		}
		if len(cand) == 0 {
			used = append(used, src)
			continue
		}
		// The initial state alone is a star from nil: never cyclic.
		if src != srcInitial {
			all := append(slices.Clip(taken), cand...)
			b := graph.NewBuilder(len(r.vers))
			for _, e := range all {
				b.Add(e.from, e.to, 0)
			}
			if sccs := b.Build().SCCs(); len(sccs) > 0 {
				// The edges out of each version, once for every component.
				off := make([]int32, len(r.vers)+1)
				for _, e := range all {
					off[e.from+1]++
				}
				for i := 1; i < len(off); i++ {
					off[i] += off[i-1]
				}
				byFrom := make([]int32, len(all))
				pos := slices.Clone(off)
				for i, e := range all {
					byFrom[pos[e.from]] = int32(i)
					pos[e.from]++
				}
				for _, scc := range sccs {
					r.cyclicVersions(scc, all, off, byFrom, append(slices.Clone(used), src))
				}
				for _, e := range cand {
					delete(seen, uint64(e.from)<<32|uint64(uint32(e.to)))
				}
				continue
			}
		}
		used = append(used, src)
		taken = append(taken, cand...)
	}
	return taken, nil
}

// sourceEdges returns the version orders src proves that seen does not
// hold yet, each once, and adds them to seen.
func (r *regInfer) sourceEdges(src versionSource, seen map[uint64]struct{}) ([]vedge, error) {
	var out []vedge
	add := func(from, to int32, a, b int32) {
		if from < 0 || to < 0 || from == to || r.vers[from].writer == ambiguous || r.vers[to].writer == ambiguous {
			return
		}
		k := uint64(from)<<32 | uint64(uint32(to))
		if _, ok := seen[k]; ok {
			return
		}
		seen[k] = struct{}{}
		out = append(out, vedge{from: from, to: to, src: src, a: a, b: b})
	}
	switch src {
	case srcInitial:
		for id := range r.vers {
			if err := r.cancelled(id); err != nil {
				return nil, err
			}
			// Only a key whose initial state someone read has a nil
			// version: elsewhere these orders give no dependency and can
			// close no cycle.
			if v := &r.vers[id]; v.shown != nil && r.nilOf[v.key] >= 0 {
				add(r.nilOf[v.key], int32(id), v.origin, -1)
			}
		}
	case srcWFR:
		for i := range r.touches {
			tc := &r.touches[i]
			if tc.extRead >= 0 && tc.write >= 0 && r.th.Txns[tc.txn].Type == history.OK {
				add(tc.extRead, tc.write, tc.txn, -1)
			}
		}
	case srcSequential:
		type pk struct {
			p history.Process
			k int32
		}
		last := map[pk]int32{}
		for i := range r.touches {
			if err := r.cancelled(i); err != nil {
				return nil, err
			}
			tc := &r.touches[i]
			t := &r.th.Txns[tc.txn]
			if t.Type != history.OK {
				continue
			}
			at := pk{t.Process, tc.key}
			if p, ok := last[at]; ok {
				add(r.touches[p].final, tc.first, r.touches[p].txn, tc.txn)
			}
			last[at] = int32(i)
		}
	case srcLinearizable:
		// The touches of each key, in order of invocation (the order of
		// th.Txns). A's last version precedes the first version of each
		// nearest touch invoked after A completed: one no touch between
		// them completed before it began (Elle's
		// transaction-graph->version-graphs over the real-time order).
		byKey := r.touchesByKey()
		for _, list := range byKey {
			n := len(list)
			inv := make([]int, n)
			sufMin := make([]int, n+1)
			sufMin[n] = math.MaxInt
			for j := n - 1; j >= 0; j-- {
				t := &r.th.Txns[r.touches[list[j]].txn]
				inv[j] = t.Invoke
				c := math.MaxInt
				if t.Type == history.OK {
					c = t.Complete
				}
				sufMin[j] = min(sufMin[j+1], c)
			}
			for j, ti := range list {
				a := &r.touches[ti]
				t := &r.th.Txns[a.txn]
				if t.Type != history.OK {
					continue
				}
				s := j + sort.SearchInts(inv[j:], t.Complete+1)
				for b := s; b < n && inv[b] < sufMin[s]; b++ {
					bt := &r.touches[list[b]]
					add(a.final, bt.first, a.txn, bt.txn)
				}
			}
			if err := r.ctx.Err(); err != nil {
				return nil, fmt.Errorf("inferring rw-register dependencies: %w", err)
			}
		}
	}
	return out, nil
}

// touchesByKey groups the touches by key, each group in transaction
// order.
func (r *regInfer) touchesByKey() [][]int32 {
	count := make([]int32, len(r.th.Keys)+1)
	for i := range r.touches {
		count[r.touches[i].key+1]++
	}
	for k := 1; k < len(count); k++ {
		count[k] += count[k-1]
	}
	flat := make([]int32, len(r.touches))
	pos := slices.Clone(count)
	for i := range r.touches {
		k := r.touches[i].key
		flat[pos[k]] = int32(i)
		pos[k]++
	}
	out := make([][]int32, len(r.th.Keys))
	for k := range out {
		out[k] = flat[count[k]:count[k+1]]
	}
	return out
}

// cyclicVersions reports one strongly connected component of a key's
// version orders as its shortest cycle through the component's first
// version, each step with the reason it holds. The edges out of version
// v are edges[byFrom[off[v]:off[v+1]]].
func (r *regInfer) cyclicVersions(scc []int32, edges []vedge, off, byFrom []int32, sources []versionSource) {
	in := make(map[int32]bool, len(scc))
	for _, v := range scc {
		in[v] = true
	}
	start := scc[0]
	via := map[int32]int32{start: -1} // version -> edge that reached it
	queue := []int32{start}
	var closing int32 = -1
	for len(queue) > 0 && closing < 0 {
		u := queue[0]
		queue = queue[1:]
		for _, ei := range byFrom[off[u]:off[u+1]] {
			to := edges[ei].to
			if !in[to] {
				continue
			}
			if to == start {
				closing = ei
				break
			}
			if _, ok := via[to]; !ok {
				via[to] = ei
				queue = append(queue, to)
			}
		}
	}
	var path []int32
	for ei := closing; ei >= 0; ei = via[edges[ei].from] {
		path = append(path, ei)
	}
	slices.Reverse(path)
	key := r.vers[start].key
	w := checker.NewWitness(r.th.H)
	var why []checker.Phrase
	for _, ei := range path {
		why = append(why, r.explainOrder(w, edges[ei]))
	}
	names := make([]string, len(sources)-1)
	for i, s := range sources[:len(sources)-1] {
		names[i] = sourceNames[s]
	}
	last := sourceNames[sources[len(sources)-1]]
	r.out.Anomalies = append(r.out.Anomalies, w.Anomaly(checker.CyclicVersions, r.th.Keys[key],
		checker.Say("the versions of %s cannot be ordered: %s. The %s orders closed this cycle with those of %s, so they were left out of the dependencies",
			r.keyName(key), checker.Join(why, "; "), last, strings.Join(names, ", "))))
}

// explainOrder says why e holds.
func (r *regInfer) explainOrder(w *checker.Witness, e vedge) checker.Phrase {
	v1, v2 := checker.Val(r.vers[e.from].shown), checker.Val(r.vers[e.to].shown)
	switch e.src {
	case srcInitial:
		return checker.Say("%s < %s, since the initial state precedes every version, and %s wrote or read %s", v1, v2, w.Op(r.txnOp(e.a)), v2)
	case srcWFR:
		return checker.Say("%s < %s, since %s read %s and then wrote %s (writes follow reads)", v1, v2, w.Op(r.txnOp(e.a)), v1, v2)
	case srcSequential:
		return checker.Say("%s < %s, since %s, which last saw %s, came before %s, which first saw %s, in %s's order (sequential keys)",
			v1, v2, w.Op(r.txnOp(e.a)), v1, w.Op(r.txnOp(e.b)), v2, w.Who(r.txnOp(e.b)))
	default:
		return checker.Say("%s < %s, since %s, which last saw %s, completed before %s, which first saw %s, began (linearizable keys)",
			v1, v2, w.Op(r.txnOp(e.a)), v1, w.Op(r.txnOp(e.b)), v2)
	}
}

// wwrw derives the write-write and read-write dependencies from the
// version orders: for v < v' of a key, the writer of v precedes the
// writer of v' (ww) and so does every reader of v (rw). A transaction
// never depends on itself.
func (r *regInfer) wwrw(edges []vedge) error {
	// Count first: the dependencies are most of the inference's memory.
	n := 0
	for _, e := range edges {
		v1, v2 := &r.vers[e.from], &r.vers[e.to]
		if v2.writer < 0 || !r.eligible[v2.writer] {
			continue
		}
		n++
		for m := v1.readHead; m >= 0; m = r.rdNext[m] {
			n++
		}
	}
	r.out.Deps = slices.Grow(r.out.Deps, n)
	for i, e := range edges {
		if err := r.cancelled(i); err != nil {
			return err
		}
		v1, v2 := &r.vers[e.from], &r.vers[e.to]
		w2 := v2.writer
		if w2 < 0 || !r.eligible[w2] {
			continue
		}
		if w1 := v1.writer; w1 >= 0 && w1 != w2 && r.eligible[w1] {
			r.out.Deps = append(r.out.Deps, Dep{From: w1, To: w2, Rel: WW, Key: v1.key, Value: v1.shown, Next: v2.shown})
		}
		for n := v1.readHead; n >= 0; n = r.rdNext[n] {
			if rd := r.rdTxn[n]; rd != w2 {
				r.out.Deps = append(r.out.Deps, Dep{From: rd, To: w2, Rel: RW, Key: v1.key, Value: v1.shown, Next: v2.shown})
			}
		}
	}
	return nil
}

// lookup returns the number of key k's version with value v, or -1.
func (r *regInfer) lookup(k int32, v any) int32 {
	if n, ok := v.(int64); ok {
		if id, ok := r.intIDs[intKey{k, n}]; ok {
			return id
		}
		return -1
	}
	if id, ok := r.ids[vkey{k, norm(v)}]; ok {
		return id
	}
	return -1
}

// vanished finds observed transactions that vanish (checker.OTV; Bailis
// et al., "Highly Available Transactions: Virtues and Limitations", VLDB
// 2014, monotonic atomic view) where the version order decides them: an
// ok transaction T reads key x = v, which a transaction U (not T, known
// to have taken effect) installed, and a later read of T (micro-op
// order) returns a version of a key y that U wrote which precedes U's
// version of y: the initial state (it precedes every version), or a
// version a proven order (edges) puts directly before U's. Registers do
// not show their history, so a read of a version two or more proven
// steps before U's is not searched for, nor one the assumed key
// properties do not order: what is reported is proven, not everything
// there is. Reads after T's own write of their key read T's own version
// and are left out. One witness per transaction.
func (r *regInfer) vanished(edges []vedge) error {
	var direct map[uint64]int32 // from<<32|to -> index into edges
	for ti := range r.th.Txns {
		if err := r.cancelled(ti); err != nil {
			return err
		}
		t := &r.th.Txns[ti]
		if t.Type != history.OK || len(t.Mops) < 2 {
			continue
		}
		// external reports whether the read at j is of a version T did
		// not write itself.
		external := func(j int) bool {
			m := &t.Mops[j]
			if m.Kind != ReadRegister || !m.Known {
				return false
			}
			for _, p := range t.Mops[:j] {
				if p.Kind == Write && p.Key == m.Key {
					return false
				}
			}
			return true
		}
	reads:
		for j := 1; j < len(t.Mops); j++ {
			if !external(j) {
				continue
			}
			ry := &t.Mops[j]
			vy := r.lookup(ry.Key, ry.Value)
			if vy < 0 {
				continue
			}
			for i := range j {
				if !external(i) {
					continue
				}
				rx := &t.Mops[i]
				vx := r.lookup(rx.Key, rx.Value)
				if vx < 0 {
					continue
				}
				u := r.vers[vx].writer
				if u < 0 || u == int32(ti) || !r.eligible[u] {
					continue
				}
				wrote := false
				for _, m := range r.th.Txns[u].Mops {
					wrote = wrote || m.Kind == Write && m.Key == ry.Key
				}
				if !wrote {
					continue
				}
				uy := r.lookup(ry.Key, r.finalWrite(u, ry.Key))
				if uy < 0 || uy == vy || r.vers[uy].writer != u {
					continue
				}
				e := int32(-1)
				if vy != r.nilOf[ry.Key] {
					if direct == nil {
						direct = make(map[uint64]int32, len(edges))
						for n, x := range edges {
							direct[uint64(x.from)<<32|uint64(uint32(x.to))] = int32(n)
						}
					}
					n, ok := direct[uint64(vy)<<32|uint64(uint32(uy))]
					if !ok {
						continue
					}
					e = n
				}
				w := checker.NewWitness(r.th.H)
				uop := r.txnOp(u)
				w.Link(uop, checker.WR)
				w.Link(t.Op, checker.RW)
				w.Order(uop, t.Op)
				why := checker.Say("the initial state precedes every version")
				if e >= 0 {
					why = r.explainOrder(w, edges[e])
				}
				r.out.Anomalies = append(r.out.Anomalies, w.Anomaly(checker.OTV, r.th.Keys[ry.Key], checker.Say(
					"%s read %s = %s, which %s wrote, and then read %s = %s, a version before the %s that transaction wrote (%s): it saw some of that transaction's writes and then missed another (observed transaction vanishes, a fractured read)",
					w.Op(t.Op), r.keyName(rx.Key), checker.Val(rx.Value), w.Op(uop),
					r.keyName(ry.Key), checker.Val(ry.Value), checker.Val(r.vers[uy].shown), why)))
				break reads
			}
		}
	}
	return nil
}
