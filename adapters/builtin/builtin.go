// Package builtin lists the stores bundled with consist, each a real
// implementation running on the simulated network (package simnet), so
// that consist can show a test end to end with no server installed.
package builtin

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/causal"
	"consist/adapters/builtin/crdt"
	"consist/adapters/builtin/eventual"
	"consist/adapters/builtin/mvcc"
	"consist/adapters/builtin/paxos"
	"consist/adapters/builtin/quorum"
	"consist/adapters/builtin/readyourwrites"
	"consist/adapters/builtin/session"
	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/single"
	"consist/checker"
	"consist/nemesis"
)

// Store describes a bundled store.
type Store struct {
	// Name is the store's name on the command line.
	Name string
	// Summary is its design and guarantee, in a line.
	Summary string
	// Nodes is its default number of nodes.
	Nodes int
	// New starts the store on a simulated network configured by cfg.
	New func(cfg simnet.Config) *simnet.Network
	// Profile is what consist should find when it tests the store.
	Profile Profile
	// Holds are the kinds of object the store keeps; nil means every
	// kind of single object (register, counter, set, list, bank), and
	// no transactions.
	Holds []adapters.Kind
	// Family and Isolation are set on a transactional store offered at
	// several isolation levels: one registered store per level, so that
	// each level has a profile of its own and a row of its own in the
	// matrix. Family is the name the levels share on the command line
	// (--store mvcc --isolation serializable picks mvcc-serializable);
	// Isolation is this store's level.
	Family, Isolation string
}

// objectKinds are what a store whose Holds is nil keeps.
var objectKinds = []adapters.Kind{adapters.Register, adapters.Counter, adapters.Set, adapters.List, adapters.Bank}

// CanHold reports whether the store keeps objects of kind k.
func (s Store) CanHold(k adapters.Kind) bool {
	if s.Holds == nil {
		return slices.Contains(objectKinds, k)
	}
	return slices.Contains(s.Holds, k)
}

// Holder returns the store's Holds as an adapters.Holder: what the
// networks Open starts answer, each refusal saying what to use instead.
func (s Store) Holder() adapters.Holder { return holder{s} }

type holder struct{ s Store }

func (h holder) Holds(k adapters.Kind) (bool, string) {
	if h.s.CanHold(k) {
		return true, ""
	}
	if k == adapters.Txn {
		var takers []string
		for _, o := range Stores() {
			if o.CanHold(adapters.Txn) {
				takers = append(takers, o.Name)
			}
		}
		return false, fmt.Sprintf("the %s store applies each operation to one object, with no transactions; run transactional workloads on a store that takes them (%s)", h.s.Name, strings.Join(takers, ", "))
	}
	kinds := h.s.Holds
	if kinds == nil {
		kinds = objectKinds
	}
	var names []string
	for _, k := range kinds {
		names = append(names, k.String()+"s")
	}
	return false, fmt.Sprintf("the %s store keeps %s only; run it with a workload of those, or pick another store", h.s.Name, strings.Join(names, ", "))
}

// Profile is a store's documented consistency: the models it guarantees
// whatever the faults, the ones it is expected to break, each with a run
// and a seed that show it, and the ones it may break but no seed tried
// has shown, each with why. consist matrix checks every store against its
// profile, and the tests assert them and that a profile speaks of every
// model its runs check.
type Profile struct {
	// Guarantees are the models that hold under every fault; every model
	// they imply holds too.
	Guarantees []checker.Model
	// Breaks are the models the store is expected to violate, and how to
	// see it; every model that implies one of them breaks too.
	Breaks []Break
	// Unseen are the models neither guaranteed nor broken by a Break: the
	// store does not promise them, and no seed tried has shown them
	// broken.
	Unseen []Unseen
	// Runs are the runs that test the guarantees; the runs of Breaks are
	// added to them.
	Runs []Run
	// RunFor, when set, caps how long the matrix makes each run (its
	// faults' interval shrinking in proportion), for a store that shows
	// what it shows sooner than the matrix's default duration.
	RunFor time.Duration
}

