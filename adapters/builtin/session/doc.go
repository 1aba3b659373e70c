// Package session is a replicated store that keeps the four session
// guarantees of Terry, Demers, Petersen, Spreitzer, Theimer and Welch
// ("Session Guarantees for Weakly Consistent Replicated Data", PDIS 1994)
// — read-your-writes, monotonic reads, monotonic writes and
// writes-follow-reads — for every client, and nothing stronger. Clients
// are sticky (each talks to one node for its life) and carry a session
// token, as Terry et al.'s clients carry their read and write sets; each
// object has a home node that orders its writes, as each partition of a
// store with session consistency such as Azure Cosmos DB has a leader.
//
// # Design
//
// Every node holds every object and serves reads from its own copy.
// Replication is asynchronous and per object, as in an eventually
// consistent store:
//
//   - Each object has a home node, picked by a hash of its key (Home).
//     The home node performs every write of the object — write, cas,
//     counter add, set add, list append, bank transfer, with package
//     objects' semantics — one at a time, numbering the versions it
//     makes; other nodes forward writes to it, and answer their clients
//     once it has answered. A refusal stays a refusal; no answer within
//     Options.Wait is an unknown outcome. The home node records the
//     outcome of each forward on disk, so that a duplicate is answered,
//     not applied again.
//   - The home node writes the new version to disk, answers, and pushes
//     it to every peer. A node takes in a version of an object that is
//     newer than its own, whenever it arrives: objects replicate
//     independently of one another.
//   - Anti-entropy: every Options.AntiEntropy each node sends each object,
//     in a message of its own, to a peer drawn at random.
//
// The session token (the client's session state, returned with each
// answer) names, per object, the newest version of three sets:
//
//   - writes: the session's own writes;
//   - follows: every version the session read (a read-modify-write
//     counts with the version it made), and everything those versions
//     follow (see below);
//   - need: what the session's next operation must see — its writes, the
//     versions it read, and their writes and follows.
//
// A version carries the writes and follows of the session that made it,
// as they were when it made it: the versions that must come before it
// under monotonic writes (the session's earlier writes) and under
// writes-follow-reads (what the session had read, transitively through
// the writes it read).
//
// A node serves a request — a read on the client's node, a write on the
// object's home node — only once it holds the whole of the token's
// need. Until then the request waits for replication to catch up, and
// after Options.Wait it is refused: nothing was applied, so the client
// sees a failure. So every read of a session sees its own writes and
// everything it has seen, every session that reads a version goes on to
// see what that version's writer had written and read before it, and a
// write is made only where everything its session saw is already there.
//
// # Guarantee
//
// Read-your-writes, monotonic reads, monotonic writes and
// writes-follow-reads hold under every fault, judged across the whole
// store as Terry et al. define them (checker.ScopeStore): monotonic
// writes and writes-follow-reads constrain what every other session sees
// of a session's writes. Each object's versions form one sequence, every
// node holds a prefix of it, and a session's node holds, before each of
// its operations, every version the session's guarantees require; so
// ordering the required versions before each read gives every session a
// view that obeys all four guarantees. The replicas converge once they
// can reach one another.
//
// Nothing stronger holds:
//
//   - Not causal: a version's dependencies follow chains of one kind —
//     a session's writes, or reads and the writes that followed them — but
//     not chains that mix the two. If x=1 and then y=2 are written by one
//     session, and another session reads y=2 and writes z=3, then a
//     session that reads z=3 will see y=2 (and after it x=1) if it reads
//     y, but may read x first as it was before x=1: the causal order runs
//     from x=1 to z=3, and no session guarantee does. Objects replicate
//     independently, so a node often holds z=3 before x=1.
//   - Not causal-convergence, nor sequential or linearizable: a node
//     serves reads before it has heard of writes acknowledged elsewhere.
//
// Writes are available only where an object's home node can be reached.
// Were they accepted anywhere, concurrent writes of an object would have
// to be ordered on each node as they arrived, and no such order keeps
// monotonic writes for every session under partitions unless replicas
// may disagree for ever.
//
// # Faults
//
//   - None: reads lag writes made by other nodes' clients by the message
//     delay.
//   - Partitions: reads are served on both sides, and wait (then fail)
//     only when their session saw something the node has not received; a
//     write whose object's home node is across the cut ends unknown.
//   - Message loss and delay lengthen replication, and the waits; lost
//     answers make forwarded writes unknown.
//   - Kill and restart: a node keeps its objects on disk; requests in
//     flight end unknown, and so do writes forwarded to it.
//   - Pause: the node's clients, and writes forwarded to it, time out
//     (unknown outcomes).
//   - Clock skew: no effect; no clock is read.
package session
