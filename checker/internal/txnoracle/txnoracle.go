// Package txnoracle is a test oracle for transactional isolation: a
// brute-force reference implementation of serializability, strict
// serializability, strong session serializability, update serializability
// and snapshot isolation (with its strong and strong-session variants),
// written straight from
// their definitions, against which the fast Elle-style checker (which
// infers dependency graphs and looks for cycles, after Kingsbury & Alvaro,
// "Elle: Inferring Isolation Anomalies from Experimental Observations",
// VLDB 2020) is compared on small random histories.
//
// Nothing here builds a dependency graph or looks for a cycle: every model
// is decided by enumerating the executions its definition quantifies over
// and replaying the transactions in them.
//
//   - The serializable family (Check with Serializable,
//     StrictSerializable, StrongSessionSerializable) enumerates total
//     orders of the committed transactions, each indeterminate transaction
//     either placed somewhere in the order or left out, executes them one
//     after another from the initial state, and asks that every committed
//     transaction's reads return what was observed. This is serializability
//     as Papadimitriou defines it ("The Serializability of Concurrent
//     Database Updates", JACM 26(4), 1979: a history is serializable when
//     it is equivalent, read for read, to a serial execution of its
//     committed transactions), with Adya's treatment of aborted and
//     uncommitted transactions (Adya, "Weak Consistency: A Generalized
//     Theory and Optimistic Implementations for Distributed Transactions",
//     MIT PhD thesis, 1999, §3: aborted transactions are not in the
//     committed projection, so nothing may read from them). Strict
//     serializability adds Papadimitriou's real-time condition: when T1
//     completed before T2 was invoked, T1 precedes T2 (the transactional
//     form of Herlihy & Wing's linearizability, TOPLAS 12(3), 1990).
//     Strong session serializability adds, instead, each process's order
//     (Daudjee & Salem, "Lazy Database Replication with Ordering
//     Guarantees", ICDE 2004: strong session 1SR).
//
//   - Snapshot isolation (Check with SnapshotIsolation, StrongSessionSI,
//     StrongSI) enumerates total orders of 2n events, a start (snapshot)
//     event and a later commit event for each included transaction, as in
//     the definition of Berenson, Bernstein, Gray, Melton, O'Neil &
//     O'Neil ("A Critique of ANSI SQL Isolation Levels", SIGMOD 1995,
//     §4.2): a transaction reads from the snapshot of the data committed
//     before its start, plus its own writes; its writes become visible to
//     the transactions that start after it commits; and
//     First-Committer-Wins: two transactions whose [start, commit]
//     intervals overlap do not write the same key. This is the axiomatic SI of Cerone, Bernardi &
//     Gotsman ("A Framework for Transactional Consistency Models with
//     Atomic Visibility", CONCUR 2015, §4: visibility is "committed before
//     my snapshot", arbitration is the commit order, and the axioms INT,
//     EXT, PREFIX and NOCONFLICT hold), and Adya's PL-SI (thesis §4.3).
//     Cerone & Gotsman ("Analysing Snapshot Isolation", PODC 2016) prove
//     it equivalent to the graph condition Elle checks (every cycle of
//     the dependency graph has two adjacent anti-dependency edges), which
//     is what makes the comparison meaningful.
//     Strong SI and strong session SI (Daudjee & Salem, "Lazy Database
//     Replication with Snapshot Isolation", VLDB 2006) add that when T1
//     precedes T2 in real time (respectively in T2's process), T1 commits
//     before T2 starts.
//
//   - Update serializability (Check with UpdateSerializable; Garcia-Molina
//     & Wiederhold, "Read-Only Transactions in a Distributed Database",
//     ACM TODS 7(2), 1982; Adya's PL-3U, thesis chapter 4) is the serializable
//     search run on the update transactions (those that write) with each
//     committed read-only transaction in turn: the updates are
//     serializable, and every reader sees a state some serial order of
//     them produces, each reader its own order.
//
// Read committed, read uncommitted and the other weak levels are left out.
// Their usual definitions (Adya's PL-1, PL-2) are stated over dependency
// graphs, which is the method this oracle exists to check. The state-based
// ones (Crooks, Pu, Alvisi & Clement, "Seeing is Believing", PODC 2017:
// read committed when each read observes some committed state before the
// reader's commit) could be enumerated the same way, but they leave open
// what a list read after the transaction's own append returns when other
// appends committed in between, where Elle's internal-consistency rule
// makes its own choice; an oracle there would disagree by definition, not
// by mistake. Monotonic atomic view is the exception on list keys: OTV
// decides its phenomenon (Bailis et al., VLDB 2014) straight from the
// definition, since a list read shows its whole version and lists only
// grow, so no version order need be inferred.
//
// # Histories
//
// A History is a slice of transactions (Txn). Each has an id, a process, an
// outcome (OK: committed; Fail: aborted, never visible; Info: indeterminate,
// each either committed at some point or never visible), the integer
// positions in real time of its invocation and completion (an Info
// transaction has no completion), and its micro-ops in order: Append(k, v)
// and ReadList(k) → list on list keys, Write(k, v) and ReadRegister(k) →
// value (Nil for the initial, never-written state) on register keys. Keys
// and values are ints; a key is either a list key or a register key
// throughout a history (mixed histories are allowed, with different keys).
// Initially every list is empty and every register is nil. Values need not
// be unique (the oracle needs no version inference), though Elle-style
// checkers need them to be. Only the reads of OK transactions are checked:
// the reads of Fail and Info transactions were never observed.
//
// # Cost
//
// The search is exponential. It remembers the dead ends it has seen (the
// set of placed transactions and the database state), stops early when a
// transaction still to come has read a list of which the current one is
// not a prefix (lists only grow), and, for snapshot isolation, takes the
// start and commit of a transaction whose snapshot or commit point cannot
// matter as one step (see search.si); none of this can change the answer,
// and the tests compare the search with and without it. It counts the
// search nodes it expands, per model, and answers Unknown past
// Options.MaxWork (DefaultMaxWork). Generated histories of 8 transactions
// take at most about 2,000 nodes, of 12 about 30,000, of 14 about 140,000.
// Histories of more than MaxTxns non-aborted transactions or more than
// MaxKeys keys are refused with an error.
//
// # Comparing with a graph-based checker
//
// Generate makes seeded random histories (see GenConfig, Behaviour), and
// History.JSONL and History.EDN write them in consist's native JSON Lines
// and in Jepsen's EDN, for a checker's own reader. Where the oracle
// decides, a sound checker never says Invalid when the oracle says Valid.
// The converse needs the checker to know every version order: on
// list-append histories whose reads reveal the orders it should agree; on
// rw-register histories a checker inferring, as Elle does, only the
// version orders it can prove may miss cycles the oracle sees (a checker
// Valid, oracle Invalid) without being wrong.
//
// The package is for tests only: it is slow by design and reports a
// verdict and a witness, never anomalies.
package txnoracle

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// MaxTxns is the largest number of non-aborted (OK or Info) transactions
// Check accepts.
const MaxTxns = 16

