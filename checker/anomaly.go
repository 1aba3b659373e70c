package checker

import (
	"slices"
)

// Kind names a kind of anomaly. Every kind a checker reports is one of the
// constants below, each with a description, the kinds it implies and the
// models that directly rule it out (see Kinds, Kind.Implies,
// Kind.RulesOut): the anomaly taxonomy is data, as in Elle's
// implied-anomalies and direct-proscribed-anomalies graphs (Kingsbury &
// Alvaro, "Elle: Inferring Isolation Anomalies from Experimental
// Observations", VLDB 2020; Adya, "Weak Consistency", MIT 1999). No two
// checkers use one kind for different things.
type Kind string

// Register, session and causal anomalies: the non-transactional models
// of Viotti & Vukolić (ACM CSUR 2016) and Bouajjani et al. (POPL 2017).
const (
	// UnwrittenRead: a read returned a value no operation wrote and that
	// is not the initial value.
	UnwrittenRead Kind = "unwritten-read"
	// ReadBeforeWrite: a read returned a value whose only writes began
	// after the read had completed.
	ReadBeforeWrite Kind = "read-before-write"
	// StaleRead: a read returned a value that a completed write had
	// replaced before the read began, and nothing wrote it again.
	StaleRead Kind = "stale-read"
	// LostCASUpdate: two compare-and-set operations both found a value
	// that was written once, so one of the updates was lost.
	LostCASUpdate Kind = "lost-cas-update"
	// Nonlinearizable: no order consistent with real time explains an
	// operation; the witness is the linearizability search's furthest
	// point.
	Nonlinearizable Kind = "nonlinearizable"
	// NoSequentialOrder: no total order that respects every process's
	// order explains the reads.
	NoSequentialOrder Kind = "no-sequential-order"
	// CausalViolation: no order of the writes respects the causal order
	// and what one process read (causal memory).
	CausalViolation Kind = "causal-violation"
	// CausalInitialRead: a read returned the initial value although a
	// write of its key was in its causal past.
	CausalInitialRead Kind = "causal-initial-read"
	// CausalStaleRead: a read returned a write that another write of the
	// same key in its causal past had overwritten.
	CausalStaleRead Kind = "causal-stale-read"
	// CyclicCausality: the causal order (session order and reads-from) is
	// cyclic.
	CyclicCausality Kind = "cyclic-causality"
	// ConflictingOrders: no single order of the writes explains every
	// read, so replicas cannot converge.
	ConflictingOrders Kind = "conflicting-orders"
	// NoPRAMView: no order of the writes agrees with every session's
	// order and what one process read.
	NoPRAMView Kind = "no-pram-view"
	// LostOwnWrite: a process did not see its own latest write.
	LostOwnWrite Kind = "lost-own-write"
	// NonMonotonicRead: a process's reads went back in time.
	NonMonotonicRead Kind = "non-monotonic-read"
	// WritesOutOfOrder: a process's writes were seen in another order
	// than it made them.
	WritesOutOfOrder Kind = "writes-out-of-order"
	// EffectBeforeCause: a write was visible without a write its process
	// had read before making it.
	EffectBeforeCause Kind = "effect-before-cause"
)

// Measures and data-type invariants.
const (
	// StaleBeyondBound: a read lagged further behind the latest
	// acknowledged write than the bounded-staleness bound allows.
	StaleBeyondBound Kind = "stale-beyond-bound"
	// Divergence: the final reads of one key disagree.
	Divergence Kind = "divergence"
	// ReadTooLow: a counter read less than the acknowledged increments
	// allow.
	ReadTooLow Kind = "read-too-low"
	// ReadTooHigh: a counter read more than the attempted increments
	// allow.
	ReadTooHigh Kind = "read-too-high"
	// LostElement: a set element known to be present vanished from every
	// later read.
	LostElement Kind = "lost"
	// UnexpectedElement: a set read returned an element nobody added.
	UnexpectedElement Kind = "unexpected"
	// WrongAccounts: a bank read showed other accounts than the setup
	// created.
	WrongAccounts Kind = "wrong-accounts"
	// WrongTotal: a bank read's balances do not sum to the total the
	// setup created.
	WrongTotal Kind = "wrong-total"
	// NegativeBalance: a bank read showed an account below zero.
	NegativeBalance Kind = "negative-balance"
	// TooFewOnCall: a committed transaction of the on-call workload read
	// fewer doctors on call than the rule keeps.
	TooFewOnCall Kind = "too-few-on-call"
)

