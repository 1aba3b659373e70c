package linearizable

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"consist/checker"
	"consist/checker/internal/oracle"
	"consist/checker/linearizable/reggen"
	"consist/history"
)

// searchOnly judges h with the Wing & Gong search alone, every object
// searched in full: the reference the read-mapping engine must agree with.
func searchOnly(ctx context.Context, h *history.History, opts checker.Options) checker.Verdict {
	obj, err := objectOf(h)
	if err != nil {
		return checker.Unknown
	}
	mem := newBudget(opts.MemoryBudget())
	verdict := checker.Valid
	for _, p := range partitionOps(h, obj, opts.NilRead) {
		o := p.check(ctx, obj, opts.Initial, mem, 0)
		switch {
		case o.err != nil:
			verdict = checker.Unknown
		case !o.ok:
			return checker.Invalid
		}
	}
	return verdict
}

func jsonl(h *history.History) string {
	var b strings.Builder
	history.WriteJSONL(&b, h.Events)
	return b.String()
}

// porcupineByKey checks h with Porcupine one key at a time (see
// porcupineVerdict), and returns the worst verdict.
func porcupineByKey(h *history.History, initial any, timeout time.Duration) porcupine.CheckResult {
	byKey := map[string][]history.Event{}
	var keys []string
	for i := range h.Ops {
		op := &h.Ops[i]
		k := history.Canonical(op.Key)
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], h.Events[op.Invoke])
		if op.Complete >= 0 {
			byKey[k] = append(byKey[k], h.Events[op.Complete])
		}
	}
	result := porcupine.Ok
	for _, k := range keys {
		evs := byKey[k]
		slices.SortFunc(evs, func(a, b history.Event) int { return cmp.Compare(a.Index, b.Index) })
		sub, err := history.New(h.Source, evs)
		if err != nil {
			panic(err)
		}
		switch porcupineVerdict(sub, initial, timeout) {
		case porcupine.Illegal:
			return porcupine.Illegal
		case porcupine.Unknown:
			result = porcupine.Unknown
		}
	}
	return result
}

// porcupineAgrees reports whether Porcupine, given a short time, either
// does not decide h or decides it as consist did.
func porcupineAgrees(h *history.History, initial any, got checker.Verdict) (porcupine.CheckResult, bool) {
	want := porcupineByKey(h, initial, 25*time.Millisecond)
	switch want {
	case porcupine.Ok:
		return want, got == checker.Valid
	case porcupine.Illegal:
		return want, got == checker.Invalid
	}
	return want, true
}

// TestReadMappingAgrees is the property test of the read-mapping engine:
// on thousands of generated register histories with unique values (1 to
// 50 processes, up to 3 keys, crashes and cas, half of them with a
// violation injected), consist's verdict is the generator's, the
// read-mapping engine decides every one of them, and Porcupine and the
// search, wherever they decide, agree.
func TestReadMappingAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2026))
	counts := map[string]int{}
	injected := map[string]int{}
	porcupineDecided, searchUnknown := 0, 0
	n := 2000
	if testing.Short() {
		n = 500
	}
	for i := range n {
		cfg := reggen.Config{
			Seed:      uint64(i),
			Processes: 1 + rng.IntN(50),
			Ops:       1 + rng.IntN(50),
			Keys:      1 + rng.IntN(3),
			CrashRate: rng.Float64() * 0.2,
			CAS:       rng.Float64() * 0.6,
			Invalid:   i%2 == 1,
		}
		if i%10 == 0 {
			cfg.CAS = -1 // reads and writes only
		}
		if i%50 == 0 {
			cfg.Ops = 100 + rng.IntN(300)
		}
		g, err := reggen.Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := g.History
		want := checker.Invalid
		if g.Linearizable {
			want = checker.Valid
		}
		res := Check(context.Background(), h, checker.Options{Timeout: 10 * time.Second})
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("history %d (%+v, violation %s at %v): "+format+"\n%s", append(append([]any{i, cfg, g.Violation, g.Ops}, args...), jsonl(h))...)
		}
		if res.Verdict != want {
			fail("consist says %s (%s, %+v), the generator %s", res.Verdict, res.Reason, res.Anomalies, want)
		}
		if res.Stats.Engine != EngineReadMapping {
			fail("decided by %q, want %q", res.Stats.Engine, EngineReadMapping)
		}
		if want == checker.Invalid {
			a := res.Anomalies[0]
			if len(a.Ops) == 0 || !strings.HasSuffix(a.Explanation(), ".") {
				fail("witness %+v", a)
			}
			counts[string(a.Kind)]++
			injected[g.Violation]++
		}
		// Porcupine's timeout is not always honoured on histories of
		// hundreds of concurrent operations, so it judges the small ones.
		if len(h.Ops) <= 60 {
			if p, ok := porcupineAgrees(h, nil, res.Verdict); !ok {
				fail("porcupine says %v, consist %s", p, res.Verdict)
			} else if p != porcupine.Unknown {
				porcupineDecided++
			}
		} else {
			porcupineDecided++ // not asked
		}
		if len(h.Ops) > 25 {
			continue // the search is compared on the small ones
		}
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Millisecond)
		s := searchOnly(ctx, h, checker.Options{})
		cancel()
		if s == checker.Unknown {
			searchUnknown++
		}
		if s != checker.Unknown && s != res.Verdict {
			fail("the search says %s, read-mapping %s", s, res.Verdict)
		}
	}
	if porcupineDecided < n*3/4 {
		t.Errorf("porcupine decided only %d of %d histories", porcupineDecided, n)
	}
	t.Logf("injected %v; anomaly kinds: %v; porcupine decided %d of %d; the search did not decide %d", injected, counts, porcupineDecided, n, searchUnknown)
}