// Break is a model a store is expected to violate and a run that shows
// the violation.
type Break struct {
	Model checker.Model
	Run   Run
	// Seed is a seed under which Run, simulated with the matrix's
	// defaults, shows the break: consist matrix always tries it, and
	// consist run --seed replays it. Many breaks show under most seeds;
	// some need an interleaving only a few seeds give.
	Seed uint64
}

// Unseen is a model a store does not promise and no seed tried has
// shown broken.
type Unseen struct {
	Model checker.Model
	// Why says how the store could break the model and why the runs do
	// not show it, or why it holds in the runs made but not under every
	// fault.
	Why string
}

// Run is one run of a store: a workload under some faults.
type Run struct {
	// Workload is the workload's name (register, counter, set, bank,
	// list-append, rw-register, on-call).
	Workload string
	// Faults are the kinds of fault the nemesis injects; none means a
	// run without faults.
	Faults []nemesis.Kind
}

// String names the run, as "register under partition,kill".
func (r Run) String() string {
	if len(r.Faults) == 0 {
		return r.Workload + " without faults"
	}
	faults := make([]string, len(r.Faults))
	for i, f := range r.Faults {
		faults[i] = string(f)
	}
	return r.Workload + " under " + strings.Join(faults, ",")
}

// AllRuns returns the profile's runs, the guarantees' and the breaks',
// each once, in order.
func (p Profile) AllRuns() []Run {
	var out []Run
	add := func(r Run) {
		for _, o := range out {
			if o.String() == r.String() {
				return
			}
		}
		out = append(out, r)
	}
	for _, r := range p.Runs {
		add(r)
	}
	for _, b := range p.Breaks {
		add(b.Run)
	}
	return out
}

// Guaranteed reports whether the profile guarantees m, itself or through
// a stronger model it guarantees.
func (p Profile) Guaranteed(m checker.Model) bool {
	for _, g := range p.Guarantees {
		if g == m || checker.Implies(g, m) {
			return true
		}
	}
	return false
}

// Broken reports whether the profile expects m to break: a Break names
// it, or a model m implies.
func (p Profile) Broken(m checker.Model) bool {
	for _, b := range p.Breaks {
		if checker.Implies(m, b.Model) {
			return true
		}
	}
	return false
}

// Unclaimed returns why the profile neither guarantees m nor expects it
// to break, and whether it says so (an Unseen entry).
func (p Profile) Unclaimed(m checker.Model) (string, bool) {
	for _, u := range p.Unseen {
		if u.Model == m {
			return u.Why, true
		}
	}
	return "", false
}

// Expected returns the runs in which the profile expects m to break.
func (p Profile) Expected(m checker.Model) []Run {
	var out []Run
	for _, b := range p.Breaks {
		if b.Model == m {
			out = append(out, b.Run)
		}
	}
	return out
}

// DefaultLatency is the message delay between nodes of a bundled store
// unless configured otherwise: a fast local network.
var DefaultLatency = simnet.Uniform(100*time.Microsecond, time.Millisecond)

// Shorthands for the profiles.
var (
	// transactional are the kinds a store that applies transactions
	// atomically keeps: every kind.
	transactional = []adapters.Kind{adapters.Register, adapters.Counter, adapters.Set, adapters.List, adapters.Bank, adapters.Txn}
	partition     = []nemesis.Kind{nemesis.Partition}
	crashes       = []nemesis.Kind{nemesis.Partition, nemesis.Kill, nemesis.Pause}
)

