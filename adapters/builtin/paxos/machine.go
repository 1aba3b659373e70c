package paxos

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/objects"
	"consist/adapters/builtin/simnet"
)

// The messages between nodes. They are never changed once sent.
type (
	// preVote asks whether the receiver too has lost the leader, before
	// the sender campaigns with (about) Ballot.
	preVote      struct{ Ballot ballot }
	preVoteReply struct {
		Ballot   ballot
		Granted  bool
		Promised ballot
	}
	// prepare is phase 1a for every slot from From on.
	prepare struct {
		Ballot ballot
		From   int64
	}
	// promise is phase 1b: what the acceptor accepted from From on.
	promise struct {
		Ballot   ballot
		Accepted []slotEntry
	}
	// nack refuses Ballot: the acceptor promised a higher one.
	nack struct{ Ballot, Promised ballot }
	// acceptMsg is phase 2a. Chosen, like heartbeat's, tells that the
	// leader's log is chosen below that slot.
	acceptMsg struct {
		Ballot ballot
		Slot   int64
		Cmd    *command
		Chosen int64
	}
	// acceptedMsg is phase 2b.
	acceptedMsg struct {
		Ballot ballot
		Slot   int64
	}
	heartbeat struct {
		Ballot ballot
		Chosen int64
	}
	heartbeatAck struct{ Ballot ballot }
	// forward hands a client's command to the leader.
	forward struct{ Cmd *command }
	// catchUp asks for the chosen values from From on; decided answers.
	catchUp struct{ From int64 }
	decided struct {
		From int64
		Cmds []*command
	}
)

const (
	// ticksPerHeartbeat sets the resolution of the node's timing.
	ticksPerHeartbeat = 4
	// catchUpBatch is the most chosen values a decided message carries.
	catchUpBatch = 1024
	// pendingTTL is how long a node keeps handing a command to leaders:
	// by then its client has long given up.
	pendingTTL = 10 * time.Second
)

// machine is one node: acceptor, learner, replica and, at times,
// candidate or leader.
type machine struct {
	opts   Options
	node   *simnet.Node
	self   int
	names  []string
	index  map[string]int
	quorum int
	disk   *durable
	boot   int64
	seq    int64

	// Time is counted in ticks of the node's timers.
	tickEvery                               time.Duration
	minTicks, maxTicks, waitTicks, ttlTicks int64
	tick, lastHeard, deadline, catchUpAt    int64

	maxRound     int64 // the highest round seen
	leader       int   // as far as this node knows; -1: none
	leaderBallot ballot
	leaderChosen int64 // the leader's log is chosen below this slot

	prefix  int64 // slots below are chosen and applied
	objects map[any]any
	results map[cmdID]outcome
	pending map[cmdID]*waiting // this node's clients' commands

	camp *campaign
	lead *leadership
}

type outcome struct {
	value any
	err   error
}

// waiting is a client's command on its way to being applied.
type waiting struct {
	cmd        *command
	born, sent int64
	// forwarded is set once the command went to a leader: from then on
	// it may be chosen, and must never be refused.
	forwarded bool
}

type campaign struct {
	ballot    ballot
	votes     []bool
	count     int
	preparing bool // phase 1 began
	from      int64
	promises  map[int][]slotEntry
}

type leadership struct {
	ballot   ballot
	next     int64 // the next free slot
	inflight map[int64]*proposal
	ids      map[cmdID]bool // commands proposed and not yet applied
	lastAck  []int64        // the tick each node last answered
	since    int64
}

type proposal struct {
	cmd   *command
	acks  []bool
	count int
	sent  int64
}

func newMachine(opts Options) *machine { return &machine{opts: opts} }