// TestReadMappingOracle compares the engine with the brute-force oracle,
// Porcupine and the search on small disturbed histories: stale reads, reads
// of the initial value and of values never written, cas that succeed
// against the wrong value, failures, crashes and open operations.
func TestReadMappingOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	counts := map[checker.Verdict]int{}
	for i := range 8000 {
		var initial any
		if i%3 == 0 {
			initial = int64(0)
		}
		opts := checker.Options{Initial: initial, Timeout: 10 * time.Second}
		h, err := history.New("oracle", oracle.Random(rng, oracle.Config{MaxProcs: 2 + i%5, MaxKeys: 1 + i%2, MaxOps: 12, Initial: initial}))
		if err != nil {
			t.Fatal(err)
		}
		res := Check(context.Background(), h, opts)
		counts[res.Verdict]++
		obj, _ := objectOf(h)
		if res.Stats.Engine != EngineReadMapping && len(partitionOps(h, obj, opts.NilRead)) > 0 {
			t.Fatalf("history %d: decided by %s, want %s: its values are unique\n%s", i, res.Stats.Engine, EngineReadMapping, jsonl(h))
		}
		if res.Verdict == checker.Unknown {
			t.Fatalf("history %d: unknown (%s)\n%s", i, res.Reason, jsonl(h))
		}
		if want, err := oracle.Verdicts(h, opts); err == nil && want[checker.Linearizable] != res.Verdict {
			t.Fatalf("history %d: oracle %s, consist %s by %s (%+v)\n%s", i, want[checker.Linearizable], res.Verdict, res.Stats.Engine, res.Anomalies, jsonl(h))
		}
		if p, ok := porcupineAgrees(h, initial, res.Verdict); !ok {
			t.Fatalf("history %d: porcupine %v, consist %s by %s (%+v)\n%s", i, p, res.Verdict, res.Stats.Engine, res.Anomalies, jsonl(h))
		}
		if s := searchOnly(context.Background(), h, opts); s != res.Verdict {
			t.Fatalf("history %d: search %s, consist %s by %s (%+v)\n%s", i, s, res.Verdict, res.Stats.Engine, res.Anomalies, jsonl(h))
		}
	}
	if counts[checker.Valid] < 300 || counts[checker.Invalid] < 300 {
		t.Fatalf("lopsided: verdicts %v", counts)
	}
	t.Logf("verdicts %v", counts)
}