// MaxKeys is the largest number of distinct keys Check accepts.
const MaxKeys = 64

// DefaultMaxWork is the number of search nodes Check expands before it
// answers Unknown when Options.MaxWork is 0.
const DefaultMaxWork = 200_000

// ErrTooLarge is returned (wrapped) by Check for a history with more than
// MaxTxns non-aborted transactions or more than MaxKeys keys.
var ErrTooLarge = errors.New("history too large for the brute-force transaction oracle")

// Outcome is how a transaction ended.
type Outcome uint8

const (
	// OK means the transaction committed and its reads were observed.
	OK Outcome = iota
	// Fail means the transaction aborted: none of its effects may be seen.
	Fail
	// Info means the outcome is unknown: the transaction may have committed
	// (at any point after its invocation) or not; its reads are unknown.
	Info
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Fail:
		return "fail"
	case Info:
		return "info"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Kind is what a micro-op does.
type Kind uint8

const (
	// Append appends Value to the list at Key.
	Append Kind = iota
	// ReadList reads the list at Key; List is what was observed.
	ReadList
	// Write sets the register at Key to Value.
	Write
	// ReadRegister reads the register at Key; Value is what was observed,
	// or Nil is set for the initial (never written) state.
	ReadRegister
)

func (k Kind) String() string {
	switch k {
	case Append:
		return "append"
	case ReadList:
		return "r"
	case Write:
		return "w"
	case ReadRegister:
		return "r"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) isRead() bool { return k == ReadList || k == ReadRegister }
func (k Kind) isList() bool { return k == Append || k == ReadList }

// MicroOp is one step of a transaction.
type MicroOp struct {
	Kind Kind
	Key  int
	// Value is the value appended or written, or the value a ReadRegister
	// observed (unless Nil or Unknown).
	Value int
	// Nil marks a ReadRegister that observed the initial, never-written
	// state.
	Nil bool
	// List is the list a ReadList observed (unless Unknown); nil and empty
	// both mean the empty list.
	List []int
	// Unknown marks a read whose result was not observed. The reads of
	// Fail and Info transactions are never checked, whether marked or not.
	Unknown bool
}

// String writes the micro-op in Elle's notation, e.g. [append 1 5],
// [r 1 [5 6]], [w 2 3], [r 2 nil], [r 2 ?] for an unknown read.
func (m MicroOp) String() string {
	switch {
	case !m.Kind.isRead():
		return fmt.Sprintf("[%s %d %d]", m.Kind, m.Key, m.Value)
	case m.Unknown:
		return fmt.Sprintf("[r %d ?]", m.Key)
	case m.Kind == ReadList:
		return fmt.Sprintf("[r %d %v]", m.Key, m.List)
	case m.Nil:
		return fmt.Sprintf("[r %d nil]", m.Key)
	}
	return fmt.Sprintf("[r %d %d]", m.Key, m.Value)
}

// Txn is one transaction of a history.
type Txn struct {
	// ID names the transaction in witnesses; IDs are unique in a history.
	ID int
	// Process is the client that ran it: a process runs its transactions
	// one at a time, in order of invocation.
	Process int
	Outcome Outcome
	// Invoke and Complete are positions in real time (any integers, e.g.
	// event indexes), with Invoke < Complete. Complete is ignored for Info
	// transactions: they never completed.
	Invoke, Complete int
	Ops              []MicroOp
}

// String writes the transaction on one line, e.g.
// "T3 p1 ok [0,5] [append 1 5] [r 1 [5]]".
func (t Txn) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "T%d p%d %s ", t.ID, t.Process, t.Outcome)
	if t.Outcome == Info {
		fmt.Fprintf(&b, "[%d,-]", t.Invoke)
	} else {
		fmt.Fprintf(&b, "[%d,%d]", t.Invoke, t.Complete)
	}
	for _, m := range t.Ops {
		b.WriteString(" ")
		b.WriteString(m.String())
	}
	return b.String()
}

