package txnoracle

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Behaviour is how a generated history's reads were produced.
type Behaviour uint8

const (
	// SerialRealTime executes each transaction atomically at its commit:
	// strict serializable before corruption.
	SerialRealTime Behaviour = iota
	// SerialAnyOrder executes the committed transactions atomically in a
	// random order that ignores real time: serializable before corruption,
	// often not strict or strong-session.
	SerialAnyOrder
	// Snapshot executes each transaction on the snapshot taken at its
	// invocation and applies its effects at its commit; a transaction that
	// would break First-Committer-Wins usually aborts, but sometimes
	// commits anyway (a lost update).
	Snapshot
	// ReadCommitted lets every read see the latest committed state (plus
	// the transaction's own writes) at the moment of the read.
	ReadCommitted
	// ReadUncommitted applies every append and write to the shared state at
	// once, and never undoes them, even for aborted transactions: dirty and
	// intermediate reads.
	ReadUncommitted
	numBehaviours
)

func (b Behaviour) String() string {
	switch b {
	case SerialRealTime:
		return "serial-real-time"
	case SerialAnyOrder:
		return "serial-any-order"
	case Snapshot:
		return "snapshot"
	case ReadCommitted:
		return "read-committed"
	case ReadUncommitted:
		return "read-uncommitted"
	}
	return fmt.Sprintf("Behaviour(%d)", uint8(b))
}

// Workload is the kind of keys a generated history uses.
type Workload uint8

const (
	// AnyWorkload picks one of the others at random for each history.
	AnyWorkload Workload = iota
	// ListAppend uses only list keys: Append and ReadList.
	ListAppend
	// RWRegister uses only register keys: Write and ReadRegister.
	RWRegister
	// Mixed makes each key a list or a register at random.
	Mixed
)

// GenConfig shapes generated histories. The zero value of a field means
// the default given with it.
type GenConfig struct {
	// MinTxns and MaxTxns bound the number of transactions (2 and 8).
	MinTxns, MaxTxns int
	// MaxKeys bounds the number of keys, drawn from 1..MaxKeys (3).
	MaxKeys int
	// MaxOps bounds the micro-ops of a transaction, drawn from 1..MaxOps
	// (4).
	MaxOps int
	// MaxProcesses bounds the concurrent processes, drawn from
	// 1..MaxProcesses (3).
	MaxProcesses int
	// Workload is the kind of keys (AnyWorkload).
	Workload Workload
	// PFail and PInfo are each transaction's probability of aborting and of
	// ending indeterminate (0.1 each; a negative value means 0).
	PFail, PInfo float64
	// PCorrupt is a history's probability that one observed read of an OK
	// transaction is then changed at random (0.25; negative means 0).
	PCorrupt float64
	// Behaviours are the behaviours to draw from (all of them).
	Behaviours []Behaviour
	// ReadThenWrite makes every read followed by an append or write to the
	// same key in the same transaction, so that every transaction writes
	// every key it reads (then snapshot isolation implies serializability).
	ReadThenWrite bool
}

func (c GenConfig) withDefaults() GenConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MinTxns, 2)
	def(&c.MaxTxns, 8)
	if c.MaxTxns < c.MinTxns {
		c.MaxTxns = c.MinTxns
	}
	def(&c.MaxKeys, 3)
	def(&c.MaxOps, 4)
	def(&c.MaxProcesses, 3)
	prob := func(v *float64, d float64) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	prob(&c.PFail, 0.1)
	prob(&c.PInfo, 0.1)
	prob(&c.PCorrupt, 0.25)
	if len(c.Behaviours) == 0 {
		for b := range numBehaviours {
			c.Behaviours = append(c.Behaviours, b)
		}
	}
	return c
}

// Generated is a generated history and how it was made.
type Generated struct {
	History   History
	Behaviour Behaviour
	Workload  Workload
	// Corrupted says one observed read was changed after execution.
	Corrupted bool
	// ConflictCommitted says that, under Snapshot, a transaction committed
	// (or an indeterminate one took effect) despite a write conflict with
	// a concurrent committed one.
	ConflictCommitted bool
}