// chaosHistory is a small random register history with unique written
// values and little else: reads return, and cas expect, values drawn from
// those written so far, a few later ones, the initial value and a value
// never written, so that chains, rings and lost updates of cas, crashed
// operations observed or not, and every order conflict turn up.
func chaosHistory(rng *rand.Rand, procs, ops, keys int) *history.History {
	var events []history.Event
	type open struct {
		f   string
		key any
		v   any
	}
	pending := map[history.Process]*open{}
	next := history.Process(procs)
	active := make([]history.Process, procs)
	for i := range active {
		active[i] = history.Process(i)
	}
	counter := make([]int64, keys)
	pick := func(k int) any {
		switch r := rng.IntN(10); {
		case r == 0:
			return nil
		case r == 1:
			return int64(99)
		case r < 6 && counter[k] > 0:
			return counter[k] - int64(rng.IntN(min(int(counter[k]), 2)))
		default:
			return 1 + rng.Int64N(counter[k]+3)
		}
	}
	invoked := 0
	for invoked < ops || len(pending) > 0 {
		w := rng.IntN(len(active))
		p := active[w]
		o, busy := pending[p]
		switch {
		case !busy && invoked < ops:
			k := rng.IntN(keys)
			key := any(fmt.Sprintf("k%d", k))
			o = &open{key: key}
			switch rng.IntN(3) {
			case 0:
				o.f = "read"
			case 1:
				counter[k]++
				o.f, o.v = "write", counter[k]
			default:
				exp := pick(k)
				counter[k]++
				o.f, o.v = "cas", []any{exp, counter[k]}
			}
			events = append(events, history.Event{Type: history.Invoke, Process: p, F: o.f, Key: key, Value: o.v, HasValue: true, Time: history.NoTime})
			pending[p] = o
			invoked++
		case busy:
			e := history.Event{Type: history.OK, Process: p, F: o.f, Key: o.key, Value: o.v, HasValue: true, Time: history.NoTime}
			switch r := rng.IntN(10); {
			case r == 0:
				e.Type = history.Fail
			case r == 1:
				e.Type = history.Info
				active[w] = next
				next++
			case o.f == "read":
				var k int
				fmt.Sscanf(o.key.(string), "k%d", &k)
				e.Value = pick(k)
			}
			events = append(events, e)
			delete(pending, p)
		}
	}
	for i := range events {
		events[i].Index = int64(i)
	}
	h, err := history.New("chaos", events)
	if err != nil {
		panic(err)
	}
	return h
}

// TestReadMappingChaos compares the engine with the search and Porcupine
// on small chaotic histories (see chaosHistory).
func TestReadMappingChaos(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	counts := map[checker.Verdict]int{}
	kinds := map[string]int{}
	for i := range 6000 {
		var initial any
		if i%4 == 0 {
			initial = int64(0) // never written: values start at 1
		}
		h := chaosHistory(rng, 1+rng.IntN(5), 1+rng.IntN(14), 1+rng.IntN(2))
		opts := checker.Options{Initial: initial, Timeout: 10 * time.Second}
		res := Check(context.Background(), h, opts)
		counts[res.Verdict]++
		obj, _ := objectOf(h)
		if res.Stats.Engine != EngineReadMapping && len(partitionOps(h, obj, opts.NilRead)) > 0 {
			t.Fatalf("history %d: decided by %s, want %s\n%s", i, res.Stats.Engine, EngineReadMapping, jsonl(h))
		}
		if s := searchOnly(context.Background(), h, opts); s != res.Verdict {
			t.Fatalf("history %d: search %s, consist %s (%+v)\n%s", i, s, res.Verdict, res.Anomalies, jsonl(h))
		}
		if p, ok := porcupineAgrees(h, initial, res.Verdict); !ok {
			t.Fatalf("history %d: porcupine %v, consist %s\n%s", i, p, res.Verdict, jsonl(h))
		}
		for _, a := range res.Anomalies {
			kinds[string(a.Kind)]++
			if len(a.Ops) == 0 || !strings.HasSuffix(a.Explanation(), ".") {
				t.Fatalf("history %d: witness %+v", i, a)
			}
		}
	}
	if counts[checker.Valid] < 500 || counts[checker.Invalid] < 500 {
		t.Fatalf("lopsided: %v", counts)
	}
	t.Logf("verdicts %v, anomaly kinds %v", counts, kinds)
}