func (m *machine) Start(node *simnet.Node) {
	m.node, m.self, m.names = node, node.Index(), node.Nodes()
	m.index = map[string]int{}
	for i, name := range m.names {
		m.index[name] = i
	}
	m.quorum = len(m.names)/2 + 1
	m.disk = load(node.Disk())
	m.boot = m.disk.boot()
	m.leader = -1
	m.objects, m.results, m.pending = map[any]any{}, map[cmdID]outcome{}, map[cmdID]*waiting{}

	m.tickEvery = max(m.opts.Heartbeat/ticksPerHeartbeat, 50*time.Microsecond)
	ticks := func(d time.Duration) int64 { return int64((d + m.tickEvery - 1) / m.tickEvery) }
	m.minTicks, m.maxTicks = ticks(m.opts.ElectionMin), ticks(m.opts.ElectionMax)
	m.waitTicks, m.ttlTicks = ticks(m.opts.LeaderWait), ticks(pendingTTL)
	m.catchUpAt = -ticksPerHeartbeat

	m.advance() // replay the chosen log
	if m.opts.onLead != nil {
		m.opts.onLead(node.Name(), false)
	}
	m.deadline = m.electionTimeout()
	node.After(m.tickEvery, m.onTick)
}

func (m *machine) Request(req *simnet.Request) {
	if m.opts.LocalReads && objects.ReadOnly(req.Op) {
		// objects.Do leaves the objects as they were: the operation
		// only reads.
		req.Reply(objects.Do(m.objects, req.Op))
		return
	}
	m.seq++
	w := &waiting{cmd: &command{ID: cmdID{m.self, m.boot, m.seq}, Op: req.Op, req: req}, born: m.tick}
	m.pending[w.cmd.ID] = w
	m.submit(w)
}

func (m *machine) Receive(from string, msg any) {
	p, ok := m.index[from]
	if !ok {
		return
	}
	switch msg := msg.(type) {
	case preVote:
		granted := m.lead == nil && m.tick-m.lastHeard >= m.minTicks
		m.send(p, preVoteReply{msg.Ballot, granted, m.disk.promisedBallot()})
	case preVoteReply:
		m.onPreVoteReply(p, msg)
	case prepare:
		m.onPrepare(p, msg)
	case promise:
		c := m.camp
		if c == nil || !c.preparing || msg.Ballot != c.ballot {
			return
		}
		if _, dup := c.promises[p]; !dup {
			c.promises[p] = msg.Accepted
			if len(c.promises) >= m.quorum {
				m.becomeLeader()
			}
		}
	case nack:
		m.seeRound(msg.Promised.Round)
		if l := m.lead; l != nil && l.ballot == msg.Ballot {
			m.stepDown()
		}
		if c := m.camp; c != nil && c.ballot == msg.Ballot {
			m.camp = nil
		}
	case acceptMsg:
		if !m.follow(p, msg.Ballot) {
			return
		}
		if ok, promised := m.disk.accept(msg.Ballot, msg.Slot, msg.Cmd); !ok {
			m.send(p, nack{msg.Ballot, promised})
			return
		}
		m.send(p, acceptedMsg{msg.Ballot, msg.Slot})
		m.learn(msg.Chosen)
	case acceptedMsg:
		m.onAccepted(p, msg)
	case heartbeat:
		if m.follow(p, msg.Ballot) {
			m.send(p, heartbeatAck{msg.Ballot})
			m.learn(msg.Chosen)
		}
	case heartbeatAck:
		if l := m.lead; l != nil && l.ballot == msg.Ballot {
			l.lastAck[p] = m.tick
		}
	case forward:
		if m.lead != nil {
			m.propose(msg.Cmd)
		} else if r, ok := m.results[msg.Cmd.ID]; ok {
			m.answer(msg.Cmd, r)
		}
	case catchUp:
		if cmds := m.disk.chosenRun(msg.From, catchUpBatch); len(cmds) > 0 {
			m.send(p, decided{msg.From, cmds})
		}
	case decided:
		m.onDecided(msg)
	}
}

// onTick is the node's clock: the leader's heartbeats and retransmissions,
// a follower's election timeout, and the retries of client commands.
func (m *machine) onTick() {
	m.tick++
	if m.lead != nil {
		m.leaderTick()
	} else if m.tick >= m.deadline {
		m.campaign()
	}
	if m.tick%ticksPerHeartbeat == 0 {
		m.retryRequests()
	}
	m.node.After(m.tickEvery, m.onTick)
}

func (m *machine) electionTimeout() int64 {
	return m.tick + m.minTicks + m.node.Rand().Int64N(m.maxTicks-m.minTicks+1)
}

