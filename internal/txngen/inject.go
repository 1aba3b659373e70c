package txngen

import "consist/history"

// scriptTxn is one transaction of an anomaly script.
type scriptTxn struct {
	outcome uint8
	mops    []mop
}

func ap(k int, v int64) mop { return mop{write: true, key: k, val: v} }

func rd(k int, vals ...int64) mop { return mop{key: k, forced: vals} }

// script returns anomaly a's concurrent transactions and its observer
// (nil when it has none) on keys x and y. The scripts are written for
// list-append; for rw-register, observer lists become their last value
// except where the comment on the Anomaly says otherwise.
func script(a Anomaly, x, y int, list bool) (conc []scriptTxn, obs []mop) {
	ok := func(ms ...mop) scriptTxn { return scriptTxn{outcome: outOK, mops: ms} }
	// last is what a register observer reads where a list observer reads
	// vals.
	last := func(k int, vals ...int64) mop {
		if list {
			return rd(k, vals...)
		}
		return rd(k, vals[len(vals)-1])
	}
	switch a {
	case G1c:
		return []scriptTxn{ok(ap(x, 1), rd(y, 1)), ok(ap(y, 1), rd(x, 1))}, []mop{rd(x, 1), rd(y, 1)}
	case GSingle:
		return []scriptTxn{ok(ap(x, 1), ap(y, 1)), ok(rd(x), rd(y, 1))}, []mop{rd(x, 1), rd(y, 1)}
	case LostUpdate:
		return []scriptTxn{ok(rd(x), ap(x, 1)), ok(rd(x), ap(x, 2))}, []mop{last(x, 1, 2)}
	case AbortedRead:
		return []scriptTxn{{outcome: outFail, mops: []mop{ap(x, 1)}}, ok(rd(x, 1))}, nil
	case WriteSkew:
		return []scriptTxn{ok(rd(x), ap(y, 1)), ok(rd(y), ap(x, 1))}, []mop{rd(x, 1), rd(y, 1)}
	case G0:
		return []scriptTxn{ok(ap(x, 1), ap(y, 1)), ok(ap(x, 2), ap(y, 2))}, []mop{last(x, 1, 2), last(y, 2, 1)}
	}
	return nil, nil
}

// inject starts anomaly a's script at time t: its concurrent transactions
// are invoked at t+1, t+2, ... and complete after all are invoked; its
// observer is invoked after they all complete. Each runs on a process of
// its own.
func (g *gen) inject(a Anomaly, t int64) {
	x, y := g.newKey(), g.newKey()
	g.st.Injected = append(g.st.Injected, Injected{Anomaly: a, Keys: [2]int{x, y}})
	conc, obs := script(a, x, y, g.cfg.Workload == ListAppend)
	end := t
	for i, s := range conc {
		inv := t + 1 + int64(i)
		done := t + int64(len(conc)) + 1 + g.latency()
		end = max(end, done)
		g.spawn(s, inv, done)
	}
	if obs != nil {
		g.spawn(scriptTxn{outcome: outOK, mops: obs}, end+1, end+1+g.latency())
	}
}

func (g *gen) spawn(s scriptTxn, invoke, complete int64) {
	p := &proc{id: g.nextID, t: invoke, outcome: s.outcome, mops: s.mops, scripted: true, invokeAt: invoke, completeAt: complete, injected: len(g.st.Injected) - 1}
	g.nextID++
	g.procs = append(g.procs, p)
	g.push(len(g.procs) - 1)
}

func (g *gen) stepScripted(p *proc) {
	switch p.phase {
	case phInvoke:
		g.emit(p, history.Invoke, p.t)
		p.phase, p.t = phComplete, p.completeAt
	case phComplete:
		typ := history.OK
		if p.outcome == outFail {
			typ = history.Fail
			g.st.Fail++
		} else {
			g.st.OK++
		}
		g.st.Txns++
		g.emit(p, typ, p.t)
		p.phase = phDone
	}
}