var stores = []Store{
	{Name: "single", Summary: "one node applying every operation, transactions included, atomically: the linearizable and strict-serializable baseline", Nodes: 1, New: single.New,
		Profile: Profile{
			Guarantees: []checker.Model{checker.StrictSerializable, checker.Linearizable, checker.Convergence, checker.Counter, checker.SetFull, checker.Bank},
			Runs: []Run{{"register", []nemesis.Kind{nemesis.Kill, nemesis.Pause}}, {"bank", []nemesis.Kind{nemesis.Kill}},
				{"list-append", []nemesis.Kind{nemesis.Kill, nemesis.Pause}}},
		},
		Holds: transactional},
	{Name: "paxos", Summary: "a log replicated by Multi-Paxos, reads and transactions through the log: linearizable, strict-serializable; a minority side of a partition is unavailable, not wrong", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network { return paxos.New(cfg, paxos.Options{}) },
		Profile: Profile{
			Guarantees: []checker.Model{checker.StrictSerializable, checker.Linearizable, checker.Convergence, checker.Counter, checker.SetFull, checker.Bank},
			Runs:       []Run{{"register", crashes}, {"counter", crashes}, {"list-append", crashes}},
		},
		Holds: transactional},
	{Name: "paxos-local-read", Summary: "paxos, but every node answers reads (and read-only transactions) from its own applied state: a prefix of one log, so sequential and serializable, not linearizable or strict (stale reads)", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network { return paxos.New(cfg, paxos.Options{LocalReads: true}) },
		Profile: Profile{
			Guarantees: []checker.Model{checker.Sequential, checker.Serializable, checker.StrongSessionSerializable, checker.Convergence},
			Breaks:     []Break{{checker.Linearizable, Run{"register", nil}, 1}, {checker.StrictSerializable, Run{"list-append", crashes}, 1}, {checker.StrongSnapshotIsolation, Run{"list-append", crashes}, 1}},
			Runs:       []Run{{"register", crashes}},
		},
		Holds: transactional},
	{Name: "quorum", Summary: "N=3 replicas, writes to W=2 and reads from R=2, newest version wins: W + R > N, and still not linearizable", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network { return quorum.New(cfg, quorum.Options{}) },
		Profile: Profile{
			Guarantees: []checker.Model{checker.ReadYourWrites, checker.MonotonicReads, checker.Convergence},
			Breaks: []Break{
				{checker.Linearizable, Run{"register", nil}, 1},
				{checker.Sequential, Run{"register", nil}, 1},
				{checker.Counter, Run{"counter", nil}, 1},
				// Replicas keep the version of highest stamp, one order
				// of concurrent writes for every process, where causal
				// memory lets each process order them its own way.
				{checker.Causal, Run{"register", nil}, 74},
				// Each of read-your-writes, monotonic reads and writes
				// holds, but no one view of a process keeps all three.
				{checker.PRAM, Run{"register", nil}, 109},
			},
			Unseen: quorumUnseen,
			Runs:   []Run{{"register", crashes}},
		}},
	{Name: "causal", Summary: "causal broadcast with vector clocks: a write is applied only after every write it depends on; local reads; each node keeps the write it applied last (causal memory)", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network {
			return causal.New(cfg, causal.Options{Conflicts: causal.LastApplied})
		},
		Profile: Profile{
			Guarantees: []checker.Model{checker.Causal},
			Breaks: []Break{
				{checker.CausalConvergence, Run{"register", nil}, 4},
				{checker.Linearizable, Run{"register", nil}, 1},
				{checker.Sequential, Run{"register", nil}, 1},
				// Two nodes that apply concurrent writes of a key in
				// different orders keep different values for good.
				{checker.Convergence, Run{"register", nil}, 37},
			},
			Runs: []Run{{"register", crashes}},
		}},
	{Name: "session", Summary: "sticky clients carrying session tokens, writes of an object ordered at its home node, local reads: the four session guarantees (and so PRAM), not causal", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network { return session.New(cfg, session.Options{}) },
		Profile: Profile{
			Guarantees: []checker.Model{checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites, checker.WritesFollowReads, checker.PRAM, checker.Convergence},
			Breaks: []Break{
				{checker.Linearizable, Run{"register", nil}, 1},
				{checker.Sequential, Run{"register", partition}, 1},
				// A session's token names the versions it has seen of
				// each object, not what they depend on: a node can serve
				// y=1 before it holds the x=1 written before it (a
				// partition holding back x's home node), and a session
				// that reads y=1 and then x reads the older x.
				{checker.WeakCausal, Run{"register", partition}, 31},
			},
		}},
	{Name: "read-your-writes", Summary: "writes through a primary, reads on the client's replica once it has applied the client's last write: read-your-writes, not linearizable", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network { return readyourwrites.New(cfg, readyourwrites.Options{}) },
		Profile: Profile{
			Guarantees: []checker.Model{checker.ReadYourWrites, checker.MonotonicWrites, checker.WritesFollowReads, checker.Convergence},
			Breaks: []Break{
				{checker.Linearizable, Run{"register", nil}, 1},
				// A replica serves a client's read once it has applied
				// the client's last write, not everything the client
				// read: after a fault a client can read from a replica
				// behind what it read before.
				{checker.MonotonicReads, Run{"register", crashes}, 20},
				{checker.WeakCausal, Run{"register", crashes}, 20},
			},
			Runs: []Run{{"register", crashes}},
		}},
	{Name: "eventual", Summary: "asynchronous replication with vector clocks, siblings resolved by last-write-wins on node clocks: eventually consistent, nothing more", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network { return eventual.New(cfg, eventual.Options{}) },
		Profile: Profile{
			Guarantees: []checker.Model{checker.Convergence},
			Breaks: []Break{
				{checker.Linearizable, Run{"register", partition}, 1},
				{checker.Sequential, Run{"register", partition}, 1},
				{checker.Counter, Run{"counter", partition}, 1},
				{checker.SetFull, Run{"set", partition}, 1},
				// Writes that crossed a partition are siblings, resolved
				// by last-write-wins on node clocks, which need not
				// follow what a writer had read.
				{checker.WritesFollowReads, Run{"register", partition}, 3},
				{checker.WeakCausal, Run{"register", partition}, 9},
			},
			Unseen: eventualUnseen,
		}},
	{Name: "eventual-siblings", Summary: "eventual, with reads returning every concurrent version (siblings) instead of the last write's", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network {
			return eventual.New(cfg, eventual.Options{Read: eventual.Siblings})
		},
		Profile: Profile{
			Guarantees: []checker.Model{checker.Convergence},
			Breaks: []Break{
				{checker.Linearizable, Run{"register", nil}, 1},
				{checker.ReadYourWrites, Run{"register", nil}, 1},
				{checker.MonotonicReads, Run{"register", nil}, 1},
				{checker.MonotonicWrites, Run{"register", nil}, 1},
				{checker.WritesFollowReads, Run{"register", nil}, 1},
				{checker.WeakCausal, Run{"register", nil}, 1},
				{checker.SetFull, Run{"set", nil}, 1},
				{checker.PRAM, Run{"register", nil}, 1},
			},
		}},
	{Name: "crdt", Summary: "state-based CRDTs (PN-Counter, OR-Set, LWW-Register on hybrid clocks), updated locally and merged by anti-entropy: converge without losing an update", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network { return crdt.New(cfg, crdt.Options{}) },
		Profile: Profile{
			Guarantees: []checker.Model{checker.CausalConvergence, checker.ReadYourWrites, checker.MonotonicReads, checker.Convergence, checker.SetFull},
			Breaks: []Break{
				{checker.Linearizable, Run{"register", nil}, 1},
				{checker.Sequential, Run{"register", nil}, 1},
				{checker.Counter, Run{"counter", nil}, 1},
				// Last-write-wins orders two nodes' concurrent writes of
				// a key one way for every process; causal memory asks
				// each process's reads to follow a view of its own, and
				// a process that read one of them and then wrote finds
				// none.
				{checker.Causal, Run{"register", crashes}, 7},
			},
			Unseen: crdtUnseen,
			Runs:   []Run{{"register", crashes}, {"set", crashes}},
		},
		Holds: []adapters.Kind{adapters.Register, adapters.Counter, adapters.Set}},
}