// hear notes a sign of a live leader (or a candidate this node promised).
func (m *machine) hear() {
	m.lastHeard = m.tick
	m.deadline = m.electionTimeout()
}

func (m *machine) seeRound(r int64) { m.maxRound = max(m.maxRound, r) }

func (m *machine) send(to int, msg any) { m.node.Send(m.names[to], msg) }

func (m *machine) broadcast(msg any) {
	for i := range m.names {
		if i != m.self {
			m.send(i, msg)
		}
	}
}

// setLeader records the leader this node knows of, and hands it the
// node's waiting commands when it is a new one.
func (m *machine) setLeader(leader int, b ballot) {
	if leader == m.leader && b == m.leaderBallot {
		return
	}
	m.leader, m.leaderBallot, m.leaderChosen = leader, b, 0
	for _, id := range m.pendingIDs() {
		w := m.pending[id]
		if m.leader != leader || leader < 0 {
			return
		}
		m.submit(w)
	}
}

// --- Election ---

// campaign starts an election: a pre-vote first.
func (m *machine) campaign() {
	m.deadline = m.electionTimeout()
	m.setLeader(-1, ballot{})
	m.seeRound(m.disk.promisedBallot().Round)
	c := &campaign{ballot: ballot{Round: m.maxRound + 1, Node: m.self}, votes: make([]bool, len(m.names)), count: 1}
	c.votes[m.self] = true
	m.camp = c
	if c.count >= m.quorum {
		m.startPrepare()
		return
	}
	m.broadcast(preVote{c.ballot})
}

func (m *machine) onPreVoteReply(p int, msg preVoteReply) {
	m.seeRound(msg.Promised.Round)
	c := m.camp
	if c == nil || c.preparing || msg.Ballot != c.ballot || !msg.Granted || c.votes[p] {
		return
	}
	c.votes[p] = true
	c.count++
	if c.count >= m.quorum {
		m.startPrepare()
	}
}

// startPrepare runs phase 1 for every slot this node has not learned
// chosen, beginning with its own acceptor.
func (m *machine) startPrepare() {
	c := m.camp
	c.ballot.Round = max(c.ballot.Round, m.maxRound+1)
	ok, promised, accepted := m.disk.promise(c.ballot, m.prefix)
	m.seeRound(promised.Round)
	if !ok {
		m.camp = nil
		return
	}
	c.preparing, c.from = true, m.prefix
	c.promises = map[int][]slotEntry{m.self: accepted}
	if len(c.promises) >= m.quorum {
		m.becomeLeader()
		return
	}
	m.broadcast(prepare{c.ballot, c.from})
}

func (m *machine) onPrepare(p int, msg prepare) {
	ok, promised, accepted := m.disk.promise(msg.Ballot, msg.From)
	m.seeRound(promised.Round)
	if !ok {
		m.send(p, nack{msg.Ballot, promised})
		return
	}
	if l := m.lead; l != nil && l.ballot.less(msg.Ballot) {
		m.stepDown()
	}
	if c := m.camp; c != nil && c.ballot.less(msg.Ballot) {
		m.camp = nil
	}
	if m.leaderBallot.less(msg.Ballot) {
		m.setLeader(-1, ballot{})
	}
	m.hear()
	m.send(p, promise{msg.Ballot, accepted})
}

// becomeLeader ends phase 1: it re-proposes, slot by slot, the value of
// highest ballot its quorum accepted (a no-op where none did), then
// proposes the node's waiting commands.
func (m *machine) becomeLeader() {
	c := m.camp
	m.camp = nil
	l := &leadership{ballot: c.ballot, inflight: map[int64]*proposal{}, ids: map[cmdID]bool{}, lastAck: make([]int64, len(m.names)), since: m.tick}
	for i := range l.lastAck {
		l.lastAck[i] = m.tick
	}
	last := c.from - 1
	best := map[int64]slotEntry{}
	for _, accepted := range c.promises {
		for _, e := range accepted {
			last = max(last, e.Slot)
			b, seen := best[e.Slot]
			if !seen || e.Chosen && !b.Chosen || !b.Chosen && b.Ballot.less(e.Ballot) {
				best[e.Slot] = e
			}
		}
	}
	m.lead = l
	l.next = max(last+1, m.prefix)
	if m.opts.onLead != nil {
		m.opts.onLead(m.node.Name(), true)
	}
	for s := c.from; s <= last && m.lead == l; s++ {
		if _, done := m.disk.chosen(s); done {
			continue
		}
		if e := best[s]; e.Chosen {
			m.disk.choose(s, e.Cmd)
		} else {
			m.proposeAt(s, e.Cmd)
		}
	}
	if m.lead != l {
		return
	}
	m.advance()
	m.broadcast(heartbeat{l.ballot, m.prefix})
	m.setLeader(m.self, l.ballot)
}