// Transactional anomalies, named as Adya (1999) and Elle name them; the
// transactional checker (checker/txn) reports them. The -process and
// -realtime variants are cycles that need a process-order or real-time
// edge. The -item forms are Elle's: G-single and G-nonadjacent cycles all
// of whose dependencies are on single items (keys), never on predicates,
// which makes them G2-item cycles too (Adya's G2-item is a cycle of item
// anti-dependencies). Every cycle checker/txn finds is an item cycle, as
// every one Elle's list-append and rw-register find is, so it reports
// the -item forms, as Elle does; G-single and G-nonadjacent alone are the
// general (predicate) classes they imply.
const (
	G0                  Kind = "G0"
	G0Process           Kind = "G0-process"
	G0Realtime          Kind = "G0-realtime"
	G1                  Kind = "G1"
	G1Process           Kind = "G1-process"
	G1Realtime          Kind = "G1-realtime"
	G1a                 Kind = "G1a"
	G1b                 Kind = "G1b"
	G1c                 Kind = "G1c"
	G1cProcess          Kind = "G1c-process"
	G1cRealtime         Kind = "G1c-realtime"
	GSingle             Kind = "G-single"
	GSingleProcess      Kind = "G-single-process"
	GSingleRealtime     Kind = "G-single-realtime"
	GNonadjacent        Kind = "G-nonadjacent"
	GNonadjProcess      Kind = "G-nonadjacent-process"
	GNonadjRealtime     Kind = "G-nonadjacent-realtime"
	GSingleItem         Kind = "G-single-item"
	GSingleItemProcess  Kind = "G-single-item-process"
	GSingleItemRealtime Kind = "G-single-item-realtime"
	GNonadjItem         Kind = "G-nonadjacent-item"
	GNonadjItemProcess  Kind = "G-nonadjacent-item-process"
	GNonadjItemRealtime Kind = "G-nonadjacent-item-realtime"
	G2Item              Kind = "G2-item"
	G2ItemProcess       Kind = "G2-item-process"
	G2ItemRealtime      Kind = "G2-item-realtime"
	G2                  Kind = "G2"
	G2Process           Kind = "G2-process"
	G2Realtime          Kind = "G2-realtime"
	LostUpdate          Kind = "lost-update"
	Internal            Kind = "internal"
	IncompatibleOrder   Kind = "incompatible-order"
	DuplicateElements   Kind = "duplicate-elements"
	DirtyUpdate         Kind = "dirty-update"
	FutureRead          Kind = "future-read"
	// GUpdate is Adya's G-update ("Weak Consistency: A Generalized Theory
	// and Optimistic Implementations for Distributed Transactions", MIT
	// PhD thesis, 1999, chapter 4, update serializability, PL-3U): a cycle with
	// one or more anti-dependency edges in the graph of the committed
	// update transactions (those that write) and at most one read-only
	// transaction, the DSG restricted as the thesis's update serialization
	// graph restricts it. PL-3U proscribes G1 and G-update: the update
	// transactions are serializable, and each read-only transaction sees a
	// state some serial order of them produces, not necessarily the same
	// order for every read-only transaction. Elle names the kind in its
	// tables (update-serializable proscribes it; it implies nothing) but
	// does not search for it; checker/txn does.
	GUpdate Kind = "G-update"
	// OTV is "observed transaction vanishes", the phenomenon monotonic
	// atomic view proscribes (Bailis, Davidson, Fekete, Ghodsi, Hellerstein
	// & Stoica, "Highly Available Transactions: Virtues and Limitations",
	// VLDB 2014: the section on ACID atomicity guarantees, and the formal
	// definitions of the extended version's appendix, stated on Adya's
	// unfolded serialization graph): a
	// committed transaction T reads a version of x that a committed
	// transaction U wrote and then, in a later read, a version of y that
	// precedes the one U wrote (a cycle of one read-dependency by x from U
	// to T's read of x, T's order to its later read of y, and edges by y,
	// one an anti-dependency, back to U). Once T has observed some of U's
	// effects it must observe all of them; reading y before x is not this
	// (that read skew is G-single, which MAV allows). It is a fractured read
	// in the order MAV cares about; RAMP's fractured reads (Bailis et al.,
	// SIGMOD 2014, read atomic) need no order. Elle has no such kind: its
	// tables have monotonic-atomic-view proscribe nothing beyond
	// read-committed, so an Elle verdict never breaks MAV alone; this is
	// consist's own addition, as unwritten-read is. OTV implies no other
	// kind: its cycle is a G-single in Adya's DSG when T's read of y is
	// external, but a G1c when T appended to y before it, and the cycle
	// search reports those where its edges see them.
	OTV Kind = "OTV"
	// CyclicVersions: the version order a rw-register history implies for
	// one key (from the initial state and the assumed key properties) is
	// cyclic, so no total order of that key's versions exists.
	CyclicVersions Kind = "cyclic-versions"
)