// The models some stores neither promise nor have shown broken under
// any seed tried at the matrix's defaults: seeds 1 to 192 of each
// profile run for quorum, eventual and crdt, 1 to 24 for
// mvcc-read-uncommitted.
var (
	quorumUnseen   = unseen("any two quorums meet and a read always asks the client's own node, so what a client's reads depend on is seen by its later reads; a write that timed out may stay on one replica and be read by some clients and not others, the way these could break", checker.CausalConvergence, checker.WeakCausal, checker.WritesFollowReads, checker.MonotonicWrites)
	eventualUnseen = unseen("a client stays on one node, whose versions only grow, so its own session sees no step back; a client moved to another node, which no run does, would break them", checker.PRAM, checker.MonotonicReads, checker.MonotonicWrites, checker.ReadYourWrites)
	crdtUnseen     = unseen("nodes ship whole states, so a node holding a write holds all its writer's node held then; two nodes' cas that both succeed from one value, the way causal memory breaks, could break these too", checker.PRAM, checker.MonotonicWrites, checker.WritesFollowReads)
)

func unseen(why string, models ...checker.Model) []Unseen {
	out := make([]Unseen, len(models))
	for i, m := range models {
		out[i] = Unseen{m, why}
	}
	return out
}

// txnRun is the run of the mvcc store: list-append under partitions
// (which cut the database off from front ends, or front ends from each
// other), kills and pauses.
var txnRun = Run{"list-append", crashes}

