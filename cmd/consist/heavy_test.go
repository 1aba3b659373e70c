package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
)

// heavyHistory writes a single-register JSON Lines history that defeats
// the read-mapping shortcut (values repeat, drawn from a few) and keeps
// many operations concurrent, a share of the writes crashed: the
// linearizability search must explore. Each operation takes effect at a
// random point while it is open, so the history is linearizable.
// Deterministic for a seed.
func heavyHistory(seed uint64, procs, ops int, crash float64) []byte {
	rng := rand.New(rand.NewPCG(seed, 99))
	var b bytes.Buffer
	type pending struct {
		f       string
		value   int
		applied bool
	}
	open := map[int]*pending{}
	next := procs // the next fresh process id
	idle := make([]int, procs)
	for i := range idle {
		idle[i] = i
	}
	state := 0
	apply := func(op *pending) {
		if op.f == "write" {
			state = op.value
		} else {
			op.value = state
		}
		op.applied = true
	}
	for invoked := 0; invoked < ops || len(open) > 0; {
		if invoked < ops && len(idle) > 0 && (len(open) == 0 || rng.IntN(2) == 0) {
			i := rng.IntN(len(idle))
			p := idle[i]
			idle = slices.Delete(idle, i, i+1)
			op := &pending{f: "write", value: rng.IntN(4)}
			if rng.IntN(2) == 0 {
				op.f = "read"
				fmt.Fprintf(&b, `{"type":"invoke","process":%d,"f":"read","value":null}`+"\n", p)
			} else {
				fmt.Fprintf(&b, `{"type":"invoke","process":%d,"f":"write","value":%d}`+"\n", p, op.value)
			}
			open[p] = op
			invoked++
			continue
		}
		var ps []int
		for p := range open {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		p := ps[rng.IntN(len(ps))]
		op := open[p]
		if !op.applied && rng.IntN(3) > 0 {
			apply(op) // its linearization point; it completes later
			continue
		}
		if !op.applied {
			apply(op)
		}
		delete(open, p)
		if op.f == "write" && rng.Float64() < crash {
			// crashed after taking effect; its client goes on as a new process
			fmt.Fprintf(&b, `{"type":"info","process":%d,"f":"write","value":%d}`+"\n", p, op.value)
			idle = append(idle, next)
			next++
			continue
		}
		fmt.Fprintf(&b, `{"type":"ok","process":%d,"f":"%s","value":%d}`+"\n", p, op.f, op.value)
		idle = append(idle, p)
	}
	return b.Bytes()
}