// Generate makes a random small history from r: it draws the keys, the
// transactions (appended and written values are unique per key, as Elle
// requires), the processes and the outcomes, then runs the transactions
// through an interleaving of the processes under a randomly drawn
// Behaviour, records the reads each OK transaction observed, and with
// probability cfg.PCorrupt changes one of them. Aborted and indeterminate
// transactions' reads are recorded as unknown; an indeterminate
// transaction's effects happen or not at random (under ReadUncommitted they
// always happen, and an aborted one's too). A process that ends with an
// indeterminate transaction runs no more (its later transactions go to a
// new process), as in Jepsen.
func Generate(r *rand.Rand, cfg GenConfig) Generated {
	cfg = cfg.withDefaults()
	g := Generated{Behaviour: cfg.Behaviours[r.IntN(len(cfg.Behaviours))], Workload: cfg.Workload}
	if g.Workload == AnyWorkload {
		g.Workload = Workload(1 + r.IntN(3))
	}
	nkeys := 1 + r.IntN(cfg.MaxKeys)
	if g.Behaviour == Snapshot && cfg.MaxKeys > 1 {
		// Snapshot anomalies (write skew) need two keys.
		nkeys = 2 + r.IntN(cfg.MaxKeys-1)
	}
	isList := make([]bool, nkeys)
	for k := range isList {
		switch g.Workload {
		case ListAppend:
			isList[k] = true
		case Mixed:
			isList[k] = r.IntN(2) == 0
		}
	}
	next := make([]int, nkeys) // the last value appended or written per key
	n := cfg.MinTxns + r.IntN(cfg.MaxTxns-cfg.MinTxns+1)
	h := make(History, n)
	for i := range h {
		t := &h[i]
		t.ID = i
		switch x := r.Float64(); {
		case x < cfg.PFail:
			t.Outcome = Fail
		case x < cfg.PFail+cfg.PInfo:
			t.Outcome = Info
		}
		nops := 1 + r.IntN(cfg.MaxOps)
		for len(t.Ops) < nops {
			k := r.IntN(nkeys)
			read := r.IntN(2) == 0
			write := func() {
				next[k]++
				if isList[k] {
					t.Ops = append(t.Ops, MicroOp{Kind: Append, Key: k, Value: next[k]})
				} else {
					t.Ops = append(t.Ops, MicroOp{Kind: Write, Key: k, Value: next[k]})
				}
			}
			if !read {
				write()
				continue
			}
			if isList[k] {
				t.Ops = append(t.Ops, MicroOp{Kind: ReadList, Key: k})
			} else {
				t.Ops = append(t.Ops, MicroOp{Kind: ReadRegister, Key: k})
			}
			if cfg.ReadThenWrite {
				write()
			}
		}
	}
	if g.Behaviour == Snapshot && !cfg.ReadThenWrite && r.IntN(2) == 0 {
		// Reads first, then writes: the shape of write skew.
		for i := range h {
			slices.SortStableFunc(h[i].Ops, func(a, b MicroOp) int {
				return cmpBool(!a.Kind.isRead(), !b.Kind.isRead())
			})
		}
	}
	run(r, &g, h, cfg, nkeys)
	for i := range h {
		if h[i].Outcome == OK {
			continue
		}
		for j := range h[i].Ops {
			if h[i].Ops[j].Kind.isRead() {
				h[i].Ops[j] = MicroOp{Kind: h[i].Ops[j].Kind, Key: h[i].Ops[j].Key, Unknown: true}
			}
		}
	}
	if r.Float64() < cfg.PCorrupt {
		g.Corrupted = corrupt(r, h, next)
	}
	g.History = h
	return g
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// active is a transaction in flight during a generated run.
type active struct {
	t       *Txn
	pc      int   // next micro-op
	snap    state // Snapshot: the state at invocation
	local   state // Snapshot: snap plus own effects; ReadCommitted: own effects (nil: none)
	started int   // Snapshot: the commit count at invocation
	applies bool  // whether its effects take place
}

// run interleaves the transactions of h over processes, executing them
// under g.Behaviour, and sets their processes, positions, observed reads
// and (Snapshot aborts) outcomes.
func run(r *rand.Rand, g *Generated, h History, cfg GenConfig, nkeys int) {
	db := make(state, nkeys)
	var commits []uint64 // Snapshot: the keys written by each commit, in order
	nproc := 1 + r.IntN(cfg.MaxProcesses)
	if g.Behaviour != SerialRealTime && cfg.MaxProcesses > 1 {
		// Anything but a serial execution needs concurrency to show.
		nproc = 2 + r.IntN(cfg.MaxProcesses-1)
	}
	slots := make([]*active, nproc)
	procOf := make([]int, nproc)
	for i := range procOf {
		procOf[i] = i
	}
	nextProc := nproc
	pending := 0 // the next transaction of h to invoke
	clock := 0
	var applied []int // SerialAnyOrder: the transactions whose effects happen
	// In half the histories, idle processes start transactions at once,
	// so that transactions overlap more.
	eager := r.IntN(2) == 0
	for pending < len(h) || slices.ContainsFunc(slots, func(a *active) bool { return a != nil }) {
		s := r.IntN(nproc)
		if eager && pending < len(h) && slots[s] != nil {
			// Prefer starting a transaction on an idle process: overlap.
			if idle := slices.Index(slots, nil); idle >= 0 {
				s = idle
			}
		}
		a := slots[s]
		if a == nil {
			if pending == len(h) {
				continue
			}
			t := &h[pending]
			pending++
			t.Process = procOf[s]
			t.Invoke = clock
			clock++
			a = &active{t: t, applies: t.Outcome == OK || t.Outcome == Info && r.IntN(2) == 0}
			if g.Behaviour == Snapshot {
				a.snap = slices.Clone(db)
				a.local = slices.Clone(db)
				a.started = len(commits)
			}
			slots[s] = a
			continue
		}
		if a.pc < len(a.t.Ops) {
			op := &a.t.Ops[a.pc]
			a.pc++
			switch g.Behaviour {
			case Snapshot:
				a.local = step(a.local, op)
			case ReadCommitted:
				view := slices.Clone(db)
				for k, l := range a.local {
					if l != nil {
						if isListKey(a.t, k) {
							view[k] = append(slices.Clone(view[k]), l...)
						} else {
							view[k] = l
						}
					}
				}
				step(view, op)
				if a.local == nil {
					a.local = make(state, nkeys)
				}
				if !op.Kind.isRead() {
					if op.Kind == Append {
						a.local[op.Key] = append(slices.Clone(a.local[op.Key]), op.Value)
					} else {
						a.local[op.Key] = []int{op.Value}
					}
				}
			case ReadUncommitted:
				db = step(db, op)
			}
			continue
		}
		// Completion.
		t := a.t
		t.Complete = clock
		clock++
		switch g.Behaviour {
		case SerialRealTime:
			if a.applies {
				for j := range t.Ops {
					db = step(db, &t.Ops[j])
				}
			}
		case SerialAnyOrder:
			if a.applies {
				applied = append(applied, int(t.ID))
			}
		case Snapshot:
			var writes uint64
			for _, op := range t.Ops {
				if !op.Kind.isRead() {
					writes |= 1 << op.Key
				}
			}
			conflict := false
			for _, w := range commits[a.started:] {
				conflict = conflict || w&writes != 0
			}
			switch {
			case conflict && t.Outcome == OK && r.IntN(4) != 0:
				t.Outcome = Fail // First-Committer-Wins
				a.applies = false
			case conflict && t.Outcome == Info:
				a.applies = false
			}
			g.ConflictCommitted = g.ConflictCommitted || conflict && a.applies
			if a.applies {
				for _, op := range t.Ops {
					if !op.Kind.isRead() {
						db = step(db, &op)
					}
				}
				commits = append(commits, writes)
			}
		case ReadCommitted:
			if a.applies {
				for _, op := range t.Ops {
					if !op.Kind.isRead() {
						db = step(db, &op)
					}
				}
			}
		}
		slots[s] = nil
		if t.Outcome == Info {
			procOf[s] = nextProc
			nextProc++
		}
	}
	if g.Behaviour == SerialAnyOrder {
		r.Shuffle(len(applied), func(i, j int) { applied[i], applied[j] = applied[j], applied[i] })
		db = make(state, nkeys)
		for _, i := range applied {
			for j := range h[i].Ops {
				db = step(db, &h[i].Ops[j])
			}
		}
	}
}

func isListKey(t *Txn, k int) bool {
	for _, op := range t.Ops {
		if op.Key == k {
			return op.Kind.isList()
		}
	}
	return false
}

// step executes op on st, recording a read's result in op, and returns
// the state after it.
func step(st state, op *MicroOp) state {
	out := slices.Clone(st)
	cur := out[op.Key]
	switch op.Kind {
	case Append:
		out[op.Key] = append(slices.Clone(cur), op.Value)
	case Write:
		out[op.Key] = []int{op.Value}
	case ReadList:
		op.List = slices.Clone(cur)
	case ReadRegister:
		op.Nil = len(cur) == 0
		op.Value = 0
		if !op.Nil {
			op.Value = cur[len(cur)-1]
		}
	}
	return out
}

// corrupt changes one observed read of an OK transaction at random and
// reports whether it found one; next holds the largest value per key.
func corrupt(r *rand.Rand, h History, next []int) bool {
	type at struct{ t, o int }
	var reads []at
	for i, t := range h {
		if t.Outcome != OK {
			continue
		}
		for j, op := range t.Ops {
			if op.Kind.isRead() && !op.Unknown {
				reads = append(reads, at{i, j})
			}
		}
	}
	if len(reads) == 0 {
		return false
	}
	pick := reads[r.IntN(len(reads))]
	op := &h[pick.t].Ops[pick.o]
	val := func() int { return 1 + r.IntN(next[op.Key]+1) }
	if op.Kind == ReadRegister {
		old := *op
		for range 4 {
			if r.IntN(4) == 0 {
				op.Nil, op.Value = true, 0
			} else {
				op.Nil, op.Value = false, val()
			}
			if op.Nil != old.Nil || op.Value != old.Value {
				return true
			}
		}
		*op = old
		return false
	}
	l := slices.Clone(op.List)
	switch x := r.IntN(4); {
	case x == 0 && len(l) > 0: // drop an element
		i := r.IntN(len(l))
		l = slices.Delete(l, i, i+1)
	case x == 1 && len(l) > 1: // swap two
		i := r.IntN(len(l) - 1)
		l[i], l[i+1] = l[i+1], l[i]
	case x == 2 && len(l) > 0: // truncate to a prefix
		l = l[:r.IntN(len(l))]
	default: // add a value
		l = append(l, val())
	}
	op.List = l
	return true
}
