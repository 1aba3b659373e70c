package txn

import (
	"context"
	"fmt"
	"slices"

	"consist/checker"
	"consist/checker/internal/graph"
	"consist/history"
)

// elem is an appended value as a map key: the value itself when it is
// comparable, its canonical text otherwise.
func elem(v any) any {
	switch v.(type) {
	case []any, map[string]any:
		return history.Canonical(v)
	}
	return v
}

// table maps the elements of one key to T: small non-negative integers
// (what Elle's workloads append) by position in a slice, every other
// value by its elem in a map.
type table[T any] struct {
	dense []T
	set   []bool
	m     map[any]T
}

// get returns what v maps to.
func (t *table[T]) get(v any) (T, bool) {
	if i, ok := v.(int64); ok && i >= 0 && i < int64(len(t.dense)) {
		return t.dense[i], t.set[i]
	}
	x, ok := t.m[elem(v)]
	return x, ok
}

// put maps v to x.
func (t *table[T]) put(v any, x T) {
	if i, ok := v.(int64); ok && i >= 0 && i < 2*int64(len(t.dense))+64 {
		if i >= int64(len(t.dense)) {
			t.grow(int(i) + 1)
		}
		t.dense[i], t.set[i] = x, true
		return
	}
	if t.m == nil {
		t.m = map[any]T{}
	}
	t.m[elem(v)] = x
}

// grow makes the dense part n long, moving into it the integers the map
// held below n.
func (t *table[T]) grow(n int) {
	old := len(t.dense)
	n = max(n, 2*old)
	t.dense = append(t.dense, make([]T, n-old)...)
	t.set = append(t.set, make([]bool, n-old)...)
	for k, x := range t.m {
		if i, ok := k.(int64); ok && i >= int64(old) && i < int64(n) {
			t.dense[i], t.set[i] = x, true
			delete(t.m, k)
		}
	}
}

// writerAt says which transaction appended an element of a key, and where.
type writerAt struct {
	txn int32
	mop int32
	// last is whether it was the transaction's last append to the key.
	last bool
}

// keyState is what the inference knows about one key.
type keyState struct {
	// order is the version order: the longest read of the key, then the
	// committed appends no read observed.
	order []any
	// pos maps an element to its position in order.
	pos table[int32]
	// longest is the transaction and micro-op whose read gave order.
	longestTxn, longestMop int32
	// observed is the length of the longest read.
	observed int
}

// inferAppend infers the dependencies of a list-append history as Elle
// does (Kingsbury & Alvaro, VLDB 2020, §4.1 and elle/list_append.clj):
//
//   - each key's version order is its longest read; every other read of
//     it must be a prefix of that one (else incompatible-order); appends of
//     committed transactions that no read observed come after it, as their
//     commit forces (Elle's unobserved writes);
//   - a read that shows an element twice is duplicate-elements; one of an
//     element nobody appended an unwritten-read (checker.UnwrittenRead:
//     Elle has no kind for it, see the taxonomy); one of an element appended
//     by an aborted transaction G1a; one ending at an element its writer
//     appended before another append to the same key G1b; an aborted
//     append followed in the version order by a committed one a dirty
//     update;
//   - within a transaction, a read must show its own earlier appends and
//     what its own earlier read showed (internal), and must not show
//     what it appends only later (future-read);
//   - ww: the writers of consecutive versions; wr: the writer of a read's
//     last element to the reader; rw: a reader to the writer of the
//     element after its read's last one (the first element, for an empty
//     read). Only a transaction's first read of a key before it appends
//     to it (an external read) gives wr and rw edges.
func inferAppend(ctx context.Context, th *History) (Inference, error) {
	return inferAppendTo(ctx, th, nil, nil)
}

