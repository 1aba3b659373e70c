// Package paxos is a linearizable replicated store: every node holds a
// replica of the objects of package objects, and the replicas apply the
// same commands in the same order, the order of a log whose slots are
// agreed by Multi-Paxos (Lamport, "Paxos Made Simple", ACM SIGACT News
// 32(4), 2001, §3).
//
// Design. Every node is an acceptor, a learner and a replica. One node at
// a time leads: it runs phase 1 once, with a ballot of its own, for every
// slot from the first it has not learned chosen onwards; it re-proposes in
// phase 2 whatever value its quorum of promises reported accepted (the one
// of highest ballot, per slot, or a no-op for a gap), and then proposes
// each new command in the next free slot. A slot is chosen when a
// majority accepted it. Acceptors keep their promised ballot and every
// accepted value on the node's disk, written before they answer, so a
// restarted node keeps its promises; chosen slots are marked on disk as
// well and replayed on restart. Followers learn chosen slots from the
// leader's messages, which carry how far its log is chosen, and fetch what
// they missed from it.
//
// Election. The leader sends a heartbeat every Options.Heartbeat. A node
// that has heard from no leader for a randomised election timeout, drawn
// between Options.ElectionMin and Options.ElectionMax from the node's
// seeded randomness, first asks its peers whether they too have lost the
// leader — a pre-vote (Ongaro, "Consensus: Bridging Theory and Practice",
// 2014, §9.6), so that a node coming back from isolation does not depose
// a working leader — then runs phase 1 with a ballot above any it has
// seen. A leader that hears from no majority for ElectionMin steps down.
// Timing is counted on the node's timers, never read from its clock:
// clocks play no part in safety or in liveness.
//
// Commands. A client request becomes a command with a unique id (node,
// boot, sequence number). A node that is not the leader forwards it to
// the leader it knows, and again at intervals, and to each new leader
// until it learns the command applied; so a command may be chosen in two
// slots, and the replicas apply it once, at its first slot, answering
// every copy with the result of that first application. Reads are
// commands too (unless Options.LocalReads): they take a slot, so they see
// every write chosen before them. The node that applies a command answers
// its client, whichever node the client is bound to.
//
// Guarantee, with reads through the log (the default): linearizable, for
// every kind of object, under any combination of the network's faults:
// partitions of any shape (a ring of non-transitive cuts included), lost,
// duplicated and reordered messages, crashes and restarts, pauses and
// clock skew. Faults cost availability
// only: a node cut off from a majority serves nothing — a request there
// waits, and is refused as not applied only when it was never handed to
// a leader (after Options.LeaderWait); one that was may still be chosen,
// so its client hears nothing and times out (an unknown outcome). Once a
// majority can talk again it elects a leader within a few election
// timeouts, and serves again.
//
// Local reads. With Options.LocalReads a node answers a read at once from
// the objects it has applied, as a replica that serves reads from its own
// copy does (ZooKeeper's reads; etcd's serializable reads). Every other
// operation still goes through the log, and the node a client is bound to
// answers the client only once it has applied the command itself
// (ZooKeeper: Hunt et al., "ZooKeeper: Wait-free coordination for
// Internet-scale systems", USENIX ATC 2010, §2.3). Every node applies a
// prefix of the same chosen log, never going back (a restarted node
// replays the chosen slots on its disk), so each client's reads and
// writes see a growing prefix of one order: the store is sequentially
// consistent (Lamport 1979), and so causal, PRAM and every session
// guarantee hold, and the replicas converge once they can hear the
// leader. It is not linearizable: a read returns the state the node has
// applied, which may lack writes other nodes' clients already saw
// acknowledged — a stale read. A follower lags the leader by a message
// delay even without faults; a node cut off from the majority by a
// partition (a follower, or a leader that is deposed and does not yet
// know it), or paused, or slowed by latency, keeps answering reads from
// its old state for as long as the fault lasts. Reads never wait for
// another node: a node alone still serves them.
package paxos

import (
	"time"

	"consist/adapters/builtin/simnet"
)

// The default timing, suited to message delays of 0.1–2 ms.
const (
	DefaultHeartbeat   = 10 * time.Millisecond
	DefaultElectionMin = 50 * time.Millisecond
	DefaultElectionMax = 100 * time.Millisecond
	DefaultLeaderWait  = 200 * time.Millisecond
)

// Options tune a store's timing, and how it serves reads; a zero field
// takes its default. Set the durations to a few times the network's round
// trip: too short and nodes campaign needlessly, too long and a lost
// leader is replaced late.
type Options struct {
	// Heartbeat is how often the leader tells followers it is alive and
	// retransmits proposals not yet accepted by a majority
	// (DefaultHeartbeat).
	Heartbeat time.Duration
	// ElectionMin and ElectionMax bound the randomised time a node waits
	// without hearing from a leader before it campaigns
	// (DefaultElectionMin; DefaultElectionMax, or twice ElectionMin if
	// that is more). A leader that hears from no majority for
	// ElectionMin steps down. Keep ElectionMin several heartbeats long.
	ElectionMin, ElectionMax time.Duration
	// LeaderWait is how long a request waits for its node to know a
	// leader before it is refused, certainly not applied
	// (DefaultLeaderWait).
	LeaderWait time.Duration
	// LocalReads makes every node answer reads at once from its own
	// applied state, without going through the log, and makes the node a
	// client is bound to answer that client's other commands, once it
	// has applied them itself (as ZooKeeper does). Reads are then fast,
	// and served by nodes cut off from the majority, but may be stale:
	// the store is sequentially consistent, not linearizable. See the
	// package documentation. The default (false) keeps reads in the log.
	LocalReads bool

	// duplicate makes every leader propose each new command in two slots,
	// to test that a command is applied once.
	duplicate bool
	// onLead, if set, is told when a node starts or stops leading; it is
	// called from the node's goroutine.
	onLead func(node string, leading bool)
}

func (o Options) withDefaults() Options {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.ElectionMin <= 0 {
		o.ElectionMin = DefaultElectionMin
	}
	if o.ElectionMax <= 0 {
		o.ElectionMax = max(DefaultElectionMax, o.ElectionMin*2)
	}
	o.ElectionMax = max(o.ElectionMax, o.ElectionMin)
	if o.LeaderWait <= 0 {
		o.LeaderWait = DefaultLeaderWait
	}
	return o
}

// New starts a store of cfg.Nodes nodes (default 3; a majority of them
// must be up and connected to serve), every object empty.
func New(cfg simnet.Config, opts Options) *simnet.Network {
	opts = opts.withDefaults()
	return simnet.New(cfg, func(string) simnet.Machine { return newMachine(opts) })
}