// History is a transactional history: its transactions in any order.
type History []Txn

// String writes one transaction a line.
func (h History) String() string {
	var b strings.Builder
	for _, t := range h {
		b.WriteString(t.String())
		b.WriteString("\n")
	}
	return b.String()
}

// Model is an isolation level the oracle decides.
type Model uint8

const (
	// Serializable: some serial order of the committed transactions (and
	// of any subset of the indeterminate ones) explains every read.
	Serializable Model = iota
	// StrictSerializable: a serializable order that also respects real
	// time.
	StrictSerializable
	// StrongSessionSerializable: a serializable order that also respects
	// each process's order.
	StrongSessionSerializable
	// SnapshotIsolation: start and commit points as Berenson et al. define
	// them.
	SnapshotIsolation
	// StrongSessionSI: snapshot isolation in which each process's earlier
	// transactions commit before its later ones start.
	StrongSessionSI
	// StrongSI: snapshot isolation in which a transaction that completed
	// before another was invoked commits before that one starts.
	StrongSI
	// UpdateSerializable: update serializability (Garcia-Molina &
	// Wiederhold, "Read-Only Transactions in a Distributed Database", ACM
	// TODS 7(2), 1982; Adya's PL-3U, thesis chapter 4): the update transactions
	// (those that write) are serializable, and so is each read-only
	// transaction with them, each in an order of its own. It is decided
	// apart from Models, by the serializable search once per read-only
	// transaction (see Check), and has no single witness.
	UpdateSerializable
)