// inferAppendTo is inferAppend adding each dependency's edge to b, when b
// is not nil, instead of keeping the dependency in Deps; with b nil, keep,
// when not nil, says which dependencies to keep, by their ends.
func inferAppendTo(ctx context.Context, th *History, b *graph.Builder, keep func(from, to int32) bool) (Inference, error) {
	var inf Inference
	if b == nil && keep == nil {
		mops := 0
		for ti := range th.Txns {
			mops += len(th.Txns[ti].Mops)
		}
		inf.Deps = make([]Dep, 0, mops+mops/2)
	}
	add := func(from, to int32, rel graph.Rel, key int32, value, next any) {
		switch {
		case b != nil:
			b.Add(from, to, rel)
		case keep == nil || keep(from, to):
			inf.Deps = append(inf.Deps, Dep{From: from, To: to, Rel: rel, Key: key, Value: value, Next: next})
		}
	}
	nk := len(th.Keys)
	writers := make([]table[writerAt], nk)
	w := func() *checker.Witness { return checker.NewWitness(th.H) }
	// Writers of each element; a value appended twice to one key makes
	// the version order ambiguous, which Elle refuses too.
	for ti := range th.Txns {
		if ti&4095 == 0 && ctx.Err() != nil {
			return inf, ctx.Err()
		}
		t := &th.Txns[ti]
		for mi, m := range t.Mops {
			if m.Kind != Append {
				continue
			}
			if prev, ok := writers[m.Key].get(m.Value); ok {
				return inf, fmt.Errorf("value %s is appended to key %s twice (operations %d and %d): list-append histories need unique values per key, as Elle requires; make the workload append distinct values", history.Canonical(m.Value), history.Canonical(th.Keys[m.Key]), th.Txns[prev.txn].Index, t.Index)
			}
			last := true
			for _, m2 := range t.Mops[mi+1:] {
				if m2.Kind == Append && m2.Key == m.Key {
					last = false
					break
				}
			}
			writers[m.Key].put(m.Value, writerAt{txn: int32(ti), mop: int32(mi), last: last})
		}
	}
	// The longest read of each key.
	keys := make([]keyState, nk)
	for k := range keys {
		keys[k].longestTxn = -1
	}
	for ti := range th.Txns {
		if ti&4095 == 0 && ctx.Err() != nil {
			return inf, ctx.Err()
		}
		t := &th.Txns[ti]
		for mi, m := range t.Mops {
			if m.Kind == ReadList && m.Known && len(m.List) > keys[m.Key].observed {
				keys[m.Key].observed = len(m.List)
				keys[m.Key].order = m.List
				keys[m.Key].longestTxn, keys[m.Key].longestMop = int32(ti), int32(mi)
			}
		}
	}
	for k := range keys {
		ks := &keys[k]
		for i, v := range ks.order {
			if _, dup := ks.pos.get(v); !dup {
				ks.pos.put(v, int32(i))
			}
		}
	}
	// clean[k] is how long a prefix of key k's longest read holds no
	// duplicate, no element nobody appended and none an aborted
	// transaction appended: a read that is a prefix of that one, no
	// longer, shows none of the anomalies below but G1b.
	clean := make([]int, nk)
	for k := range keys {
		ks := &keys[k]
		for i, v := range ks.order {
			p, _ := ks.pos.get(v)
			wa, ok := writers[k].get(v)
			if p != int32(i) || !ok || th.Txns[wa.txn].Type == history.Fail {
				break
			}
			clean[k] = i + 1
		}
	}
	// Reads: duplicates, garbage, incompatible orders, G1a, G1b, and the
	// edges they give.
	incompatible := map[int32]bool{}
	seen := map[any]bool{}
	for ti := range th.Txns {
		if ti&4095 == 0 && ctx.Err() != nil {
			return inf, ctx.Err()
		}
		t := &th.Txns[ti]
		if !t.Committed() {
			continue
		}
		for mi, m := range t.Mops {
			if m.Kind != ReadList || !m.Known {
				continue
			}
			ks := &keys[m.Key]
			key := th.Keys[m.Key]
			// A read the history reader shared with the longest read's
			// storage is its prefix.
			prefix := len(m.List) > 0 && len(m.List) <= clean[m.Key] && &m.List[0] == &ks.order[0]
			if len(m.List) > 16 && !prefix {
				clear(seen)
			}
			for i, v := range m.List {
				if prefix {
					break
				}
				e := elem(v)
				if dupAt(m.List, i, e, seen) {
					x := w()
					inf.Anomalies = append(inf.Anomalies, x.Anomaly(checker.DuplicateElements, key,
						checker.Say("%s read key %s = %s, which shows %s twice", x.Op(t.Op), checker.Val(key), checker.Val(m.List), checker.Val(v))))
					break
				}
				wa, ok := writers[m.Key].get(v)
				if !ok {
					x := w()
					inf.Anomalies = append(inf.Anomalies, x.Anomaly(checker.UnwrittenRead, key,
						checker.Say("%s read key %s = %s, but no transaction appended %s to it", x.Op(t.Op), checker.Val(key), checker.Val(m.List), checker.Val(v))))
					continue
				}
				wt := &th.Txns[wa.txn]
				if wt.Type == history.Fail && wa.txn != int32(ti) {
					x := w()
					inf.Anomalies = append(inf.Anomalies, x.Anomaly(checker.G1a, key,
						checker.Say("%s read key %s = %s, showing %s, which %s appended and which aborted (aborted read)", x.Op(t.Op), checker.Val(key), checker.Val(m.List), checker.Val(v), x.Op(wt.Op))))
				}
				if i < len(ks.order) && elem(ks.order[i]) != e && !incompatible[m.Key] {
					incompatible[m.Key] = true
					x := w()
					lt := &th.Txns[ks.longestTxn]
					inf.Anomalies = append(inf.Anomalies, x.Anomaly(checker.IncompatibleOrder, key,
						checker.Say("%s read key %s = %s and %s read it = %s: neither list is a prefix of the other, so no single order of the appends explains both", x.Op(t.Op), checker.Val(key), checker.Val(m.List), x.Op(lt.Op), checker.Val(lt.Mops[ks.longestMop].List))))
				}
			}
			if n := len(m.List); n > 0 {
				if wa, ok := writers[m.Key].get(m.List[n-1]); ok && !wa.last && wa.txn != int32(ti) {
					wt := &th.Txns[wa.txn]
					x := w()
					inf.Anomalies = append(inf.Anomalies, x.Anomaly(checker.G1b, key,
						checker.Say("%s read key %s = %s, ending at %s, which %s appended before appending to the key again (intermediate read)", x.Op(t.Op), checker.Val(key), checker.Val(m.List), checker.Val(m.List[n-1]), x.Op(wt.Op))))
				}
			}
			_ = mi
		}
	}
	// Unobserved committed appends follow the longest read. An
	// indeterminate transaction one of whose appends was read took effect,
	// so its other appends count as committed too.
	tookEffect := make([]bool, len(th.Txns))
	for k := range keys {
		for _, v := range keys[k].order {
			if wa, ok := writers[k].get(v); ok && th.Txns[wa.txn].Type == history.Info {
				tookEffect[wa.txn] = true
			}
		}
	}
	for ti := range th.Txns {
		if ti&4095 == 0 && ctx.Err() != nil {
			return inf, ctx.Err()
		}
		t := &th.Txns[ti]
		if !t.Committed() && !tookEffect[ti] {
			continue
		}
		for _, m := range t.Mops {
			if m.Kind != Append {
				continue
			}
			ks := &keys[m.Key]
			if _, ok := ks.pos.get(m.Value); !ok {
				ks.pos.put(m.Value, int32(len(ks.order)))
				ks.order = append(ks.order, m.Value)
			}
		}
	}
	// Dirty updates: an aborted append followed by a committed one.
	for k := range keys {
		ks := &keys[k]
		for i := 0; i < ks.observed; i++ {
			wa, ok := writers[k].get(ks.order[i])
			if !ok || th.Txns[wa.txn].Type != history.Fail {
				continue
			}
			for j := i + 1; j < ks.observed; j++ {
				wb, ok := writers[k].get(ks.order[j])
				if ok && th.Txns[wb.txn].Committed() {
					x := w()
					at, bt := &th.Txns[wa.txn], &th.Txns[wb.txn]
					inf.Anomalies = append(inf.Anomalies, x.Anomaly(checker.DirtyUpdate, th.Keys[k],
						checker.Say("%s appended %s to key %s and aborted, yet %s, which committed, appended %s after it (dirty update)", x.Op(at.Op), checker.Val(ks.order[i]), checker.Val(th.Keys[k]), x.Op(bt.Op), checker.Val(ks.order[j]))))
					break
				}
			}
			break
		}
	}
	inf.Anomalies = append(inf.Anomalies, internalAppend(th)...)
	if b != nil || keep == nil {
		// The second inference (keep set, no builder) only gathers the
		// dependencies of the cycles: its anomalies are the first's.
		inf.Anomalies = append(inf.Anomalies, vanishedAppend(th, writers, keys)...)
	}
	// ww: consecutive versions by different transactions.
	for k := range keys {
		ks := &keys[k]
		prev := int32(-1)
		var prevV any
		for i, v := range ks.order[:ks.observed] {
			if p, _ := ks.pos.get(v); p != int32(i) {
				continue // a duplicate: its first place stands
			}
			wa, ok := writers[k].get(v)
			if !ok {
				prev = -1
				continue
			}
			if prev >= 0 && prev != wa.txn && th.Txns[wa.txn].Type != history.Fail && th.Txns[prev].Type != history.Fail {
				add(prev, wa.txn, WW, int32(k), prevV, v)
			}
			prev, prevV = wa.txn, v
		}
	}
	// wr and rw from external reads.
	for ti := range th.Txns {
		if ti&4095 == 0 && ctx.Err() != nil {
			return inf, ctx.Err()
		}
		t := &th.Txns[ti]
		if !t.Committed() {
			continue
		}
		for mi, m := range t.Mops {
			if m.Kind != ReadList || !m.Known || touchedBefore(t.Mops, mi) {
				continue
			}
			ks := &keys[m.Key]
			next := 0
			if n := len(m.List); n > 0 {
				last := m.List[n-1]
				wa, ok := writers[m.Key].get(last)
				if ok && wa.txn != int32(ti) && th.Txns[wa.txn].Type != history.Fail {
					add(wa.txn, int32(ti), WR, m.Key, last, nil)
				}
				p, ok := ks.pos.get(last)
				if !ok {
					continue
				}
				next = int(p) + 1
			}
			if next < len(ks.order) {
				nv := ks.order[next]
				wa, ok := writers[m.Key].get(nv)
				if ok && wa.txn != int32(ti) && th.Txns[wa.txn].Type != history.Fail {
					var last any
					if n := len(m.List); n > 0 {
						last = m.List[n-1]
					}
					add(int32(ti), wa.txn, RW, m.Key, last, nv)
				}
			}
			// Unobserved appends after the read of the whole observed
			// order: each must follow the read.
			if next >= ks.observed {
				for j := max(next+1, ks.observed); j < len(ks.order); j++ {
					wa, _ := writers[m.Key].get(ks.order[j])
					if wa.txn != int32(ti) {
						add(int32(ti), wa.txn, RW, m.Key, lastOf(m.List), ks.order[j])
					}
				}
			}
		}
	}
	// Unobserved appends follow the last observed writer too.
	for k := range keys {
		ks := &keys[k]
		if ks.observed == 0 || ks.observed >= len(ks.order) {
			continue
		}
		wa, ok := writers[k].get(ks.order[ks.observed-1])
		if !ok || th.Txns[wa.txn].Type == history.Fail {
			continue
		}
		for j := ks.observed; j < len(ks.order); j++ {
			wb, _ := writers[k].get(ks.order[j])
			if wb.txn != wa.txn {
				add(wa.txn, wb.txn, WW, int32(k), ks.order[ks.observed-1], ks.order[j])
			}
		}
	}
	return inf, nil
}

