package txnoracle

import "fmt"

// Vanished is a witness of phenomenon OTV, "observed transaction
// vanishes", on list keys: transaction Reader's read number ReadX (an
// index into its Ops) showed an element Writer appended to that key, and
// its later read number ReadY showed none of Writer's appends to its key.
type Vanished struct {
	Reader, Writer int // transaction IDs
	ReadX, ReadY   int // indexes into the reader's Ops
}

func (v Vanished) String() string {
	return fmt.Sprintf("T%d's op %d saw T%d, its op %d missed it", v.Reader, v.ReadX, v.Writer, v.ReadY)
}

// OTV looks for phenomenon OTV, which monotonic atomic view proscribes
// (Bailis, Davidson, Fekete, Ghodsi, Hellerstein & Stoica, "Highly
// Available Transactions: Virtues and Limitations", VLDB 2014): once a
// transaction has observed some of another committed transaction's
// effects, a later read of it must not miss another of them. Formally, a
// cycle in Adya's unfolded serialization graph of one read-dependency by
// x from U to the reader T's read of x, T's program order to its later
// read of y, and edges by y (one at least an anti-dependency) from that
// read back to U: T's later read of y returned a version before U's.
//
// On list keys every read shows its whole version, and lists only grow,
// so the definition is checked as it reads, with no graph: for each
// committed T, each pair of its reads i before j, and each transaction U
// other than T that did not abort, T's read i shows a value U appended
// to its key (so U took effect, even if indeterminate) and U appended to
// read j's key, none of whose values read j shows. Register keys are
// left alone: their version order is not in the reads. Values must be
// unique per key (Generate's are), so that a value names its writer.
// The answer is the first witness, in the order of h, or false.
func OTV(h History) (Vanished, bool) {
	appended := func(u *Txn, k, v int) bool {
		for _, m := range u.Ops {
			if m.Kind == Append && m.Key == k && m.Value == v {
				return true
			}
		}
		return false
	}
	contains := func(l []int, v int) bool {
		for _, x := range l {
			if x == v {
				return true
			}
		}
		return false
	}
	for ti := range h {
		t := &h[ti]
		if t.Outcome != OK {
			continue
		}
		for j, ry := range t.Ops {
			if ry.Kind != ReadList || ry.Unknown {
				continue
			}
			for i, rx := range t.Ops[:j] {
				if rx.Kind != ReadList || rx.Unknown {
					continue
				}
				for ui := range h {
					u := &h[ui]
					if ui == ti || u.Outcome == Fail {
						continue
					}
					saw := false
					for _, v := range rx.List {
						if appended(u, rx.Key, v) {
							saw = true
							break
						}
					}
					if !saw {
						continue
					}
					wroteY, shown := false, false
					for _, m := range u.Ops {
						if m.Kind == Append && m.Key == ry.Key {
							wroteY = true
							shown = shown || contains(ry.List, m.Value)
						}
					}
					if wroteY && !shown {
						return Vanished{Reader: t.ID, Writer: u.ID, ReadX: i, ReadY: j}, true
					}
				}
			}
		}
	}
	return Vanished{}, false
}