// Models lists every model Check decides.
var Models = []Model{Serializable, StrictSerializable, StrongSessionSerializable, SnapshotIsolation, StrongSessionSI, StrongSI}

// String gives the model's name as Elle and consist spell it.
func (m Model) String() string {
	switch m {
	case Serializable:
		return "serializable"
	case StrictSerializable:
		return "strict-serializable"
	case StrongSessionSerializable:
		return "strong-session-serializable"
	case SnapshotIsolation:
		return "snapshot-isolation"
	case StrongSessionSI:
		return "strong-session-snapshot-isolation"
	case StrongSI:
		return "strong-snapshot-isolation"
	case UpdateSerializable:
		return "update-serializable"
	}
	return fmt.Sprintf("Model(%d)", uint8(m))
}

func (m Model) snapshot() bool {
	return m == SnapshotIsolation || m == StrongSessionSI || m == StrongSI
}

// Verdict is the oracle's answer.
type Verdict uint8

const (
	// Unknown: the search went past its work bound (or the context ended).
	Unknown Verdict = iota
	// Valid: a witness exists; Result carries it.
	Valid
	// Invalid: the exhaustive search found no witness.
	Invalid
)

func (v Verdict) String() string {
	switch v {
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	}
	return "unknown"
}

// EventKind tells a snapshot-isolation witness's start events from its
// commit events.
type EventKind uint8

const (
	// Start is a transaction taking its snapshot.
	Start EventKind = iota
	// Commit is a transaction committing.
	Commit
)

// Event is one step of a snapshot-isolation witness.
type Event struct {
	Kind EventKind
	// Txn is the transaction's ID.
	Txn int
}

func (e Event) String() string {
	if e.Kind == Start {
		return fmt.Sprintf("s%d", e.Txn)
	}
	return fmt.Sprintf("c%d", e.Txn)
}

// Result is the oracle's answer for one model.
type Result struct {
	Model   Model
	Verdict Verdict
	// Order is, for a Valid serializable-family verdict, the IDs of the
	// transactions in a serial order that explains every read; the Info
	// transactions it leaves out are taken never to have committed.
	Order []int
	// Events is, for a Valid snapshot-isolation verdict, the start and
	// commit events in an order that explains every read; the Info
	// transactions it leaves out are taken never to have committed.
	Events []Event
	// Work is the number of search nodes expanded.
	Work int
	// Reason says why the verdict is Unknown.
	Reason string
}

// Options bound the search.
type Options struct {
	// MaxWork is the number of search nodes expanded before the answer is
	// Unknown; 0 means DefaultMaxWork.
	MaxWork int
}

// Check decides model m on h by exhaustive search. It returns an error for
// a malformed history (see Validate) or one too large (ErrTooLarge), and
// Unknown when the search goes past opts.MaxWork or ctx ends.
//
// UpdateSerializable is decided from its definition: the history of the
// update transactions (every transaction that writes, whatever its
// outcome, as Serializable treats them) and one committed read-only
// transaction must be serializable, for every committed read-only
// transaction; with none, the history of the update transactions alone.
// It is Valid when every one of those histories is, Invalid when one is
// not, else Unknown; its Work sums theirs, opts.MaxWork bounding each,
// and it has no Order (each read-only transaction has its own).
func Check(ctx context.Context, h History, m Model, opts Options) (Result, error) {
	if m == UpdateSerializable {
		return checkUpdateSerializable(ctx, h, opts)
	}
	p, err := prepare(h)
	if err != nil {
		return Result{}, err
	}
	return p.check(ctx, m, opts, false), nil
}

