// Package histtest holds helpers for tests that write histories inline.
package histtest

import (
	"fmt"
	"strings"
	"testing"

	"consist/checker"
	"consist/history"
)

// Parse reads an inline JSON Lines history, failing the test on error.
func Parse(t testing.TB, jsonl string) *history.History {
	t.Helper()
	h, err := history.Parse([]byte(strings.TrimSpace(jsonl)+"\n"), t.Name(), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Want is what a test expects of a checker's result on a history.
type Want struct {
	Model   checker.Model
	Engine  string
	Verdict checker.Verdict
	// Reason must be contained in the result's reason.
	Reason string
	// Kinds and Ops are the anomalies' kinds and operations, in order.
	Kinds []checker.Kind
	Ops   [][]int64
}

// Check fails t unless res, a checker's result on h, is what want says:
// the model, the engine, every operation counted, the verdict, the reason,
// and the anomalies, each with an explanation.
func Check(t testing.TB, h *history.History, res checker.Result, want Want) {
	t.Helper()
	if res.Verdict != want.Verdict {
		t.Fatalf("verdict %s (%s), want %s; anomalies %+v", res.Verdict, res.Reason, want.Verdict, res.Anomalies)
	}
	if res.Model != want.Model || res.Stats.Engine != want.Engine || res.Stats.Ops != len(h.Ops) {
		t.Errorf("result %+v: want model %s, engine %s, %d operations", res, want.Model, want.Engine, len(h.Ops))
	}
	if !strings.Contains(res.Reason, want.Reason) {
		t.Errorf("reason %q does not say %q", res.Reason, want.Reason)
	}
	var kinds []checker.Kind
	var ops [][]int64
	for _, a := range res.Anomalies {
		kinds = append(kinds, a.Kind)
		ops = append(ops, a.Ops)
		if a.Explanation() == "" {
			t.Errorf("anomaly %+v explains nothing", a)
		}
		if !a.Kind.Known() {
			t.Errorf("anomaly kind %q is not in the taxonomy (checker/anomaly.go)", a.Kind)
		}
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want.Kinds) || fmt.Sprint(ops) != fmt.Sprint(want.Ops) {
		t.Errorf("anomalies %v with ops %v, want %v with %v", kinds, ops, want.Kinds, want.Ops)
	}
}

// StaleReads returns the ok reads of a register history that are stale
// whatever the order of concurrent operations: the read returned a value
// whose write completed before another ok write of the key began, which
// itself completed before the read began. Values are unique per key.
func StaleReads(h *history.History) []*history.Op {
	type write struct{ invoke, complete int }
	writers := map[string]write{}     // by key and value written
	completed := map[string][]write{} // ok writes, by key
	name := func(key, v any) string { return history.Canonical([]any{key, v}) }
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Type != history.OK || op.F != "write" && op.F != "cas" {
			continue
		}
		v := op.Input
		if op.F == "cas" {
			v = op.Input.([]any)[1]
		}
		w := write{op.Invoke, op.Complete}
		writers[name(op.Key, v)] = w
		k := history.Canonical(op.Key)
		completed[k] = append(completed[k], w)
	}
	var out []*history.Op
	for i := range h.Ops {
		r := &h.Ops[i]
		if r.Type != history.OK || r.F != "read" {
			continue
		}
		seen, known := writers[name(r.Key, r.Output)]
		if !known && r.Output != nil {
			continue // written by a write of unknown outcome
		}
		for _, w := range completed[history.Canonical(r.Key)] {
			if w.complete < r.Invoke && w != seen && (r.Output == nil || seen.complete < w.invoke) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}
