// Package causal is a causally consistent store built on causal
// broadcast with vector clocks: causal memory as Ahamad, Neiger, Burns,
// Kohli and Hutto implement it ("Causal memory: definitions,
// implementation, and programming", Distributed Computing 9(1), 1995),
// and, with conflicts settled by last-writer-wins, the causal+ of COPS
// (Lloyd, Freedman, Kaminsky and Andersen, "Don't Settle for Eventual:
// Scalable Causal Consistency for Wide-Area Storage with COPS", SOSP
// 2011).
//
// # Design
//
// Every node holds every object and serves every operation on its own,
// at once: it is available whatever the network does.
//
//   - A read returns the node's value of the object.
//   - Any other operation (write, cas, counter add, set add, list append,
//     bank transfer) applies, with package objects' semantics, to the
//     node's value, and becomes a write carrying the object's next value
//     and the node's vector clock with the write counted: the write's
//     name (node, clock[node]) and its dependencies, every write the node
//     had applied. The node applies it, writes it to its disk and
//     acknowledges, then broadcasts it to every peer.
//   - A node applies a write from a peer only once it has applied every
//     write it depends on: the writer's earlier writes and what the
//     writer had applied. Until then the write waits in a buffer. So
//     every node applies the writes in an order that extends causality,
//     and what it shows its clients is always closed under it.
//   - Anti-entropy: every Options.AntiEntropy each node sends its applied
//     clock to every peer, which answers with the writes it has applied
//     that the node lacks, its own and those it relayed. This repairs lost
//     messages and partitions, also through a third node; duplicated and
//     reordered messages do no harm, since a write applies once and in
//     causal order.
//   - Every applied write, the applied clock and each object's value are
//     on the node's disk, so a restarted node comes back with all it had
//     applied; the buffer is refilled by anti-entropy.
//
// No clock is read: timing is counted on timers, and clock skew changes
// nothing.
//
// # Conflicts
//
// Concurrent writes to one object — neither applied where the other was
// made — reach the nodes in different orders, and Options.Conflicts
// settles them:
//
//   - LastWriterWins (the default): a node keeps, of two concurrent writes,
//     the greater by (sum of its vector clock, writing node). The sum is a
//     Lamport timestamp, greater for a write than for any write it depends
//     on, so this one total order extends causality, and every node ends
//     with the same value once it has applied the same writes: replicas
//     converge.
//   - LastApplied: a node keeps the write it applied last. Each node's
//     order of application is then the order its clients see, as in
//     Ahamad et al.'s implementation; replicas that applied concurrent
//     writes in different orders disagree until the object is written
//     again, possibly forever.
//
// # Guarantee
//
// Each client talks to one node, whose state only grows, and along an
// order that extends causality. Under either setting read-your-writes,
// monotonic reads and weak causal consistency (each read returns a
// write that nothing in its causal past overwrote) hold under every
// fault.
//
// Under LastWriterWins the store is causal+: causal-convergence (CCv,
// Bouajjani, Enea, Guerraoui and Hamza, "On Verifying Causal
// Consistency", POPL 2017; one arbitration order, last-writer-wins,
// explains every read) and convergence hold under every fault. Causal
// memory (consist's "causal", CM) does not always: a node may keep its
// own write w2 over a concurrent w1 it applies later, together with
// writes w1 depends on, although its clients already saw w2 and, after
// it, a state lacking those writes. No order of the writes then explains
// what such a client saw, and the checker reports causal invalid, with
// writes-follow-reads, monotonic-writes or PRAM, which judge the same
// order across sessions, often invalid too. A concurrent cas and write
// of one object make it likelier: a node that saw the write, then the
// cas (from the value before it) win, shows an atomic cas that missed a
// write its clients saw before it.
//
// Under LastApplied the store is causal memory: causal, and so PRAM,
// writes-follow-reads, monotonic-writes, monotonic-reads and
// read-your-writes, hold under every fault, while causal-convergence
// and convergence break whenever nodes apply concurrent writes in
// different orders.
//
// No available store has both: after a partition in which each side
// wrote one object and its clients read on, some histories force one
// side's clients to see the other side's write last and the other
// side's clients their own, for CM, while CCv needs a single order of
// the two. Nor is either setting sequentially consistent or
// linearizable: a node serves reads before it has heard of writes other
// nodes acknowledged.
//
// Read-modify-writes act on the local value, so concurrent ones on
// different nodes all succeed: of two cas from one value, or two counter
// adds, last-writer-wins keeps one (a lost update), and last-applied
// leaves the nodes disagreeing. A client that then sees the outcomes of
// both cas may find no order of the writes that explains them, so under
// last-applied causal memory is certain only for histories without
// concurrent cas (package session shows the way out: a home node per
// object for read-modify-writes, at the cost of their availability).
//
// # Faults
//
//   - None: reads lag writes made on other nodes by the message delay,
//     so sequential consistency and linearizability break.
//   - Partitions: both sides serve; reads across the cut are stale until
//     it heals; then the concurrent writes meet, and last-writer-wins
//     keeps one (causal can break then), last-applied keeps both orders.
//   - Message loss and delay lengthen the lag; anti-entropy repairs loss.
//   - Kill and restart: the node keeps what it applied; requests in flight
//     end unknown.
//   - Pause: the node's clients time out (unknown outcomes); it catches up
//     on resume.
//   - Clock skew: no effect.
package causal