// CheckAll decides every model in Models, and UpdateSerializable, on h.
func CheckAll(ctx context.Context, h History, opts Options) (map[Model]Result, error) {
	p, err := prepare(h)
	if err != nil {
		return nil, err
	}
	out := make(map[Model]Result, len(Models)+1)
	for _, m := range Models {
		out[m] = p.check(ctx, m, opts, false)
	}
	if out[UpdateSerializable], err = checkUpdateSerializable(ctx, h, opts); err != nil {
		return nil, err
	}
	return out, nil
}

// checkUpdateSerializable decides update serializability as Check says.
func checkUpdateSerializable(ctx context.Context, h History, opts Options) (Result, error) {
	if err := Validate(h); err != nil {
		return Result{}, err
	}
	var updates History
	var readOnly []Txn
	for _, t := range h {
		switch {
		case writes(&t):
			updates = append(updates, t)
		case t.Outcome == OK:
			readOnly = append(readOnly, t)
		}
	}
	subs := []History{updates}
	if len(readOnly) > 0 {
		subs = subs[:0]
		for _, t := range readOnly {
			subs = append(subs, append(append(History{}, updates...), t))
		}
	}
	r := Result{Model: UpdateSerializable, Verdict: Valid}
	for _, sub := range subs {
		p, err := prepare(sub)
		if err != nil {
			return Result{}, err
		}
		sr := p.check(ctx, Serializable, opts, false)
		r.Work += sr.Work
		switch sr.Verdict {
		case Invalid:
			r.Verdict, r.Reason = Invalid, ""
			return r, nil
		case Unknown:
			r.Verdict, r.Reason = Unknown, sr.Reason
		}
	}
	return r, nil
}

// Validate reports the first malformation of h: duplicate IDs, an unknown
// outcome or micro-op kind, a completion not after its invocation, a key
// used both as a list and as a register.
func Validate(h History) error {
	ids := make(map[int]bool, len(h))
	keyList := map[int]bool{}
	for i, t := range h {
		where := fmt.Sprintf("transaction %d (ID %d)", i, t.ID)
		if ids[t.ID] {
			return fmt.Errorf("%s: duplicate ID; give every transaction its own ID", where)
		}
		ids[t.ID] = true
		if t.Outcome > Info {
			return fmt.Errorf("%s: outcome %d is not OK, Fail or Info", where, t.Outcome)
		}
		if t.Outcome != Info && t.Complete <= t.Invoke {
			return fmt.Errorf("%s: completion %d is not after invocation %d; completion positions must follow invocations", where, t.Complete, t.Invoke)
		}
		for j, op := range t.Ops {
			if op.Kind > ReadRegister {
				return fmt.Errorf("%s, micro-op %d: kind %d is not Append, ReadList, Write or ReadRegister", where, j, op.Kind)
			}
			if list, seen := keyList[op.Key]; seen && list != op.Kind.isList() {
				return fmt.Errorf("%s, micro-op %d %v: key %d is used both as a list and as a register; use different keys", where, j, op, op.Key)
			}
			keyList[op.Key] = op.Kind.isList()
		}
	}
	return nil
}

// prepared is a history ready for the searches: the aborted transactions
// dropped, the others numbered 0..n-1, the keys numbered 0..nkeys-1.
type prepared struct {
	txns   []ptxn
	okMask uint32 // the OK transactions
	// rtPred[j] and procPred[j] are the transactions that must precede j in
	// real time and in j's process.
	rtPred, procPred []uint32
	nkeys            int
}

// ptxn is a prepared transaction.
type ptxn struct {
	src    *Txn
	ok     bool   // committed and observed (as opposed to Info)
	ops    []pop  // micro-ops with dense keys
	writes uint64 // the keys it appends to or writes
	// external says some read of it that is compared with what was
	// observed depends on the state it starts from: a list read, or a
	// register read before its own write to the key.
	external bool
	// firstReads are, for an OK transaction, its checked list reads that
	// come before any append of its own to the key: whatever its snapshot,
	// the list that snapshot holds is what they observed.
	firstReads []pop
}