// mvccStore registers the mvcc store at one level. The store at InnoDB's
// default level, repeatable-read, is called mvcc; the others mvcc-<level>.
func mvccStore(level mvcc.Level, summary string, p Profile) Store {
	name := "mvcc"
	if level != mvcc.RepeatableRead {
		name += "-" + level.String()
	}
	p.Runs = append(p.Runs, txnRun)
	// Two seconds show every level's anomalies many times over (hundreds
	// at the weak levels) and keep the five rows' cost in the matrix small.
	p.RunFor = 2 * time.Second
	return Store{Name: name, Summary: summary, Nodes: 3, Family: "mvcc", Isolation: level.String(),
		New:     func(cfg simnet.Config) *simnet.Network { return mvcc.New(cfg, mvcc.Options{Level: level}) },
		Profile: p, Holds: []adapters.Kind{adapters.Txn}}
}

func init() {
	stores = append(stores,
		// Read-uncommitted guarantees nothing the checker can confirm
		// under faults: writes lock rows, so there are no dirty writes,
		// but reads see versions of transactions that later roll back;
		// when such a transaction's client never heard (info: a kill,
		// or a client that gave up first), the checker must count its
		// writes as possibly committed, and can infer a G0 cycle
		// between two of them from dirty reads alone.
		mvccStore(mvcc.ReadUncommitted, "MVCC as InnoDB does it, at read-uncommitted: reads see uncommitted versions (aborted and intermediate reads); writes lock rows, so no dirty writes",
			Profile{Breaks: []Break{{checker.ReadCommitted, txnRun, 2}},
				Unseen: []Unseen{{checker.ReadUncommitted, "writes lock rows, so there are no dirty writes, but the checker may infer a G0 cycle between two writes from dirty reads of transactions whose clients never heard"}}}),
		mvccStore(mvcc.ReadCommitted, "MVCC as InnoDB does it, at read-committed: a read view per statement; read skew (G-single) and lost updates",
			// Monotonic atomic view holds: each read takes a fresh view,
			// after every commit an earlier read could have shown (no
			// OTV under 300 seeds).
			Profile{Guarantees: []checker.Model{checker.ReadCommitted, checker.MonotonicAtomicView}, Breaks: []Break{{checker.ConsistentView, txnRun, 1}, {checker.RepeatableRead, txnRun, 1}, {checker.CursorStability, txnRun, 1}}}),
		mvccStore(mvcc.RepeatableRead, "MVCC as InnoDB does it, at its default repeatable-read: a read view per transaction, but writes act on the newest version (current reads): lost update, G-single, G2-item and internal anomalies, as Jepsen found in MySQL 8.0.34",
			Profile{Guarantees: []checker.Model{checker.ReadCommitted}, Breaks: []Break{{checker.RepeatableRead, txnRun, 1}, {checker.ConsistentView, txnRun, 1}, {checker.SnapshotIsolation, txnRun, 1}, {checker.CursorStability, txnRun, 1},
				// A current-read write shows another transaction's write
				// and the read view then misses its other writes (OTV),
				// as Jepsen found in MySQL 8.0.34.
				{checker.MonotonicAtomicView, txnRun, 58}}}),
		mvccStore(mvcc.Serializable, "MVCC as InnoDB does it, at serializable: every read takes a shared row lock (two-phase locking), deadlocks broken by rolling back a victim",
			Profile{Guarantees: []checker.Model{checker.StrictSerializable}}),
		mvccStore(mvcc.SnapshotIsolation, "MVCC with a snapshot per transaction and first-updater-wins, as PostgreSQL's repeatable read: write skew (G2-item), no G-single",
			Profile{Guarantees: []checker.Model{checker.StrongSnapshotIsolation}, Breaks: []Break{{checker.Serializable, txnRun, 2}, {checker.RepeatableRead, txnRun, 2}, {checker.UpdateSerializable, txnRun, 2}}}),
	)
}