// touchedBefore reports whether a micro-op before mops[i] used its key.
func touchedBefore(mops []Mop, i int) bool {
	for _, m := range mops[:i] {
		if m.Key == mops[i].Key {
			return true
		}
	}
	return false
}

// dupAt reports whether list[i] (whose elem is e) already appeared in
// list: by scanning a short list, or through seen for a long one (which
// it fills).
func dupAt(list []any, i int, e any, seen map[any]bool) bool {
	if len(list) <= 16 {
		for _, v := range list[:i] {
			if elem(v) == e {
				return true
			}
		}
		return false
	}
	if seen[e] {
		return true
	}
	seen[e] = true
	return false
}

func lastOf(l []any) any {
	if len(l) == 0 {
		return nil
	}
	return l[len(l)-1]
}

// internalAppend finds, in each committed transaction, reads that
// disagree with what the transaction itself did before (Elle's internal
// consistency: after reading L and appending a, b, a read must show L
// followed by a, b; after appending a, b with no read before, a read must
// end with a, b) and reads that show an element the transaction appends
// only later (future-read).
func internalAppend(th *History) []checker.Anomaly {
	var out []checker.Anomaly
	type expect struct {
		prefix   []any // a known whole list, when read is set
		read     bool
		appended []any
	}
	var buf []expect
	for ti := range th.Txns {
		t := &th.Txns[ti]
		if !t.Committed() || len(t.Mops) < 2 {
			continue
		}
		buf = slices.Grow(buf[:0], len(t.Mops))[:len(t.Mops)]
		for i := range buf {
			buf[i].prefix, buf[i].read, buf[i].appended = nil, false, buf[i].appended[:0]
		}
		exp := buf // by the first micro-op of each key
		for mi, m := range t.Mops {
			e := &exp[mi]
			for j, m2 := range t.Mops[:mi] {
				if m2.Key == m.Key {
					e = &exp[j]
					break
				}
			}
			switch m.Kind {
			case Append:
				e.appended = append(e.appended, m.Value)
			case ReadList:
				if !m.Known {
					continue
				}
				key := th.Keys[m.Key]
				// Future read: an element this transaction appends later.
				for _, later := range t.Mops[mi+1:] {
					if later.Kind == Append && later.Key == m.Key && slices.ContainsFunc(m.List, func(v any) bool { return elem(v) == elem(later.Value) }) {
						x := checker.NewWitness(th.H)
						out = append(out, x.Anomaly(checker.FutureRead, key,
							checker.Say("%s read key %s = %s, which shows %s, an element it appends only later", x.Op(t.Op), checker.Val(key), checker.Val(m.List), checker.Val(later.Value))))
						goto next
					}
				}
				{
					var want []any
					ok := true
					if e.read {
						want = append(slices.Clone(e.prefix), e.appended...)
						ok = equalList(m.List, want)
					} else if len(e.appended) > 0 {
						want = e.appended
						ok = len(m.List) >= len(want) && equalList(m.List[len(m.List)-len(want):], want)
					}
					if !ok {
						x := checker.NewWitness(th.H)
						what := "end with its own appends"
						if e.read {
							what = "equal its earlier read followed by its own appends"
						}
						out = append(out, x.Anomaly(checker.Internal, key,
							checker.Say("%s read key %s = %s, which does not %s, %s", x.Op(t.Op), checker.Val(key), checker.Val(m.List), what, checker.Val(slices.Clone(want)))))
					}
				}
			next:
				e.read, e.prefix, e.appended = true, m.List, nil
			}
		}
	}
	return out
}