// pop is a micro-op on a dense key.
type pop struct {
	kind    Kind
	key     int
	value   int
	nilRead bool
	list    []int
	unknown bool
}

func prepare(h History) (*prepared, error) {
	if err := Validate(h); err != nil {
		return nil, err
	}
	p := &prepared{}
	keys := map[int]int{}
	for i := range h {
		t := &h[i]
		if t.Outcome == Fail {
			continue
		}
		if t.Outcome == Info && !writes(t) {
			// It has no effect and nothing it read is checked: leaving it
			// out is always at least as good as including it.
			continue
		}
		if len(p.txns) == MaxTxns {
			return nil, fmt.Errorf("more than %d non-aborted transactions: %w; check a smaller history", MaxTxns, ErrTooLarge)
		}
		pt := ptxn{src: t, ok: t.Outcome == OK}
		for _, op := range t.Ops {
			k, seen := keys[op.Key]
			if !seen {
				if len(keys) == MaxKeys {
					return nil, fmt.Errorf("more than %d keys: %w; check a history with fewer keys", MaxKeys, ErrTooLarge)
				}
				k = len(keys)
				keys[op.Key] = k
			}
			pt.ops = append(pt.ops, pop{kind: op.Kind, key: k, value: op.Value, nilRead: op.Nil, list: op.List, unknown: op.Unknown || !pt.ok})
			if !op.Kind.isRead() {
				pt.writes |= 1 << k
			} else if pt.ok && !op.Unknown {
				if op.Kind == ReadList || pt.writes&(1<<k) == 0 {
					pt.external = true
				}
				if op.Kind == ReadList && pt.writes&(1<<k) == 0 {
					pt.firstReads = append(pt.firstReads, pt.ops[len(pt.ops)-1])
				}
			}
		}
		if pt.ok {
			p.okMask |= 1 << len(p.txns)
		}
		p.txns = append(p.txns, pt)
	}
	p.nkeys = len(keys)
	n := len(p.txns)
	p.rtPred = make([]uint32, n)
	p.procPred = make([]uint32, n)
	for i, a := range p.txns {
		for j, b := range p.txns {
			if i == j {
				continue
			}
			// Real time: a completed before b was invoked. An Info
			// transaction never completed, so it precedes nothing.
			if a.ok && a.src.Complete < b.src.Invoke {
				p.rtPred[j] |= 1 << i
			}
			// Process order: a was invoked before b in the same process.
			if a.src.Process == b.src.Process && (a.src.Invoke < b.src.Invoke || a.src.Invoke == b.src.Invoke && i < j) {
				p.procPred[j] |= 1 << i
			}
		}
	}
	return p, nil
}

func writes(t *Txn) bool {
	for _, op := range t.Ops {
		if !op.Kind.isRead() {
			return true
		}
	}
	return false
}

// preds gives, for model m, the transactions that must precede each one.
func (p *prepared) preds(m Model) []uint32 {
	switch m {
	case StrictSerializable, StrongSI:
		return p.rtPred
	case StrongSessionSerializable, StrongSessionSI:
		return p.procPred
	}
	return make([]uint32, len(p.txns))
}

// check decides m; plain turns off the memo and the reductions.
func (p *prepared) check(ctx context.Context, m Model, opts Options, plain bool) Result {
	max := opts.MaxWork
	if max <= 0 {
		max = DefaultMaxWork
	}
	s := &search{p: p, ctx: ctx, max: max, memo: map[string]bool{}, plain: plain}
	s.pred = p.preds(m)
	s.succ = make([]uint32, len(p.txns))
	for j, ps := range s.pred {
		for i := range p.txns {
			if ps&(1<<i) != 0 {
				s.succ[i] |= 1 << j
			}
		}
	}
	r := Result{Model: m}
	var found bool
	st := make(state, p.nkeys)
	if m.snapshot() {
		found = s.si(0, 0, make([]uint32, len(p.txns)), st)
	} else {
		found = s.serial(0, st)
	}
	r.Work = s.work
	switch {
	case found:
		r.Verdict = Valid
		for _, i := range s.order {
			r.Order = append(r.Order, p.txns[i].src.ID)
		}
		for _, e := range s.events {
			r.Events = append(r.Events, Event{Kind: e.Kind, Txn: p.txns[e.Txn].src.ID})
		}
	case s.stopped != "":
		r.Verdict = Unknown
		r.Reason = s.stopped
	default:
		r.Verdict = Invalid
	}
	return r
}

