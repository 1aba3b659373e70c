package oracle

import (
	"math/rand/v2"

	"consist/history"
)

// Config bounds the random histories Random generates.
type Config struct {
	// MaxProcs is the most client processes (at least 1); 0 means 4.
	MaxProcs int
	// MaxKeys is the most keys (at least 1); 0 means 2.
	MaxKeys int
	// MaxOps is the most operations invoked (at least 1); 0 means 8.
	MaxOps int
	// Initial is the value a read of a never-written key returns; it
	// should match checker.Options.Initial.
	Initial any
}

// thinAir is a value no generated operation ever writes.
const thinAir = int64(99)

// Random returns the events of a small random register history: 1 to
// MaxProcs workers doing 1 to MaxOps reads, writes and cas on 1 to MaxKeys
// keys, each worker as one process at a time (after a crash it continues
// under a fresh process id). Every write and cas writes a value unique to its key and
// never the initial value. The history is simulated on a register that
// takes each operation's effect when it completes, and then disturbed:
// reads sometimes return an older value, the initial value or a value never
// written; some cas succeed against the wrong value; some operations fail,
// crash (info) or are left open; concurrent operations overlap. The result
// always pairs with history.New. The same r state gives the same history.
func Random(r *rand.Rand, cfg Config) []history.Event {
	if cfg.MaxProcs <= 0 {
		cfg.MaxProcs = 4
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 2
	}
	if cfg.MaxOps <= 0 {
		cfg.MaxOps = 8
	}
	nprocs := 1 + r.IntN(cfg.MaxProcs)
	nops := 1 + r.IntN(cfg.MaxOps)
	var keys []any
	switch nkeys := 1 + r.IntN(cfg.MaxKeys); {
	case nkeys == 1 && r.IntN(2) == 0:
		keys = []any{nil} // the single default object
	default:
		for k := range nkeys {
			keys = append(keys, string(rune('x'+k)))
		}
	}

	g := &gen{r: r, initial: cfg.Initial, reg: map[string]any{}, written: map[string][]any{}, next: map[string]int64{}}
	// Each worker runs one process at a time; after a crash it continues
	// under a fresh process id, as Jepsen's clients do.
	procs := make([]history.Process, nprocs) // worker -> its current process
	for w := range procs {
		procs[w] = history.Process(w)
	}
	fresh := history.Process(nprocs)
	opened := map[history.Process]*history.Event{} // process -> its open invocation
	invoked := 0
	for {
		var idle, busy []int
		for w, p := range procs {
			switch {
			case opened[p] != nil:
				busy = append(busy, w)
			case invoked < nops:
				idle = append(idle, w)
			}
		}
		if len(idle)+len(busy) == 0 {
			break
		}
		if invoked == nops && r.IntN(8) == 0 {
			break // leave the remaining operations open
		}
		if pick := r.IntN(len(idle) + len(busy)); pick < len(idle) {
			p := procs[idle[pick]]
			inv := g.invoke(p, keys[r.IntN(len(keys))])
			opened[p] = &inv
			invoked++
		} else {
			w := busy[pick-len(idle)]
			p := procs[w]
			done := g.complete(*opened[p])
			delete(opened, p)
			if done.Type == history.Info {
				procs[w], fresh = fresh, fresh+1
			}
		}
	}
	for i := range g.events {
		g.events[i].Index = int64(i)
	}
	return g.events
}

// gen is the state of one generation.
type gen struct {
	r       *rand.Rand
	initial any
	events  []history.Event
	reg     map[string]any   // key -> the simulated register's value
	written map[string][]any // key -> every value invoked for writing
	next    map[string]int64 // key -> the last fresh value handed out
}

func (g *gen) current(key any) any {
	if v, ok := g.reg[history.Canonical(key)]; ok {
		return v
	}
	return g.initial
}

// observe returns what a read of key sees: usually the register's value,
// sometimes an older or concurrent one, the initial value, or thin air.
func (g *gen) observe(key any) any {
	switch x := g.r.IntN(20); {
	case x < 11:
		return g.current(key)
	case x < 17:
		vals := append([]any{g.initial}, g.written[history.Canonical(key)]...)
		return vals[g.r.IntN(len(vals))]
	case x < 19:
		return g.initial
	default:
		return thinAir
	}
}

func (g *gen) fresh(key any) int64 {
	k := history.Canonical(key)
	g.next[k]++
	v := g.next[k]
	g.written[k] = append(g.written[k], v)
	return v
}

func (g *gen) emit(e history.Event) history.Event {
	e.Time = history.NoTime
	g.events = append(g.events, e)
	return e
}

func (g *gen) invoke(p history.Process, key any) history.Event {
	e := history.Event{Type: history.Invoke, Process: p, Key: key, HasValue: true}
	switch x := g.r.IntN(10); {
	case x < 4:
		e.F = "read"
	case x < 8:
		e.F, e.Value = "write", g.fresh(key)
	default:
		e.F, e.Value = "cas", []any{g.observe(key), g.fresh(key)}
	}
	return g.emit(e)
}

