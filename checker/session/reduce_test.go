package session_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"consist/checker"
	"consist/checker/session"
	"consist/history"
)

// TestReduce is a delta-debugging reducer, not a check: with
// CONSIST_REDUCE=in.jsonl and CONSIST_REDUCE_OUT=out.jsonl set, it shrinks
// the history in.jsonl to a small one on which PRAM is still invalid while
// read-your-writes, monotonic-reads and monotonic-writes are all valid,
// and writes it to out.jsonl. Removing a write also removes every
// operation that read its value, so every history tried is well formed:
// paired events, and a write for every value read. It is how
// testdata/pram-three-guarantees.jsonl was found.
func TestReduce(t *testing.T) {
	in, out := os.Getenv("CONSIST_REDUCE"), os.Getenv("CONSIST_REDUCE_OUT")
	if in == "" || out == "" {
		t.Skip("set CONSIST_REDUCE and CONSIST_REDUCE_OUT to reduce a history")
	}
	h, err := history.ReadFile(in, history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	ops := make([]int, len(h.Ops))
	for i := range ops {
		ops[i] = i
	}
	interesting := func(ops []int) bool {
		sub, err := subHistory(h, closeOver(h, ops))
		if err != nil {
			return false
		}
		return pramAloneBreaks(sub)
	}
	if !interesting(ops) {
		t.Fatal("the input does not show the disagreement")
	}
	// Whole processes and keys first, then ddmin over operations.
	for _, by := range []func(*history.Op) any{
		func(o *history.Op) any { return o.Process },
		func(o *history.Op) any { return history.Canonical(o.Key) },
	} {
		groups := map[any]bool{}
		for _, i := range ops {
			groups[by(&h.Ops[i])] = true
		}
		for g := range groups {
			var keep []int
			for _, i := range ops {
				if by(&h.Ops[i]) != g {
					keep = append(keep, i)
				}
			}
			if interesting(keep) {
				ops = closeOver(h, keep)
			}
		}
	}
	ops = ddmin(ops, func(c []int) bool { return interesting(c) })
	ops = closeOver(h, ops)
	// One by one, to a 1-minimal history.
	for changed := true; changed; {
		changed = false
		for j := len(ops) - 1; j >= 0; j-- {
			keep := append(append([]int(nil), ops[:j]...), ops[j+1:]...)
			if interesting(keep) {
				ops, changed = closeOver(h, keep), true
				if j > len(ops) {
					j = len(ops)
				}
			}
		}
	}
	sub, err := subHistory(h, ops)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := history.WriteJSONL(&buf, sub.Events); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d operations left, written to %s", len(ops), out)
}

// pramAloneBreaks reports whether h is PRAM invalid while read-your-writes,
// monotonic-reads and monotonic-writes are all valid.
func pramAloneBreaks(h *history.History) bool {
	res := session.CheckModels(context.Background(), h, checker.Options{},
		checker.PRAM, checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites)
	if res[0].Verdict != checker.Invalid {
		return false
	}
	for _, r := range res[1:] {
		if r.Verdict != checker.Valid {
			return false
		}
	}
	return true
}

// ddmin is Zeller's delta debugging: a smaller subset of ops (kept in
// order) on which test still holds.
func ddmin(ops []int, test func([]int) bool) []int {
	n := 2
	for len(ops) >= 2 {
		chunk := (len(ops) + n - 1) / n
		reduced := false
		for start := 0; start < len(ops); start += chunk {
			end := min(start+chunk, len(ops))
			comp := append(append([]int(nil), ops[:start]...), ops[end:]...)
			if test(comp) {
				ops, n, reduced = comp, max(n-1, 2), true
				break
			}
		}
		if !reduced {
			if n >= len(ops) {
				break
			}
			n = min(2*n, len(ops))
		}
	}
	return ops
}

// closeOver drops, until nothing changes, every read or cas of ops whose
// value no write or cas of ops wrote (other than the initial nil).
func closeOver(h *history.History, ops []int) []int {
	for {
		written := map[[2]string]bool{}
		for _, i := range ops {
			o := &h.Ops[i]
			switch o.F {
			case "write":
				written[[2]string{history.Canonical(o.Key), history.Canonical(o.Input)}] = true
			case "cas":
				written[[2]string{history.Canonical(o.Key), history.Canonical(o.Input.([]any)[1])}] = true
			}
		}
		var keep []int
		for _, i := range ops {
			o := &h.Ops[i]
			var read any
			switch {
			case o.F == "read" && o.Type == history.OK:
				read = o.Output
			case o.F == "cas" && o.Type != history.Fail:
				read = o.Input.([]any)[0]
			}
			if read != nil && !written[[2]string{history.Canonical(o.Key), history.Canonical(read)}] {
				continue
			}
			keep = append(keep, i)
		}
		if len(keep) == len(ops) {
			return ops
		}
		ops = keep
	}
}

// subHistory is h with only the operations ops (and no nemesis events),
// renumbered from 0.
func subHistory(h *history.History, ops []int) (*history.History, error) {
	in := map[int]bool{}
	for _, i := range ops {
		o := &h.Ops[i]
		in[o.Invoke] = true
		if o.Complete >= 0 {
			in[o.Complete] = true
		}
	}
	var events []history.Event
	for i, e := range h.Events {
		if in[i] {
			e.Index, e.Line = int64(len(events)), 0
			events = append(events, e)
		}
	}
	return history.New("reduced", events)
}