// state is the database: for each dense key, its list (a register holding
// v is the list [v]; nil is the empty list). Slices are never modified in
// place once in a state, so states share them freely.
type state [][]int

// exec runs t's micro-ops on st and returns the state after them. When
// check is set it also compares every known read with what the state gives
// (after t's own earlier micro-ops) and returns false on the first
// mismatch.
func exec(t *ptxn, st state, check bool) (state, bool) {
	out := make(state, len(st))
	copy(out, st)
	for _, op := range t.ops {
		cur := out[op.key]
		switch op.kind {
		case Append:
			next := make([]int, len(cur)+1)
			copy(next, cur)
			next[len(cur)] = op.value
			out[op.key] = next
		case Write:
			out[op.key] = []int{op.value}
		case ReadList:
			if check && !op.unknown && !equal(cur, op.list) {
				return nil, false
			}
		case ReadRegister:
			if check && !op.unknown {
				if op.nilRead != (len(cur) == 0) || !op.nilRead && cur[len(cur)-1] != op.value {
					return nil, false
				}
			}
		}
	}
	return out, true
}

// viable reports whether every OK transaction outside done can still
// read what it observed from a later state than st. Lists only grow, so a
// list read that comes before the transaction's own appends to the key
// observes a list of which st's list is a prefix.
func (p *prepared) viable(done uint32, st state) bool {
	for rest := p.okMask &^ done; rest != 0; rest &= rest - 1 {
		for _, op := range p.txns[bits.TrailingZeros32(rest)].firstReads {
			cur := st[op.key]
			if len(op.list) < len(cur) || !equal(op.list[:len(cur)], cur) {
				return false
			}
		}
	}
	return true
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// encode appends st to b as a memo key.
func encode(b []byte, st state) []byte {
	for _, l := range st {
		b = appendInt(b, len(l))
		for _, v := range l {
			b = appendInt(b, v)
		}
	}
	return b
}

func appendInt(b []byte, v int) []byte {
	u := uint64(v)
	for range 8 {
		b = append(b, byte(u))
		u >>= 8
	}
	return b
}

// Parse reads a history written one transaction a line as Txn.String
// writes it: "T<id> p<process> <ok|fail|info> [<invoke>,<complete>|-]"
// followed by micro-ops in Elle's notation: [append k v], [r k [v ...]]
// (a list read), [w k v], [r k v] or [r k nil] (a register read), and
// [r k ?] for an unknown read (a list or register read as k is used
// elsewhere). Blank lines and lines starting with # are skipped. Errors
// name the line.
func Parse(text string) (History, error) {
	var h History
	var unknown []struct{ t, o int }
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := parseTxn(line)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
		for j, op := range t.Ops {
			if op.Unknown {
				unknown = append(unknown, struct{ t, o int }{len(h), j})
			}
		}
		h = append(h, t)
	}
	list := map[int]bool{}
	for _, t := range h {
		for _, op := range t.Ops {
			if !op.Unknown {
				list[op.Key] = op.Kind.isList()
			}
		}
	}
	for _, u := range unknown {
		op := &h[u.t].Ops[u.o]
		if list[op.Key] {
			op.Kind = ReadList
		}
	}
	return h, nil
}