// LookupIsolation returns the bundled store called name at isolation
// level isolation; "" leaves the store's own level.
func LookupIsolation(name, isolation string) (Store, error) {
	s, err := Lookup(name)
	if err != nil || isolation == "" || s.Isolation == isolation {
		return s, err
	}
	if s.Family == "" {
		return Store{}, fmt.Errorf("store %s has no isolation levels to choose from: leave --isolation out, or use mvcc", name)
	}
	for _, v := range stores {
		if v.Family == s.Family && v.Isolation == isolation {
			if s.Name != s.Family {
				return Store{}, fmt.Errorf("store %s runs at %s, not %s: use --store %s --isolation %s", s.Name, s.Isolation, isolation, s.Family, isolation)
			}
			return v, nil
		}
	}
	return Store{}, fmt.Errorf("store %s has no isolation level %q: use one of %s", s.Family, isolation, strings.Join(Levels(s.Family), ", "))
}

// Levels returns the isolation levels of the stores of family, weakest
// first, as registered.
func Levels(family string) []string {
	var out []string
	for _, s := range stores {
		if family != "" && s.Family == family {
			out = append(out, s.Isolation)
		}
	}
	return out
}

// Lookup returns the bundled store called name.
func Lookup(name string) (Store, error) {
	for _, s := range stores {
		if s.Name == name {
			return s, nil
		}
	}
	return Store{}, fmt.Errorf("no bundled store %q: use one of %v", name, Names())
}

// Stores returns the bundled stores, sorted by name.
func Stores() []Store {
	out := slices.Clone(stores)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the bundled stores' names, sorted.
func Names() []string {
	var names []string
	for _, s := range Stores() {
		names = append(names, s.Name)
	}
	return names
}

// Open starts the store called name with seed, on its default number of
// nodes and DefaultLatency.
func Open(name string, seed uint64) (*simnet.Network, error) {
	s, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return s.Open(seed), nil
}

// Open starts the store with seed, on its default number of nodes and
// DefaultLatency.
func (s Store) Open(seed uint64) *simnet.Network { return s.OpenOn(seed, nil) }

// OpenOn starts the store as Open does, in virtual time on sched (a
// deterministic simulation), or in real time when sched is nil.
func (s Store) OpenOn(seed uint64, sched simnet.Scheduler) *simnet.Network {
	return s.New(simnet.Config{Nodes: s.Nodes, Seed: seed, Latency: DefaultLatency, Scheduler: sched, Holder: s.Holder()})
}