func (m *machine) stepDown() {
	if m.lead == nil {
		return
	}
	m.lead = nil
	m.setLeader(-1, ballot{})
	m.deadline = m.electionTimeout()
	if m.opts.onLead != nil {
		m.opts.onLead(m.node.Name(), false)
	}
}

// follow takes a message of ballot b from the leader p: it follows p
// unless it promised a higher ballot, which it then tells p.
func (m *machine) follow(p int, b ballot) bool {
	ok, promised := m.disk.raise(b)
	m.seeRound(promised.Round)
	if !ok {
		m.send(p, nack{b, promised})
		return false
	}
	if l := m.lead; l != nil && l.ballot.less(b) {
		m.stepDown()
	}
	m.camp = nil
	m.hear()
	m.setLeader(p, b)
	return true
}

// --- Leading ---

func (m *machine) leaderTick() {
	l := m.lead
	if m.tick%ticksPerHeartbeat == 0 {
		m.broadcast(heartbeat{l.ballot, m.prefix})
		for _, s := range slices.Sorted(maps.Keys(l.inflight)) {
			pr := l.inflight[s]
			if m.tick-pr.sent < ticksPerHeartbeat {
				continue
			}
			pr.sent = m.tick
			msg := acceptMsg{l.ballot, s, pr.cmd, m.prefix}
			for i, acked := range pr.acks {
				if !acked {
					m.send(i, msg)
				}
			}
		}
	}
	if m.tick-l.since < m.minTicks {
		return
	}
	heard := 0
	for i, t := range l.lastAck {
		if i == m.self || m.tick-t < m.minTicks {
			heard++
		}
	}
	if heard < m.quorum {
		m.stepDown()
	}
}

// propose puts cmd in the next free slot, unless it is applied (then it
// answers it) or in flight already.
func (m *machine) propose(cmd *command) {
	if r, ok := m.results[cmd.ID]; ok {
		m.answer(cmd, r)
		return
	}
	l := m.lead
	if l.ids[cmd.ID] {
		return
	}
	l.next++
	m.proposeAt(l.next-1, cmd)
	if m.opts.duplicate && m.lead == l {
		l.next++
		m.proposeAt(l.next-1, cmd)
	}
}

// proposeAt runs phase 2 for cmd at slot, its own acceptor first.
func (m *machine) proposeAt(slot int64, cmd *command) {
	l := m.lead
	if ok, promised := m.disk.accept(l.ballot, slot, cmd); !ok {
		m.seeRound(promised.Round)
		m.stepDown()
		return
	}
	pr := &proposal{cmd: cmd, acks: make([]bool, len(m.names)), count: 1, sent: m.tick}
	pr.acks[m.self] = true
	l.inflight[slot] = pr
	if cmd != nil {
		l.ids[cmd.ID] = true
	}
	m.broadcast(acceptMsg{l.ballot, slot, cmd, m.prefix})
	m.tally(slot, pr)
}

func (m *machine) onAccepted(p int, msg acceptedMsg) {
	l := m.lead
	if l == nil || msg.Ballot != l.ballot {
		return
	}
	l.lastAck[p] = m.tick
	pr := l.inflight[msg.Slot]
	if pr == nil || pr.acks[p] {
		return
	}
	pr.acks[p] = true
	pr.count++
	m.tally(msg.Slot, pr)
}

// tally learns slot chosen once a majority accepted it.
func (m *machine) tally(slot int64, pr *proposal) {
	if pr.count < m.quorum {
		return
	}
	delete(m.lead.inflight, slot)
	m.disk.choose(slot, pr.cmd)
	m.advance()
}

