package workloads

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"consist/adapters"
	"consist/checker"
	"consist/checker/oncall"
)

// OnCallRuleKey is the key the on-call workload's setup writes the rule
// to: the least number of doctors on call. The on-call checker reads the
// rule there.
const OnCallRuleKey = oncall.RuleKey

// onCall is the write-skew example of the design notes, after Cahill,
// Röhm and Fekete ("Serializable Isolation for Snapshot Databases",
// SIGMOD 2008, §2.1.2) and Jepsen's write-skew tests: doctors d0, d1, ...
// (Keys of them, default 3) are on call, and the hospital's rule keeps at
// least MinOnCall (default 1) of them there. A doctor goes off call in a
// transaction that first reads every doctor's flag and writes its own
// flag off only if it is on call and at least MinOnCall others stay on
// (adapters.Op.Guard; otherwise the transaction aborts, fail). Under
// snapshot isolation two doctors can both see the other on call and both
// leave: write skew, and the rule broken.
//
// Each doctor is a register (rw-register micro-ops) holding an integer:
// positive on call, negative off call, and its magnitude unique across
// every write of the run. So a read names the transaction it read from,
// which is what the transactional checker infers write-read dependencies
// from; and every transaction that writes a doctor has read that doctor
// first, so with checker.Options.WFRKeys the checker also knows each
// doctor's versions in order (write-write and read-write dependencies,
// and so G2-item, the write skew itself). A setup transaction writes the
// rule (OnCallRuleKey) and every doctor on call. Besides going off call,
// doctors come back on (a transaction that reads every doctor and writes
// its own flag on) and the roster is checked (a transaction of reads):
// every committed transaction reads every doctor, so each is a look at a
// state the on-call checker judges. Reads weigh the roster checks against
// the updates (1:3 by default).
type onCall struct {
	opts    Options
	doctors []string
	// index numbers the doctors' keys.
	index map[any]int
	mix   mix
	// next numbers the flags written, unique across doctors.
	next atomic.Int64
}

func newOnCall(opts Options) (*onCall, error) {
	doctors, err := keyNames("on-call", "d", opts, 3)
	if err != nil {
		return nil, err
	}
	if opts.MinOnCall == 0 {
		opts.MinOnCall = 1
	}
	if opts.MinOnCall < 0 || opts.MinOnCall >= len(doctors) {
		return nil, fmt.Errorf("on-call workload: a rule of %d on call among %d doctors: keep at least 1 and fewer than the doctors (use more keys)", opts.MinOnCall, len(doctors))
	}
	m, err := newMix("on-call", "update", opts, mix{reads: 1, updates: 3})
	if err != nil {
		return nil, err
	}
	index := map[any]int{}
	for i, d := range doctors {
		index[d] = i
	}
	return &onCall{opts: opts, doctors: doctors, index: index, mix: m}, nil
}

func (*onCall) Name() string { return "on-call" }

// Kind is Txn.
func (*onCall) Kind() adapters.Kind { return adapters.Txn }

// Models: the on-call invariant, and the transactional models.
func (*onCall) Models() []checker.Model {
	return append([]checker.Model{checker.OnCall}, TxnModels()...)
}

// Assume: writes follow reads (Elle's wfr-keys). Every transaction reads
// each doctor before it writes its own flag, and a flag written after the
// version its transaction read follows that version in every execution a
// serializable or snapshot-isolated store can give; with the assumption
// the transactional checker orders the flags, infers the read-write
// dependencies, and names write skew (G2-item) where it happens. Without
// it, register versions are unordered and write skew passes unseen.
func (*onCall) Assume(opts *checker.Options) { opts.WFRKeys = true }

// Setup writes the rule and every doctor on call, in one transaction.
func (w *onCall) Setup() []adapters.Op {
	mops := []adapters.MicroOp{{F: "w", Key: OnCallRuleKey, Value: int64(w.opts.MinOnCall)}}
	for _, d := range w.doctors {
		mops = append(mops, adapters.MicroOp{F: "w", Key: d, Value: w.next.Add(1)})
	}
	return []adapters.Op{{Kind: adapters.Txn, F: "txn", Value: mops}}
}

// Final reads every doctor's flag.
func (w *onCall) Final() []adapters.Op { return []adapters.Op{w.roster(-1, 0)} }

// roster returns a transaction that reads every doctor's flag and then,
// unless doctor is -1, writes flag to doctor's.
func (w *onCall) roster(doctor int, flag int64) adapters.Op {
	mops := make([]adapters.MicroOp, 0, len(w.doctors)+1)
	for _, d := range w.doctors {
		mops = append(mops, adapters.MicroOp{F: "r", Key: d})
	}
	if doctor >= 0 {
		mops = append(mops, adapters.MicroOp{F: "w", Key: w.doctors[doctor], Value: flag})
	}
	return adapters.Op{Kind: adapters.Txn, F: "txn", Value: mops}
}

func (w *onCall) Generator(_ int, rng *rand.Rand) Generator {
	pick, _ := newKeyPicker(rng, len(w.doctors), w.opts.Distribution)
	return &onCallGen{w: w, rng: rng, pick: pick, off: make([]bool, len(w.doctors))}
}

type onCallGen struct {
	w    *onCall
	rng  *rand.Rand
	pick keyPicker
	// off is, per doctor, whether this worker last saw the doctor off
	// call: it sends that doctor back on call next, and the others off.
	off []bool
}

// Next draws a roster check, or a doctor going off call (if this worker
// last saw it on) or coming back (if off).
func (g *onCallGen) Next() adapters.Op {
	w := g.w
	if w.mix.read(g.rng) {
		return w.roster(-1, 0)
	}
	d := g.pick()
	if g.off[d] {
		return w.roster(d, w.next.Add(1))
	}
	op := w.roster(d, -w.next.Add(1))
	doctor, min := w.doctors[d], w.opts.MinOnCall
	op.Guard = func(reads []adapters.MicroOp) error { return offCallAllowed(reads, doctor, min) }
	return op
}

// offCallAllowed is the guard of a doctor going off call: the doctor
// must be on call, and at least min others stay on.
func offCallAllowed(reads []adapters.MicroOp, doctor string, min int) error {
	others := 0
	for _, r := range reads {
		on := oncall.OnCall(r.Value)
		switch {
		case r.Key == doctor && !on:
			return fmt.Errorf("doctor %s is off call already", doctor)
		case r.Key != doctor && on:
			others++
		}
	}
	if others < min {
		return fmt.Errorf("doctor %s stays on call: %d other doctors are, and the rule keeps at least %d", doctor, others, min)
	}
	return nil
}

// Done remembers the flags an ok transaction read, and the one it wrote.
// After a doctor failed to go off call (the rule kept it, or it was off
// already) the worker sends it back on call next.
func (g *onCallGen) Done(op adapters.Op, ok bool, value any) {
	mops, _ := value.([]adapters.MicroOp)
	if !ok {
		mops, _ = op.Value.([]adapters.MicroOp)
		if n := len(mops); n > 0 && mops[n-1].F == "w" {
			if i, found := g.w.index[mops[n-1].Key]; found {
				g.off[i] = true
			}
		}
		return
	}
	for _, m := range mops {
		if i, found := g.w.index[m.Key]; found {
			g.off[i] = !oncall.OnCall(m.Value)
		}
	}
}