func (g *gen) complete(inv history.Event) history.Event {
	e := history.Event{Process: inv.Process, F: inv.F, Key: inv.Key, Value: inv.Value, HasValue: true}
	k := history.Canonical(inv.Key)
	x := g.r.IntN(20)
	switch inv.F {
	case "read":
		switch {
		case x < 18:
			e.Type, e.Value = history.OK, g.observe(inv.Key)
		case x < 19:
			e.Type, e.Value = history.Info, nil
		default:
			e.Type, e.Value = history.Fail, nil
		}
	case "write":
		switch {
		case x < 16:
			e.Type = history.OK
			g.reg[k] = inv.Value
		case x < 18:
			e.Type = history.Info
			if g.r.IntN(2) == 0 {
				g.reg[k] = inv.Value
			}
		default:
			e.Type = history.Fail
		}
	case "cas":
		pair := inv.Value.([]any)
		// A cas whose expected value matches usually succeeds; one whose
		// value does not usually fails, and sometimes succeeds anyway.
		okBelow, infoBelow := 3, 5
		if history.Equal(pair[0], g.current(inv.Key)) {
			okBelow, infoBelow = 17, 18
		}
		switch {
		case x < okBelow:
			e.Type = history.OK
			g.reg[k] = pair[1]
		case x < infoBelow:
			e.Type = history.Info
			if g.r.IntN(2) == 0 {
				g.reg[k] = pair[1]
			}
		default:
			e.Type = history.Fail
		}
	}
	return g.emit(e)
}

// Mutation names a kind of change Mutate makes.
type Mutation uint8

// The mutations.
const (
	// ReadOther makes one ok read (or one cas's expected value) return
	// another value written to its key by another operation.
	ReadOther Mutation = iota
	// ReadInitial makes one ok read (or one cas's expected value) return
	// the initial value.
	ReadInitial
	// Swap exchanges two events of different processes with no event of
	// either process between them, changing real-time order only.
	Swap
)

// Mutate returns a copy of events with one random change of kind m, and
// whether one was possible. Events are renumbered by position. initial is
// the initial value, as in Config. The result still pairs with history.New.
func Mutate(r *rand.Rand, events []history.Event, m Mutation, initial any) ([]history.Event, bool) {
	out := make([]history.Event, len(events))
	copy(out, events)
	changed := false
	switch m {
	case ReadOther, ReadInitial:
		changed = mutateRead(r, out, m, initial)
	case Swap:
		changed = swap(r, out)
	}
	for i := range out {
		out[i].Index = int64(i)
	}
	return out, changed
}

// readValue returns what the event at i observed: a read completion's
// value or a cas invocation's expected value.
func readValue(e *history.Event) (any, bool) {
	switch {
	case e.F == "read" && e.Type == history.OK:
		return e.Value, true
	case e.F == "cas" && e.Type == history.Invoke:
		if pair, ok := e.Value.([]any); ok && len(pair) == 2 {
			return pair[0], true
		}
	}
	return nil, false
}

// writtenValue returns the value an invocation writes, if it writes.
func writtenValue(e *history.Event) (any, bool) {
	if e.Type != history.Invoke {
		return nil, false
	}
	switch e.F {
	case "write":
		return e.Value, true
	case "cas":
		if pair, ok := e.Value.([]any); ok && len(pair) == 2 {
			return pair[1], true
		}
	}
	return nil, false
}

func mutateRead(r *rand.Rand, events []history.Event, m Mutation, initial any) bool {
	var reads []int
	for i := range events {
		if _, ok := readValue(&events[i]); ok {
			reads = append(reads, i)
		}
	}
	if len(reads) == 0 {
		return false
	}
	i := reads[r.IntN(len(reads))]
	old, _ := readValue(&events[i])
	var candidates []any
	if m == ReadInitial {
		candidates = []any{initial}
	} else {
		for j := range events {
			w, ok := writtenValue(&events[j])
			if ok && j != i && history.Equal(events[j].Key, events[i].Key) { // a cas must not read its own write
				candidates = append(candidates, w)
			}
		}
	}
	var fresh []any
	for _, v := range candidates {
		if !history.Equal(v, old) {
			fresh = append(fresh, v)
		}
	}
	if len(fresh) == 0 {
		return false
	}
	v := fresh[r.IntN(len(fresh))]
	if events[i].F == "read" {
		events[i].Value = v
		return true
	}
	// A cas: change the expected value in its invocation and in its
	// completion, which repeats it.
	set := func(e *history.Event) {
		if pair, ok := e.Value.([]any); ok && len(pair) == 2 {
			e.Value = []any{v, pair[1]}
		}
	}
	set(&events[i])
	for j := i + 1; j < len(events); j++ {
		if events[j].Process == events[i].Process {
			set(&events[j])
			break
		}
	}
	return true
}

func swap(r *rand.Rand, events []history.Event) bool {
	type pair struct{ i, j int }
	var ok []pair
	for i := range events {
		for j := i + 1; j < len(events); j++ {
			if events[i].Process == events[j].Process {
				break // every later j has one of the two processes between
			}
			clean := true
			for k := i + 1; k < j; k++ {
				if events[k].Process == events[i].Process || events[k].Process == events[j].Process {
					clean = false
					break
				}
			}
			if clean {
				ok = append(ok, pair{i, j})
			}
		}
	}
	if len(ok) == 0 {
		return false
	}
	p := ok[r.IntN(len(ok))]
	events[p.i], events[p.j] = events[p.j], events[p.i]
	return true
}