// kindInfo is one row of the taxonomy.
type kindInfo struct {
	// about is the short description.
	about string
	// implies lists the kinds every anomaly of this kind also is.
	implies []Kind
	// rulesOut lists the weakest models that forbid the kind outright;
	// every model implying one of them forbids it too.
	rulesOut []Model
}

// weakestRegister are the weakest non-transactional models: every model
// of the register lattice implies one of them.
var weakestRegister = []Model{ReadYourWrites, MonotonicReads, MonotonicWrites, WritesFollowReads, WeakCausal}

// taxonomy is every anomaly kind. Transactional rows follow Elle's
// elle.consistency-model (implied-anomalies, direct-proscribed-anomalies)
// restricted to the models consist names.
var taxonomy = map[Kind]kindInfo{
	// A read of a value nothing wrote is no read of any version, which
	// every model forbids, transactional or not: read-uncommitted is the
	// weakest transactional model. Elle has no kind for it (its
	// list-append asserts every element read has a writer; its
	// rw-register test of such a read calls the verdict it gets a bug),
	// so checker/txn reports this kind for a list-append read of an
	// element nobody appended.
	UnwrittenRead:     {about: "a read returned a value nothing wrote", rulesOut: append(slices.Clone(weakestRegister), ReadUncommitted)},
	ReadBeforeWrite:   {about: "a read returned a value before any write of it began", rulesOut: []Model{Linearizable}},
	StaleRead:         {about: "a read returned a value already overwritten before it began", rulesOut: []Model{Linearizable}},
	LostCASUpdate:     {about: "two compare-and-sets found the same value, written once", rulesOut: []Model{Sequential}},
	Nonlinearizable:   {about: "no order consistent with real time explains an operation", rulesOut: []Model{Linearizable}},
	NoSequentialOrder: {about: "no order respecting every process's order explains the reads", rulesOut: []Model{Sequential}},
	CausalViolation:   {about: "no order of the writes respects the causal order and a process's reads", rulesOut: []Model{Causal}},
	CausalInitialRead: {about: "a read returned the initial value with a write of it in its causal past", rulesOut: []Model{WeakCausal}},
	CausalStaleRead:   {about: "a read returned a write overwritten in its causal past", rulesOut: []Model{WeakCausal}},
	CyclicCausality:   {about: "the causal order is cyclic", rulesOut: []Model{WeakCausal}},
	ConflictingOrders: {about: "no single order of the writes explains every read", rulesOut: []Model{CausalConvergence}},
	NoPRAMView:        {about: "no order of the writes agrees with every session's order and a process's reads", rulesOut: []Model{PRAM}},
	LostOwnWrite:      {about: "a process did not see its own latest write", rulesOut: []Model{ReadYourWrites}},
	NonMonotonicRead:  {about: "a process's reads went back in time", rulesOut: []Model{MonotonicReads}},
	WritesOutOfOrder:  {about: "a process's writes were seen out of the order it made them", rulesOut: []Model{MonotonicWrites}},
	EffectBeforeCause: {about: "a write was visible without a write its process had read before", rulesOut: []Model{WritesFollowReads}},

	StaleBeyondBound:  {about: "a read lagged further behind than the staleness bound", rulesOut: []Model{BoundedStaleness}},
	Divergence:        {about: "the final reads of one key disagree", rulesOut: []Model{Convergence}},
	ReadTooLow:        {about: "a counter read less than the acknowledged increments allow", rulesOut: []Model{Counter}},
	ReadTooHigh:       {about: "a counter read more than the attempted increments allow", rulesOut: []Model{Counter}},
	LostElement:       {about: "a set element known present vanished from later reads", rulesOut: []Model{SetFull}},
	UnexpectedElement: {about: "a set read returned an element nobody added", rulesOut: []Model{SetFull}},
	WrongAccounts:     {about: "a bank read showed accounts the setup did not create", rulesOut: []Model{Bank}},
	WrongTotal:        {about: "a bank read's balances do not sum to the setup's total", rulesOut: []Model{Bank}},
	NegativeBalance:   {about: "a bank read showed an account below zero", rulesOut: []Model{Bank}},
	TooFewOnCall:      {about: "a transaction read fewer doctors on call than the rule keeps", rulesOut: []Model{OnCall}},

	G0:                  {about: "a cycle of write-write dependencies (dirty write)", implies: []Kind{G1c, G0Process}, rulesOut: []Model{ReadUncommitted}},
	G0Process:           {about: "a cycle of write-write and process-order dependencies", implies: []Kind{G1cProcess, G0Realtime}},
	G0Realtime:          {about: "a cycle of write-write and real-time dependencies", implies: []Kind{G1cRealtime}},
	G1:                  {about: "aborted read, intermediate read or circular information flow", implies: []Kind{G1Process}, rulesOut: []Model{ReadCommitted}},
	G1Process:           {about: "G1 with process-order dependencies", implies: []Kind{G1Realtime}, rulesOut: []Model{StrongSessionSnapshotIsolation, StrongSessionSerializable}},
	G1Realtime:          {about: "G1 with real-time dependencies", rulesOut: []Model{StrongSnapshotIsolation}},
	G1a:                 {about: "a read of a write from an aborted transaction (aborted read)", implies: []Kind{G1}},
	G1b:                 {about: "a read of a transaction's intermediate write (intermediate read)", implies: []Kind{G1}},
	G1c:                 {about: "a cycle of write-write and write-read dependencies (circular information flow)", implies: []Kind{G1, G1cProcess}},
	G1cProcess:          {about: "a cycle of write-write, write-read and process-order dependencies", implies: []Kind{G1cRealtime, G1Process}},
	G1cRealtime:         {about: "a cycle of write-write, write-read and real-time dependencies", implies: []Kind{G1Realtime}, rulesOut: []Model{StrictSerializable}},
	GSingle:             {about: "a dependency cycle with exactly one read-write anti-dependency (read skew)", implies: []Kind{GNonadjacent, GSingleProcess}, rulesOut: []Model{ConsistentView}},
	GSingleProcess:      {about: "G-single with process-order dependencies", implies: []Kind{GNonadjProcess, GSingleRealtime}},
	GSingleRealtime:     {about: "G-single with real-time dependencies", implies: []Kind{GNonadjRealtime}},
	GNonadjacent:        {about: "a dependency cycle whose read-write anti-dependencies are never adjacent", implies: []Kind{G2, GNonadjProcess}, rulesOut: []Model{SnapshotIsolation}},
	GNonadjProcess:      {about: "G-nonadjacent with process-order dependencies", implies: []Kind{G2Process, GNonadjRealtime}, rulesOut: []Model{StrongSessionSnapshotIsolation}},
	GNonadjRealtime:     {about: "G-nonadjacent with real-time dependencies", implies: []Kind{G2Realtime}, rulesOut: []Model{StrongSnapshotIsolation}},
	GSingleItem:         {about: "a cycle of item dependencies with exactly one read-write anti-dependency (read skew)", implies: []Kind{GSingle, GNonadjItem, GSingleItemProcess}},
	GSingleItemProcess:  {about: "G-single-item with process-order dependencies", implies: []Kind{GSingleProcess, GNonadjItemProcess, GSingleItemRealtime}},
	GSingleItemRealtime: {about: "G-single-item with real-time dependencies", implies: []Kind{GSingleRealtime, GNonadjItemRealtime}},
	GNonadjItem:         {about: "a cycle of item dependencies whose read-write anti-dependencies are never adjacent", implies: []Kind{GNonadjacent, G2Item, GNonadjItemProcess}},
	GNonadjItemProcess:  {about: "G-nonadjacent-item with process-order dependencies", implies: []Kind{GNonadjProcess, G2ItemProcess, GNonadjItemRealtime}},
	GNonadjItemRealtime: {about: "G-nonadjacent-item with real-time dependencies", implies: []Kind{GNonadjRealtime, G2ItemRealtime}},
	G2Item:              {about: "a dependency cycle with item read-write anti-dependencies (write skew)", implies: []Kind{G2, G2ItemProcess}, rulesOut: []Model{RepeatableRead}},
	G2ItemProcess:       {about: "G2-item with process-order dependencies", implies: []Kind{G2Process, G2ItemRealtime}},
	G2ItemRealtime:      {about: "G2-item with real-time dependencies", implies: []Kind{G2Realtime}},
	G2:                  {about: "a dependency cycle with read-write anti-dependencies", implies: []Kind{G2Process}, rulesOut: []Model{Serializable}},
	G2Process:           {about: "G2 with process-order dependencies", implies: []Kind{G2Realtime}, rulesOut: []Model{StrongSessionSerializable}},
	G2Realtime:          {about: "G2 with real-time dependencies", rulesOut: []Model{StrictSerializable}},
	GUpdate:             {about: "a dependency cycle with read-write anti-dependencies among update transactions and at most one read-only transaction", rulesOut: []Model{UpdateSerializable}},
	LostUpdate:          {about: "two transactions read one version of a key and both wrote it", implies: []Kind{G2Item}, rulesOut: []Model{CursorStability, RepeatableRead}},
	Internal:            {about: "a transaction's read disagreed with its own earlier writes or reads", rulesOut: []Model{SnapshotIsolation, Serializable, StrongSessionSnapshotIsolation, StrongSnapshotIsolation}},
	IncompatibleOrder:   {about: "two reads of one key show versions no single order explains", implies: []Kind{G1a}},
	DuplicateElements:   {about: "a read of a list showed an element twice", rulesOut: []Model{ReadUncommitted}},
	DirtyUpdate:         {about: "a write built on a version an aborted transaction wrote", implies: []Kind{G1a}},
	FutureRead:          {about: "a transaction read a value it wrote only later", implies: []Kind{G1c}},
	CyclicVersions:      {about: "the versions of a key cannot be put in one order", rulesOut: []Model{ReadUncommitted}},
	OTV:                 {about: "a transaction saw some of another's writes and a later read missed another (observed transaction vanishes, a fractured read)", rulesOut: []Model{MonotonicAtomicView}},
}

