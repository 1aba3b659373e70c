package txngen

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"consist/history"
)

// version is a committed append or write and the commit that made it.
type version struct {
	seq int
	val int64
}

// TestReplay checks large histories against the isolation level they were
// generated under, independently of the generator's own bookkeeping:
// replaying the starts and commits the generator traced, in order, every
// ok transaction's every read returns the state at its snapshot (at the
// commit for serializable; at the start for snapshot isolation; at the
// start or at the commit, per read, for read committed) plus its own
// earlier writes; snapshot isolation commits no write conflict
// (first-committer-wins); aborted transactions never commit, ok ones
// always do; and every start and commit lies strictly between the
// transaction's invocation and its completion.
func TestReplay(t *testing.T) {
	for _, w := range workloads {
		for _, iso := range isolations {
			cfg := Config{Seed: 21, Txns: 20_000, Processes: 12, Keys: 8, MaxWritesPerKey: 16, CrashRate: 0.03, FailRate: 0.03, Workload: w, Isolation: iso}
			var trace []traceEvent
			var b bytes.Buffer
			if _, err := write(context.Background(), &b, cfg, &trace); err != nil {
				t.Fatal(err)
			}
			h, err := history.Parse(b.Bytes(), "replay.jsonl", history.JSONL)
			if err != nil {
				t.Fatal(err)
			}
			replay(t, h, trace, cfg)
		}
	}
	// The benchmark's own shape, on fewer transactions.
	cfg := Bench(20_000)
	var trace []traceEvent
	var b bytes.Buffer
	if _, err := write(context.Background(), &b, cfg, &trace); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(b.Bytes(), "bench.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	replay(t, h, trace, cfg)
}

func replay(t *testing.T, h *history.History, trace []traceEvent, cfg Config) {
	t.Helper()
	name := cfg.Workload.String() + "/" + cfg.Isolation.String()
	list := cfg.Workload == ListAppend
	keys := map[int64][]version{}
	start := make([]int, len(h.Ops))  // snapshot seq
	commit := make([]int, len(h.Ops)) // commit seq, 0: never
	seq := 0
	inside := func(op *history.Op, tm int64) {
		if inv := h.Events[op.Invoke].Time; tm <= inv {
			t.Fatalf("%s: op %d: start or commit at %d, not after its invocation at %d", name, op.ID, tm, inv)
		}
		if op.Complete >= 0 {
			if done := h.Events[op.Complete].Time; tm >= done {
				t.Fatalf("%s: op %d: start or commit at %d, not before its completion at %d", name, op.ID, tm, done)
			}
		}
	}
	for _, e := range trace {
		op := &h.Ops[e.ord]
		inside(op, e.t)
		if !e.commit {
			start[e.ord] = seq
			continue
		}
		if cfg.Isolation == Serializable {
			start[e.ord] = seq
		}
		seq++
		commit[e.ord] = seq
		for _, m := range op.Input.([]any) {
			f, k, v := mopOf(t, m)
			if f == "r" {
				continue
			}
			vs := keys[k]
			if cfg.Isolation == SnapshotIsolation && len(vs) > 0 && vs[len(vs)-1].seq > start[e.ord] && vs[len(vs)-1].seq < seq {
				t.Fatalf("%s: op %d committed a write to key %d that op committed at seq %d wrote after its snapshot", name, op.ID, k, vs[len(vs)-1].seq)
			}
			if !list && len(vs) > 0 && vs[len(vs)-1].seq == seq {
				vs = vs[:len(vs)-1] // a register keeps the transaction's last write
			}
			keys[k] = append(vs, version{seq, v.(int64)})
		}
	}
	// at is key k's committed state as of seq s.
	at := func(k int64, s int) []int64 {
		var out []int64
		for _, v := range keys[k] {
			if v.seq <= s {
				out = append(out, v.val)
			}
		}
		return out
	}
	var reads int
	for i := range h.Ops {
		op := &h.Ops[i]
		switch {
		case op.Type == history.Fail && commit[i] != 0:
			t.Fatalf("%s: aborted op %d committed", name, i)
		case op.Type == history.OK && commit[i] == 0:
			t.Fatalf("%s: ok op %d never committed", name, i)
		case op.Type != history.OK:
			continue
		}
		snaps := []int{start[i]}
		if cfg.Isolation == ReadCommitted {
			snaps = append(snaps, commit[i]-1)
		}
		mops := op.Output.([]any)
		for j, m := range mops {
			f, k, v := mopOf(t, m)
			if f != "r" {
				continue
			}
			var own []int64
			for _, o := range mops[:j] {
				if f2, k2, v2 := mopOf(t, o); f2 != "r" && k2 == k {
					own = append(own, v2.(int64))
				}
			}
			var got []int64
			if list {
				for _, x := range v.([]any) {
					got = append(got, x.(int64))
				}
			} else if v != nil {
				got = []int64{v.(int64)}
			}
			ok := false
			var want []int64
			for _, s := range snaps {
				want = append(at(k, s), own...)
				if !list && len(want) > 0 {
					want = want[len(want)-1:]
				}
				if slices.Equal(got, want) {
					ok = true
					break
				}
			}
			if !ok {
				t.Fatalf("%s: op %d read %v from key %d; its snapshot (seq %v) holds %v", name, i, got, k, snaps, want)
			}
			reads++
		}
	}
	if reads < 10_000 {
		t.Fatalf("%s: only %d reads checked", name, reads)
	}
}
