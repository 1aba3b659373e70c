package mvcc_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/mvcc"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/checker/txn"
	"consist/history"
	"consist/nemesis"
)

// keyPool hands out list-append keys as Elle's generator does: a few
// keys in use at once, each retired after a number of appends and
// replaced by a fresh one, so that lists stay short.
type keyPool struct {
	mu       sync.Mutex
	active   []int64
	appends  map[int64]int
	next     int64
	maxWrite int
	value    atomic.Int64
}

func newKeyPool(n, maxWrites int) *keyPool {
	p := &keyPool{appends: map[int64]int{}, maxWrite: maxWrites}
	for range n {
		p.active = append(p.active, p.next)
		p.next++
	}
	return p
}

// txn draws a transaction of 1 to 4 micro-ops, half reads, half appends
// of values unique across the run.
func (p *keyPool) txn(rng *rand.Rand) []adapters.MicroOp {
	p.mu.Lock()
	defer p.mu.Unlock()
	mops := make([]adapters.MicroOp, 1+rng.IntN(4))
	for i := range mops {
		j := rng.IntN(len(p.active))
		k := p.active[j]
		if rng.IntN(2) == 0 {
			mops[i] = adapters.MicroOp{F: "r", Key: k}
			continue
		}
		mops[i] = adapters.MicroOp{F: "append", Key: k, Value: p.value.Add(1)}
		if p.appends[k]++; p.appends[k] >= p.maxWrite {
			p.active[j] = p.next
			p.next++
		}
	}
	return mops
}

// load describes a run of list-append transactions against the store.
type load struct {
	level   mvcc.Level
	clients int
	txns    int // per client
	keys    int
	seed    uint64
	faults  []nemesis.Kind
	record  bool
	// backoff, when set, is how long a client waits after a transaction
	// that did not commit, as a real client backs off: a node that is
	// down does not see every client spend its transactions in a burst
	// of refusals.
	backoff time.Duration
}

// counts are what a run's transactions came to.
type counts struct{ ok, fail, info atomic.Int64 }

// drive runs l and returns the recorder (nil when l.record is false).
func drive(tb testing.TB, l load, c *counts) *history.Recorder {
	tb.Helper()
	net := mvcc.New(simnet.Config{Seed: l.seed}, mvcc.Options{Level: l.level})
	defer net.Close()
	var rec *history.Recorder
	if l.record {
		rec = history.NewMemoryRecorder()
	}
	record := func(e history.Event) {
		if rec != nil {
			if _, err := rec.Record(e); err != nil {
				tb.Error(err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var nemDone chan error
	if len(l.faults) > 0 {
		nem, err := nemesis.New(net, nemesis.Schedule{Kinds: l.faults, Interval: 20 * time.Millisecond, Order: nemesis.Cycle, Seed: l.seed}, sink{record})
		if err != nil {
			tb.Fatal(err)
		}
		nemDone = make(chan error, 1)
		go func() { nemDone <- nem.Run(ctx) }()
	}
	pool := newKeyPool(max(2, l.keys), 16)
	var wg sync.WaitGroup
	for w := range l.clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(l.seed, uint64(w)))
			cl, err := net.Open(ctx, "n1")
			if err != nil {
				tb.Error(err)
				return
			}
			process := w
			for range l.txns {
				mops := pool.txn(rng)
				record(history.Event{Type: history.Invoke, Process: history.Process(process), F: "txn", Value: adapters.MicroOpsValue(mops), HasValue: true})
				opCtx, stop := context.WithTimeout(ctx, time.Second)
				res, err := cl.Do(opCtx, adapters.Op{Kind: adapters.Txn, F: "txn", Value: mops})
				stop()
				if err != nil && l.backoff > 0 {
					<-time.After(l.backoff)
				}
				switch adapters.Outcome(err) {
				case history.OK:
					c.ok.Add(1)
					record(history.Event{Type: history.OK, Process: history.Process(process), F: "txn", Value: adapters.MicroOpsValue(res.([]adapters.MicroOp)), HasValue: true})
				case history.Fail:
					c.fail.Add(1)
					record(history.Event{Type: history.Fail, Process: history.Process(process), F: "txn", Value: adapters.MicroOpsValue(mops), HasValue: true, Error: err.Error()})
				default:
					c.info.Add(1)
					record(history.Event{Type: history.Info, Process: history.Process(process), F: "txn", Value: adapters.MicroOpsValue(mops), HasValue: true, Error: err.Error()})
					process += l.clients
				}
			}
		})
	}
	wg.Wait()
	cancel()
	if nemDone != nil {
		if err := <-nemDone; err != nil {
			tb.Fatal(err)
		}
	}
	return rec
}

// sink lets the nemesis record into the run's history.
type sink struct{ record func(history.Event) }

func (s sink) Record(e history.Event) (history.Event, error) { s.record(e); return e, nil }

// verdicts runs l and checks its history with the transactional checker.
func verdicts(t *testing.T, l load) (map[checker.Model]checker.Verdict, map[checker.Kind]checker.Anomaly) {
	t.Helper()
	l.record = true
	var c counts
	rec := drive(t, l, &c)
	h, err := rec.History()
	if err != nil {
		t.Fatal(err)
	}
	rec.Close()
	if c.ok.Load() < int64(l.clients*l.txns/3) {
		t.Fatalf("%s: only %d of %d transactions committed (%d failed, %d unknown)", l.level, c.ok.Load(), l.clients*l.txns, c.fail.Load(), c.info.Load())
	}
	v := map[checker.Model]checker.Verdict{}
	found := map[checker.Kind]checker.Anomaly{}
	for _, r := range (txn.Checker{}).Check(context.Background(), h, checker.Options{Timeout: time.Minute}) {
		v[r.Model] = r.Verdict
		for _, a := range r.Anomalies {
			if _, ok := found[a.Kind]; !ok {
				found[a.Kind] = a
			}
		}
	}
	t.Logf("%s under %v: %d ok, %d failed, %d unknown; anomalies %v", l.level, l.faults, c.ok.Load(), c.fail.Load(), c.info.Load(), slices.Sorted(mapKeys(found)))
	return v, found
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestLevels runs list-append transactions against every level and
// prints what the checker finds (the profile's evidence).
func TestLevels(t *testing.T) {
	for _, level := range mvcc.Levels() {
		for _, faults := range [][]nemesis.Kind{nil, {nemesis.Kill, nemesis.Pause}} {
			t.Run(level.String()+"/"+joinKinds(faults), func(t *testing.T) {
				l := load{level: level, clients: 8, txns: 200, keys: 3, seed: 7, faults: faults}
				if faults != nil {
					l.backoff = 5 * time.Millisecond
				}
				v, _ := verdicts(t, l)
				var valid []string
				for _, m := range (txn.Checker{}).Models() {
					if v[m] == checker.Valid {
						valid = append(valid, string(m))
					}
				}
				t.Logf("valid: %v", valid)
			})
		}
	}
}

func joinKinds(ks []nemesis.Kind) string {
	if len(ks) == 0 {
		return "none"
	}
	s := ""
	for i, k := range ks {
		if i > 0 {
			s += ","
		}
		s += string(k)
	}
	return s
}