// Kinds returns every anomaly kind, sorted by name.
func Kinds() []Kind {
	out := make([]Kind, 0, len(taxonomy))
	for k := range taxonomy {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Known reports whether k is a kind of the taxonomy.
func (k Kind) Known() bool { _, ok := taxonomy[k]; return ok }

// Description is a short phrase saying what an anomaly of kind k is.
func (k Kind) Description() string { return taxonomy[k].about }

// Implies returns the kinds every anomaly of kind k directly also is:
// "G-single implies G-nonadjacent".
func (k Kind) Implies() []Kind { return slices.Clone(taxonomy[k].implies) }

// AllImplied returns k and every kind it implies, directly or not, sorted.
func (k Kind) AllImplied() []Kind {
	seen := map[Kind]bool{k: true}
	work := []Kind{k}
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		for _, y := range taxonomy[x].implies {
			if !seen[y] {
				seen[y] = true
				work = append(work, y)
			}
		}
	}
	out := make([]Kind, 0, len(seen))
	for x := range seen {
		out = append(out, x)
	}
	slices.Sort(out)
	return out
}

// DirectlyRulesOut returns the weakest models that forbid k itself.
func (k Kind) DirectlyRulesOut() []Model { return slices.Clone(taxonomy[k].rulesOut) }

// RulesOut returns every model an anomaly of kind k rules out, strongest
// first: the models that forbid k or a kind k implies, and every model
// that implies one of those.
func (k Kind) RulesOut() []Model {
	direct := map[Model]bool{}
	for _, x := range k.AllImplied() {
		for _, m := range taxonomy[x].rulesOut {
			direct[m] = true
		}
	}
	var out []Model
	for _, m := range Models() {
		for d := range direct {
			if Implies(m, d) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Boundary says what anomalies of kinds ks rule out as Elle's boundary
// does (elle/consistency_model.clj, its :not and :also-not): not are the
// weakest models ruled out (none of them implies another ruled out),
// alsoNot every other model ruled out, each strongest first. A history
// showing the anomalies is "not read-committed, and so also not
// snapshot-isolation, serializable, …".
func Boundary(ks ...Kind) (not, alsoNot []Model) {
	out := map[Model]bool{}
	for _, k := range ks {
		for _, m := range k.RulesOut() {
			out[m] = true
		}
	}
	for _, m := range Models() {
		if !out[m] {
			continue
		}
		weakest := true
		for x := range out {
			if x != m && Implies(m, x) {
				weakest = false
				break
			}
		}
		if weakest {
			not = append(not, m)
		} else {
			alsoNot = append(alsoNot, m)
		}
	}
	return not, alsoNot
}
