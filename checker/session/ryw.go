package session

import (
	"sort"

	"consist/checker"
	"consist/checker/internal/reghist"
)

// readYourWrites finds the sessions with no view in which each of their
// writes precedes their later reads. Reads are free to go anywhere else,
// and another process's writes are free altogether, so the test is per
// process and key: with w1…wm the process's writes of x in session order,
// a read of x after k of them that saw wi (i ≤ k or not) demands that wi
// be newer than every other write of w1…wk. A read of the initial value
// after k ≥ 1 of them is impossible outright. Two demands (k, i) and
// (k', i') with i ≠ i', i' ≤ k and i ≤ k' contradict each other, and
// these pairs are the only contradictions: in a longer cycle of demands,
// the one with the largest k closes a pair with its successor.
func readYourWrites(r *reghist.History) []checker.Anomaly {
	var out []checker.Anomaly
	type demand struct {
		k, i    int   // after k own writes, the read saw own write number i (1-based)
		read, w int32 // the read and the write it saw
	}
	for p, ops := range r.Sessions {
		own := map[int32][]int32{} // key -> own writes in session order
		ownIndex := map[int32]int{}
		demands := map[int32][]demand{}
		for _, op := range ops {
			o := &r.Ops[op]
			if o.Reader() {
				k := len(own[o.Key])
				switch w := o.Reads; {
				case w == reghist.Initial && k > 0:
					last := own[o.Key][k-1]
					w := r.Witness()
					w.Link(r.Ops[last].Src, checker.ProcessOrder)
					out = append(out, w.Anomaly(checker.LostOwnWrite, r.Keys[o.Key],
						checker.Say("%s, then %s: the process did not see its own write (read-your-writes)", r.Describe(w, last), readPart(w, r, op))))
				case w >= 0 && r.Ops[w].Process == int32(p):
					demands[o.Key] = append(demands[o.Key], demand{k: k, read: op, w: w})
				}
			}
			if o.Writer() {
				own[o.Key] = append(own[o.Key], op)
				ownIndex[op] = len(own[o.Key])
			}
		}
		for key, ds := range demands {
			for j := range ds {
				ds[j].i = ownIndex[ds[j].w]
			}
			if a, b, ok := contradiction(ds, func(d demand) (int, int) { return d.k, d.i }); ok {
				ra, rb := ds[a].read, ds[b].read
				wa, wb := own[key][ds[a].i-1], own[key][ds[b].i-1]
				w := r.Witness()
				out = append(out, w.Anomaly(checker.LostOwnWrite, r.Keys[key],
					checker.Say("%s and %s; afterwards %s and %s, so each of its own writes was seen as newer than the other: the process did not see its latest write (read-your-writes)",
						r.Describe(w, wa), r.Describe(w, wb), readPart(w, r, ra), readPart(w, r, rb))))
			}
		}
	}
	return out
}

// readPart names a read, or the reading half of a cas.
func readPart(w *checker.Witness, r *reghist.History, op int32) checker.Phrase {
	o := &r.Ops[op]
	if o.Kind == reghist.Read {
		return r.Describe(w, op)
	}
	return checker.Say("%s found %s", r.Describe(w, op), reghist.Assign(r.Keys[o.Key], o.Read))
}

// contradiction finds two demands (k, i), (k', i') with i ≠ i', i' ≤ k and
// i ≤ k', in O(n log n): sweeping thresholds downwards, it keeps the two
// smallest distinct i among demands with k at least the threshold.
func contradiction[D any](ds []D, ki func(D) (int, int)) (int, int, bool) {
	byK := make([]int, len(ds))
	byI := make([]int, len(ds))
	for j := range ds {
		byK[j], byI[j] = j, j
	}
	sort.Slice(byK, func(a, b int) bool { ka, _ := ki(ds[byK[a]]); kb, _ := ki(ds[byK[b]]); return ka > kb })
	sort.Slice(byI, func(a, b int) bool { _, ia := ki(ds[byI[a]]); _, ib := ki(ds[byI[b]]); return ia > ib })
	best, second := -1, -1 // demands with the smallest and next smallest distinct i
	next := 0
	for _, s := range byI {
		ks, is := ki(ds[s])
		for next < len(byK) {
			if k, _ := ki(ds[byK[next]]); k < is {
				break
			}
			c := byK[next]
			next++
			_, ic := ki(ds[c])
			switch {
			case best < 0:
				best = c
			case ic < iOf(ds, best, ki):
				second, best = best, c
			case ic != iOf(ds, best, ki) && (second < 0 || ic < iOf(ds, second, ki)):
				second = c
			}
		}
		for _, c := range []int{best, second} {
			if c >= 0 && iOf(ds, c, ki) != is && iOf(ds, c, ki) <= ks {
				return c, s, true
			}
		}
	}
	return 0, 0, false
}

func iOf[D any](ds []D, j int, ki func(D) (int, int)) int {
	_, i := ki(ds[j])
	return i
}
