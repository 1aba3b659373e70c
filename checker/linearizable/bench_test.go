package linearizable

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"consist/checker"
	"consist/checker/linearizable/porcbench"
	"consist/checker/linearizable/reggen"
	"consist/history"
)

// BenchmarkPorcupineCorpus checks the whole Porcupine corpus (103 etcd logs,
// 6 kv histories) through consist and through Porcupine's API directly, with
// the models of Porcupine's own tests, in the same run. Parsing is done
// once, outside the timed loop, for both. Compare the two sub-benchmarks'
// ns/op: consist is meant to take at most 0.5x Porcupine's time. The etcd
// logs write the values 0 to 4 over and over, so the read-mapping engine
// does not apply to them and the search decides.
func BenchmarkPorcupineCorpus(b *testing.B) {
	items := loadPorcupineCorpus(b)
	b.Run("consist", func(b *testing.B) {
		for b.Loop() {
			for _, it := range items {
				Check(context.Background(), it.h, checker.Options{Timeout: time.Minute})
			}
		}
	})
	b.Run("porcupine", func(b *testing.B) {
		for b.Loop() {
			for _, it := range items {
				porcupine.CheckEventsTimeout(it.model, it.events, time.Minute)
			}
		}
	})
}

// corpusItem is a parsed corpus history with the Porcupine model its
// upstream test uses.
type corpusItem struct {
	h      *history.History
	events []porcupine.Event // h as Porcupine's own parsers would give it
	model  porcupine.Model
	expect string
}

func loadPorcupineCorpus(tb testing.TB) []corpusItem {
	var items []corpusItem
	for _, c := range porcupineCorpus(tb) {
		if c.expect == "none" {
			continue
		}
		h, err := history.ReadFile(c.path, history.Auto)
		if err != nil {
			tb.Fatal(err)
		}
		model := porcupineEtcdModel
		if h.Ops[0].Key != nil {
			model = porcupineKVModel
		}
		items = append(items, corpusItem{h, porcupineEvents(h), model, c.expect})
	}
	return items
}

// porcupineOut is a return value as Porcupine's tests model it: the value
// read or the cas outcome, or unknown for a crashed operation.
type porcupineOut struct {
	value   any
	ok      bool
	unknown bool
}

// porcupineEvents turns a history into Porcupine events the way Porcupine's
// own test parsers do: crashed operations stay open and get an unknown
// return after the last event.
func porcupineEvents(h *history.History) []porcupine.Event {
	var evs []porcupine.Event
	open := map[int]bool{}
	for i := range h.Ops {
		open[i] = true
	}
	opAt := map[int]int{}
	for i := range h.Ops {
		opAt[h.Ops[i].Invoke] = i
		if h.Ops[i].Complete >= 0 {
			opAt[h.Ops[i].Complete] = i
		}
	}
	for pos := range h.Events {
		id, ok := opAt[pos]
		if !ok {
			continue
		}
		op := &h.Ops[id]
		switch {
		case pos == op.Invoke:
			evs = append(evs, porcupine.Event{ClientId: int(op.Process), Kind: porcupine.CallEvent, Value: op, Id: id})
		case op.Type == history.Info:
		default:
			delete(open, id)
			out := porcupineOut{value: op.Output, ok: op.Type == history.OK, unknown: op.Type == history.Fail && op.F == "read"}
			evs = append(evs, porcupine.Event{ClientId: int(op.Process), Kind: porcupine.ReturnEvent, Value: out, Id: id})
		}
	}
	for id := range h.Ops {
		if open[id] {
			evs = append(evs, porcupine.Event{ClientId: int(h.Ops[id].Process), Kind: porcupine.ReturnEvent, Value: porcupineOut{unknown: true}, Id: id})
		}
	}
	return evs
}

// porcupineEtcdModel is Porcupine's etcdModel: a register whose failed cas
// observed a different value.
var porcupineEtcdModel = porcupine.Model{
	Init: func() any { return "null" },
	Step: func(state, input, output any) (bool, any) {
		op, out := input.(*history.Op), output.(porcupineOut)
		switch op.F {
		case "read":
			return out.unknown || state == history.Canonical(out.value), state
		case "write":
			return true, history.Canonical(op.Input)
		}
		pair := op.Input.([]any)
		match := state == history.Canonical(pair[0])
		next := state
		if match {
			next = history.Canonical(pair[1])
		}
		return out.unknown || match == out.ok, next
	},
}

// porcupineKVModel is Porcupine's kvModel: strings per key.
var porcupineKVModel = porcupine.Model{
	PartitionEvent: func(evs []porcupine.Event) [][]porcupine.Event {
		byKey := map[any][]porcupine.Event{}
		keyOf := map[int]any{}
		var order []any
		for _, e := range evs {
			if e.Kind == porcupine.CallEvent {
				keyOf[e.Id] = e.Value.(*history.Op).Key
			}
			k := keyOf[e.Id]
			if _, ok := byKey[k]; !ok {
				order = append(order, k)
			}
			byKey[k] = append(byKey[k], e)
		}
		var parts [][]porcupine.Event
		for _, k := range order {
			parts = append(parts, byKey[k])
		}
		return parts
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		op, out := input.(*history.Op), output.(porcupineOut)
		switch op.F {
		case "get":
			return out.value == state, state
		case "put":
			return true, op.Input
		}
		return true, state.(string) + op.Input.(string)
	},
}

// TestPorcupineBaselineAgrees makes sure the benchmark's Porcupine side
// computes what Porcupine's own tests expect, so the comparison is fair.
func TestPorcupineBaselineAgrees(t *testing.T) {
	for _, it := range loadPorcupineCorpus(t) {
		got := porcupine.CheckEventsTimeout(it.model, it.events, time.Minute)
		if want := map[string]porcupine.CheckResult{"true": porcupine.Ok, "false": porcupine.Illegal}[it.expect]; got != want {
			t.Errorf("%s: porcupine says %v, expected.tsv %s", it.h.Source, got, it.expect)
		}
	}
}

// BenchmarkReadMapping checks generated register histories of the issue's
// target shape — 24 processes, 1 or 5 keys, 2% crashed, a fifth cas,
// unique values — valid and with one violation injected, at 100,000 and
// 1,000,000 operations. Generation is outside the timed loop. Besides
// ns/op and B/op it reports peak-heap-B: the most the heap grew above its
// level at the start of a check (memprobe).
func BenchmarkReadMapping(b *testing.B) {
	for _, ops := range []int{100_000, 1_000_000} {
		for _, keys := range []int{1, 5} {
			for _, invalid := range []bool{false, true} {
				name := fmt.Sprintf("ops=%d/keys=%d/valid=%v", ops, keys, !invalid)
				b.Run(name, func(b *testing.B) {
					g, err := reggen.Generate(reggen.Config{Seed: 1, Processes: 24, Ops: ops, Keys: keys, CrashRate: 0.02, CAS: 0.2, Invalid: invalid})
					if err != nil {
						b.Fatal(err)
					}
					want := checker.Valid
					if invalid {
						want = checker.Invalid
					}
					var peak uint64
					b.ResetTimer()
					for b.Loop() {
						var res checker.Result
						m := porcbench.Measure(func() {
							res = Check(context.Background(), g.History, checker.Options{Timeout: time.Minute})
						})
						peak = max(peak, m.PeakHeap)
						if res.Verdict != want || res.Stats.Engine != EngineReadMapping {
							b.Fatalf("%s by %s (%s), want %s", res.Verdict, res.Stats.Engine, res.Reason, want)
						}
					}
					b.ReportMetric(float64(peak), "peak-heap-B")
				})
			}
		}
	}
}