func equalList(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if elem(a[i]) != elem(b[i]) {
			return false
		}
	}
	return true
}

// vanishedAppend finds observed transactions that vanish (checker.OTV;
// Bailis et al., "Highly Available Transactions: Virtues and Limitations",
// VLDB 2014, monotonic atomic view): a committed transaction T whose read
// of a key x shows an element a committed transaction U (not T, not
// aborted; an indeterminate U whose append was read took effect) appended,
// and whose later read (in T's micro-op order) of a key y that U appended
// to shows none of U's elements of y. In a list-append history a read of
// x is the list, and every element it shows is an effect of its writer
// the reader observed (Elle reads aborted reads the same way, from any
// element); a list of y lacking all of U's elements is a version of y
// before U's. x may be y: a re-read that lost U's element is one too. The
// later read may follow T's own appends to y; what counts is whether it
// shows U's. A read of y before the read of x is not one (MAV allows that
// read skew). It reports one witness per transaction.
//
// Each key's reads are prefixes of its version order (keys[k].order),
// else incompatible-order is reported and already rules out
// read-committed, and so monotonic atomic view: the candidates U for a
// later read of y of length b are the writers of the order's elements
// from b on, each checked against T's earlier reads, or, when T's earlier
// reads are shorter than that tail, the writers of the elements those
// reads show, each checked against the later read; whichever is fewer.
// The work per read is so the smaller of what it missed and what came
// before it, and every witness is verified against the lists themselves.
func vanishedAppend(th *History, writers []table[writerAt], keys []keyState) []checker.Anomaly {
	var out []checker.Anomaly
	// isPrefix reports whether list l of key k is a prefix of k's order.
	isPrefix := func(l []any, k int32) bool {
		o := keys[k].order
		if len(l) > len(o) {
			return false
		}
		if len(l) == 0 || &l[0] == &o[0] {
			return true
		}
		for i, v := range l {
			if elem(v) != elem(o[i]) {
				return false
			}
		}
		return true
	}
	// shows reports whether list l, a read of key k, holds v: at v's
	// place in the order when l is a prefix of it, else anywhere.
	shows := func(l []any, prefix bool, k int32, v any) bool {
		if prefix {
			p, ok := keys[k].pos.get(v)
			return ok && int(p) < len(l)
		}
		e := elem(v)
		for _, w := range l {
			if elem(w) == e {
				return true
			}
		}
		return false
	}
	// appendsTo has, for each transaction, bit k%64 set for each key k it
	// appends to: a writer whose bits miss the keys in question is no
	// candidate, which spares most lookups.
	appendsTo := make([]uint64, len(th.Txns))
	for ti := range th.Txns {
		for _, m := range th.Txns[ti].Mops {
			if m.Kind == Append {
				appendsTo[ti] |= 1 << (uint32(m.Key) & 63)
			}
		}
	}
	// prefix caches isPrefix for the micro-ops of one transaction: 0 not
	// known yet, 1 a prefix, 2 not.
	var prefix []int8
	for ti := range th.Txns {
		t := &th.Txns[ti]
		if !t.Committed() || len(t.Mops) < 2 {
			continue
		}
		prefix = append(prefix[:0], make([]int8, len(t.Mops))...)
		prefixAt := func(j int) bool {
			if prefix[j] == 0 {
				prefix[j] = 2
				if isPrefix(t.Mops[j].List, t.Mops[j].Key) {
					prefix[j] = 1
				}
			}
			return prefix[j] == 1
		}
		// firstShown returns the first of u's appends to the key of T's
		// read j that the read shows, or -1.
		firstShown := func(u *Txn, j int) int {
			r := &t.Mops[j]
			for mi, m := range u.Mops {
				if m.Kind == Append && m.Key == r.Key && shows(r.List, prefixAt(j), r.Key, m.Value) {
					return mi
				}
			}
			return -1
		}
		// vanished checks writer uw against T's later read j: an earlier
		// read of T shows one of its elements, and read j none of them.
		vanished := func(uw int32, j int) bool {
			if uw == int32(ti) {
				return false
			}
			u := &th.Txns[uw]
			if u.Type == history.Fail {
				return false // G1a's business
			}
			rj := &t.Mops[j]
			ya := -1
			for mi, m := range u.Mops {
				if m.Kind == Append && m.Key == rj.Key {
					ya = mi
					break
				}
			}
			if ya < 0 || firstShown(u, j) >= 0 {
				return false
			}
			for i := range j {
				ri := &t.Mops[i]
				if ri.Kind != ReadList || !ri.Known {
					continue
				}
				xa := firstShown(u, i)
				if xa < 0 {
					continue
				}
				x := checker.NewWitness(th.H)
				x.Link(u.Op, checker.WR)
				x.Link(t.Op, checker.RW)
				x.Order(u.Op, t.Op)
				kx, ky := th.Keys[ri.Key], th.Keys[rj.Key]
				out = append(out, x.Anomaly(checker.OTV, ky, checker.Say(
					"%s read key %s = %s, showing %s, which %s appended, and then read key %s = %s, which does not show the %s that transaction appended to it: it saw some of that transaction's writes and then missed another (observed transaction vanishes, a fractured read)",
					x.Op(t.Op), checker.Val(kx), checker.Val(ri.List), checker.Val(u.Mops[xa].Value), x.Op(u.Op),
					checker.Val(ky), checker.Val(rj.List), checker.Val(u.Mops[ya].Value))))
				return true
			}
			return false
		}
	reads:
		for j, rj := range t.Mops {
			if rj.Kind != ReadList || !rj.Known {
				continue
			}
			before := 0
			var seen uint64 // the keys of the earlier reads
			for _, m := range t.Mops[:j] {
				if m.Kind == ReadList && m.Known && len(m.List) > 0 {
					before += len(m.List)
					seen |= 1 << (uint32(m.Key) & 63)
				}
			}
			if before == 0 {
				continue
			}
			ks := &keys[rj.Key]
			if tail := len(ks.order) - len(rj.List); tail <= 0 {
				continue
			} else if tail <= before {
				for p := len(rj.List); p < len(ks.order); p++ {
					if wa, ok := writers[rj.Key].get(ks.order[p]); ok && appendsTo[wa.txn]&seen != 0 && vanished(wa.txn, j) {
						break reads
					}
				}
				continue
			}
			y := uint64(1) << (uint32(rj.Key) & 63)
			for _, m := range t.Mops[:j] {
				if m.Kind != ReadList || !m.Known {
					continue
				}
				for _, v := range m.List {
					if wa, ok := writers[m.Key].get(v); ok && appendsTo[wa.txn]&y != 0 && vanished(wa.txn, j) {
						break reads
					}
				}
			}
		}
	}
	return out
}