// --- Learning and applying ---

// learn takes the leader's word that its log is chosen below slot
// chosen. A slot this node accepted in the leader's ballot holds the
// leader's value, so it is chosen; for others it asks the leader.
func (m *machine) learn(chosen int64) {
	m.leaderChosen = max(m.leaderChosen, chosen)
	m.advance()
	if m.prefix < m.leaderChosen {
		m.requestCatchUp(false)
	}
}

func (m *machine) requestCatchUp(now bool) {
	if m.leader < 0 || m.leader == m.self || !now && m.tick-m.catchUpAt < ticksPerHeartbeat {
		return
	}
	m.catchUpAt = m.tick
	m.send(m.leader, catchUp{m.prefix})
}

func (m *machine) onDecided(msg decided) {
	// A leader learns slots chosen only through its own proposals or
	// phase 1, so that its followers can trust its accepted ballots.
	if m.lead != nil {
		return
	}
	for i, cmd := range msg.Cmds {
		m.disk.choose(msg.From+int64(i), cmd)
	}
	m.advance()
	if m.prefix < m.leaderChosen {
		m.requestCatchUp(true)
	}
}

// advance applies chosen slots in order for as long as they are known.
func (m *machine) advance() {
	for {
		cmd, ok := m.disk.chosen(m.prefix)
		if !ok && m.lead == nil && m.prefix < m.leaderChosen && m.disk.chooseAccepted(m.prefix, m.leaderBallot) {
			cmd, ok = m.disk.chosen(m.prefix)
		}
		if !ok {
			return
		}
		m.apply(cmd)
		m.prefix++
	}
}

// apply applies cmd to the objects unless it was applied before, at an
// earlier slot, and answers its client with the first application's
// result.
func (m *machine) apply(cmd *command) {
	if cmd == nil {
		return
	}
	r, dup := m.results[cmd.ID]
	if !dup {
		value, err := objects.Do(m.objects, cmd.Op)
		r = outcome{value, err}
		m.results[cmd.ID] = r
	}
	m.answer(cmd, r)
	delete(m.pending, cmd.ID)
	if m.lead != nil {
		delete(m.lead.ids, cmd.ID)
	}
}

// answer gives cmd's client the result r of cmd's first application.
// With local reads only the client's own node answers, once it applied
// cmd, so that the client's next read there sees it.
func (m *machine) answer(cmd *command, r outcome) {
	if !m.opts.LocalReads || cmd.ID.Node == m.self {
		cmd.reply(r)
	}
}

func (c *command) reply(r outcome) {
	if c.req != nil {
		c.req.Reply(r.value, r.err)
	}
}

// --- Clients ---

// submit hands w's command to the leader: to itself when it leads.
func (m *machine) submit(w *waiting) {
	switch {
	case m.lead != nil:
		w.forwarded, w.sent = true, m.tick
		m.propose(w.cmd)
	case m.leader >= 0:
		w.forwarded, w.sent = true, m.tick
		m.send(m.leader, forward{w.cmd})
	}
}

// pendingIDs returns the ids of the waiting commands in a fixed order, so
// that what the node sends does not follow Go's map order: a simulation
// must replay the same run from a seed.
func (m *machine) pendingIDs() []cmdID {
	ids := slices.Collect(maps.Keys(m.pending))
	slices.SortFunc(ids, func(a, b cmdID) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Boot, b.Boot), cmp.Compare(a.Seq, b.Seq))
	})
	return ids
}

// retryRequests hands waiting commands to the leader again, in case they
// were lost, and refuses those that never found one.
func (m *machine) retryRequests() {
	for _, id := range m.pendingIDs() {
		w := m.pending[id]
		age := m.tick - w.born
		switch {
		case !w.forwarded && age >= m.waitTicks:
			delete(m.pending, id)
			w.cmd.req.Reply(nil, adapters.NotApplied(fmt.Sprintf("node %s found no leader within %v: a majority of the nodes is down or cut off from it; retry later", m.node.Name(), m.opts.LeaderWait)))
		case age >= m.ttlTicks:
			delete(m.pending, id)
		case !w.forwarded || m.tick-w.sent >= m.minTicks:
			m.submit(w)
		}
	}
}