func parseTxn(line string) (Txn, error) {
	var t Txn
	head := strings.Fields(line)
	if len(head) < 4 {
		return t, errors.New(`want "T<id> p<process> <outcome> [<invoke>,<complete>]" then micro-ops`)
	}
	if _, err := fmt.Sscanf(head[0], "T%d", &t.ID); err != nil {
		return t, fmt.Errorf("transaction %q: want T<id>", head[0])
	}
	if _, err := fmt.Sscanf(head[1], "p%d", &t.Process); err != nil {
		return t, fmt.Errorf("process %q: want p<process>", head[1])
	}
	switch head[2] {
	case "ok":
		t.Outcome = OK
	case "fail":
		t.Outcome = Fail
	case "info":
		t.Outcome = Info
	default:
		return t, fmt.Errorf("outcome %q: want ok, fail or info", head[2])
	}
	pos := strings.TrimSuffix(strings.TrimPrefix(head[3], "["), "]")
	inv, comp, found := strings.Cut(pos, ",")
	if !found {
		return t, fmt.Errorf("positions %q: want [<invoke>,<complete>] or [<invoke>,-]", head[3])
	}
	if _, err := fmt.Sscanf(inv, "%d", &t.Invoke); err != nil {
		return t, fmt.Errorf("invocation %q: want an integer", inv)
	}
	if comp != "-" {
		if _, err := fmt.Sscanf(comp, "%d", &t.Complete); err != nil {
			return t, fmt.Errorf("completion %q: want an integer or -", comp)
		}
	}
	// The micro-ops: the rest of the line after the fourth field.
	rest := line
	for range 4 {
		rest = strings.TrimSpace(rest)
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			rest = ""
			break
		}
		rest = rest[i:]
	}
	rest = strings.TrimSpace(rest)
	for rest != "" {
		if rest[0] != '[' {
			return t, fmt.Errorf("micro-op at %q: want [", rest)
		}
		depth, end := 0, -1
		for i, c := range rest {
			if c == '[' {
				depth++
			} else if c == ']' {
				depth--
				if depth == 0 {
					end = i
					break
				}
			}
		}
		if end < 0 {
			return t, fmt.Errorf("micro-op %q: unbalanced brackets", rest)
		}
		op, err := parseOp(rest[1:end])
		if err != nil {
			return t, fmt.Errorf("micro-op [%s]: %w", rest[1:end], err)
		}
		t.Ops = append(t.Ops, op)
		rest = strings.TrimSpace(rest[end+1:])
	}
	return t, nil
}

func parseOp(s string) (MicroOp, error) {
	var op MicroOp
	f, arg, _ := strings.Cut(strings.TrimSpace(s), " ")
	ks, v, _ := strings.Cut(strings.TrimSpace(arg), " ")
	v = strings.TrimSpace(v)
	if _, err := fmt.Sscanf(ks, "%d", &op.Key); err != nil {
		return op, fmt.Errorf("key %q: want an integer", ks)
	}
	switch {
	case f == "append" || f == "w":
		op.Kind = Append
		if f == "w" {
			op.Kind = Write
		}
		if _, err := fmt.Sscanf(v, "%d", &op.Value); err != nil {
			return op, fmt.Errorf("value %q: want an integer", v)
		}
	case f == "r" && v == "?":
		op.Kind, op.Unknown = ReadRegister, true
	case f == "r" && v == "nil":
		op.Kind, op.Nil = ReadRegister, true
	case f == "r" && strings.HasPrefix(v, "["):
		op.Kind = ReadList
		op.List = []int{}
		for _, e := range strings.Fields(strings.Trim(v, "[]")) {
			var x int
			if _, err := fmt.Sscanf(e, "%d", &x); err != nil {
				return op, fmt.Errorf("list element %q: want an integer", e)
			}
			op.List = append(op.List, x)
		}
	case f == "r":
		op.Kind = ReadRegister
		if _, err := fmt.Sscanf(v, "%d", &op.Value); err != nil {
			return op, fmt.Errorf("value %q: want an integer, nil, ? or a list", v)
		}
	default:
		return op, fmt.Errorf("function %q: want append, w or r", f)
	}
	return op, nil
}
