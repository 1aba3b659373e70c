package paxos

import (
	"sync"

	"consist/adapters"
	"consist/adapters/builtin/simnet"
)

// ballot numbers a leader's term: ballots are ordered by round, then by
// node, so no two nodes ever use the same one.
type ballot struct {
	Round int64
	Node  int
}

func (b ballot) less(c ballot) bool {
	return b.Round < c.Round || b.Round == c.Round && b.Node < c.Node
}

// command is a client's operation in the log. A nil *command is a no-op.
// Commands are shared between nodes and never changed.
type command struct {
	ID  cmdID
	Op  adapters.Op
	req *simnet.Request // answered by whichever node applies the command
}

// cmdID names a command uniquely: the node that took the request, that
// node's boot and a sequence number within the boot.
type cmdID struct {
	Node      int
	Boot, Seq int64
}

// entry is an acceptor's record of one slot.
type entry struct {
	ballot   ballot // of the value accepted
	cmd      *command
	accepted bool
	chosen   bool // cmd is the slot's chosen value
}

// slotEntry is an entry as a promise reports it.
type slotEntry struct {
	Slot   int64
	Ballot ballot
	Cmd    *command
	Chosen bool
}

// durable is what a node keeps on its disk: the acceptor's promise and
// log (every slot it accepted, and which of them it knows chosen) and how
// many times the node booted. A write here is durable at once. The mutex
// is there because a crash may leave the old machine finishing an event
// while the restarted one starts.
type durable struct {
	mu       sync.Mutex
	boots    int64
	promised ballot
	log      []entry // indexed by slot
}

const diskKey = "paxos"

// load returns the durable state on disk, creating it on a first boot.
func load(disk *simnet.Disk) *durable {
	if d, ok := disk.Get(diskKey).(*durable); ok {
		return d
	}
	d := &durable{}
	disk.Put(diskKey, d)
	return d
}

// boot counts a boot and returns its number.
func (d *durable) boot() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.boots++
	return d.boots
}

func (d *durable) promisedBallot() ballot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.promised
}

// promise promises b unless a higher ballot was promised, and returns
// what was accepted at slots from on; it returns the ballot promised.
func (d *durable) promise(b ballot, from int64) (ok bool, promised ballot, accepted []slotEntry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.less(d.promised) {
		return false, d.promised, nil
	}
	d.promised = b
	for s := max(from, 0); s < int64(len(d.log)); s++ {
		if e := d.log[s]; e.accepted {
			accepted = append(accepted, slotEntry{Slot: s, Ballot: e.ballot, Cmd: e.cmd, Chosen: e.chosen})
		}
	}
	return true, b, accepted
}

// raise promises b if it is above the ballot promised; it reports whether
// b is at least the ballot promised (a leader this acceptor may follow).
func (d *durable) raise(b ballot) (ok bool, promised ballot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.less(d.promised) {
		return false, d.promised
	}
	d.promised = b
	return true, b
}

// accept accepts cmd at slot in ballot b unless a higher ballot was
// promised. A slot known chosen keeps its value: any later proposal there
// carries the same one.
func (d *durable) accept(b ballot, slot int64, cmd *command) (ok bool, promised ballot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.less(d.promised) {
		return false, d.promised
	}
	d.promised = b
	e := d.at(slot)
	if !e.chosen {
		*e = entry{ballot: b, cmd: cmd, accepted: true}
	}
	return true, b
}

// choose records cmd as chosen at slot.
func (d *durable) choose(slot int64, cmd *command) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.at(slot); !e.chosen {
		*e = entry{ballot: e.ballot, cmd: cmd, accepted: true, chosen: true}
	}
}

// chooseAccepted marks slot chosen if the value accepted there is the one
// of ballot b, which the leader of b says is chosen; it reports whether
// slot is known chosen.
func (d *durable) chooseAccepted(slot int64, b ballot) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if slot >= int64(len(d.log)) {
		return false
	}
	e := &d.log[slot]
	if e.accepted && e.ballot == b {
		e.chosen = true
	}
	return e.chosen
}

// chosen returns the value chosen at slot, if known.
func (d *durable) chosen(slot int64) (*command, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if slot >= int64(len(d.log)) || !d.log[slot].chosen {
		return nil, false
	}
	return d.log[slot].cmd, true
}

// chosenRun returns up to n values chosen at consecutive slots from on.
func (d *durable) chosenRun(from int64, n int) []*command {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*command
	for s := from; s < int64(len(d.log)) && len(out) < n && d.log[s].chosen; s++ {
		out = append(out, d.log[s].cmd)
	}
	return out
}

// at returns slot's entry, growing the log to hold it. d.mu is held.
func (d *durable) at(slot int64) *entry {
	for int64(len(d.log)) <= slot {
		d.log = append(d.log, entry{})
	}
	return &d.log[slot]
}
