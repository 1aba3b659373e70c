// Package readyourwrites is a primary-backup store with asynchronous
// log shipping whose clients read their own writes, as Terry, Demers,
// Petersen, Spreitzer, Theimer and Welch define the guarantee ("Session
// Guarantees for Weakly Consistent Replicated Data", PDIS 1994): each
// client remembers the version of its last write, and a replica serves
// its reads only once it has applied that version — the way proxies in
// front of MySQL read replicas route a session's reads by the GTID of its
// last write.
//
// # Design
//
// The first node, n1, is the primary; the others are followers. Every
// node serves its own clients.
//
//   - Writes (and cas, counter adds, set adds, list appends, bank
//     transfers) go to the primary: a follower forwards them, with an id
//     of its own. The primary applies the operation, with package
//     objects' semantics, to its objects; if it succeeds it appends the
//     object's next value to its log, whose length is the write's
//     version, and writes the entry to disk before anyone learns of it.
//     It records the outcome of every forwarded id on disk too, so that a
//     duplicated forward is answered, not applied again.
//   - The client learns the version with the answer, in its session state
//     (simnet.Request.ReplyWith): the version of its last write.
//   - The primary pushes each entry to every follower as it appends it,
//     and a follower asks it every Options.Fetch for the entries after
//     those it has, at most MaxBatch at a time, fetching again at once
//     while batches come full. A follower applies the log in order,
//     ignoring entries past a gap.
//   - A read is served by the client's own node from the objects it has
//     applied, once it has applied the client's last write; until then
//     it waits, and after Options.Wait it is refused (not applied). A
//     forwarded operation the primary has not answered within Wait ends
//     unknown: it may still take effect.
//   - Followers keep their replica in memory only, as a cache of the
//     primary's log: a restarted follower starts empty, serves reads at
//     once from what it has, and replays the log from the primary.
//
// # Guarantee
//
// Read-your-writes holds under every fault: a read waits for the
// client's last write, and every node applies a prefix of the primary's
// log, which holds each earlier write of the client too.
//
// Nothing stronger holds under every fault. Each client talks to one
// node, and while no follower restarts every node's state is a prefix
// of one log that only grows, so the store is sequentially consistent
// under partitions, pauses, clock skew, message delay and loss — though
// not linearizable: a follower serves reads before it has applied writes
// the primary acknowledged. When a follower restarts it goes back to an
// empty replica, and the clients it still serves see older states than
// they saw before: only their own last write is kept in view. Then
// monotonic reads, monotonic writes, writes-follow-reads, PRAM, the
// causal models and sequential consistency can all break; monotonic
// reads the least often, since a client writes often enough that its
// last write is seldom much older than what it read.
//
// # Faults
//
//   - None: reads on followers lag the primary by the message delay.
//   - Partitions: a follower cut off from the primary serves stale reads
//     for as long as the cut lasts; its clients' writes end unknown, and
//     reads after them are refused until the follower catches up.
//   - Kill and restart: the primary keeps its log; a follower loses its
//     replica and replays it, serving older states meanwhile. Requests in
//     flight end unknown; with the primary down, writes everywhere end
//     unknown.
//   - Pause: the node's clients time out; a paused primary's writes may
//     take effect late.
//   - Message loss and delay: entries come later; lost answers make
//     forwarded operations unknown.
//   - Clock skew: no effect; no clock is read.
package readyourwrites
