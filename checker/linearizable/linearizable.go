// Package linearizable decides whether a history is linearizable.
//
// Definition (Herlihy & Wing, "Linearizability: A Correctness Condition for
// Concurrent Objects", TOPLAS 12(3), 1990; Viotti & Vukolić, ACM CSUR 2016,
// §3.1): a history is linearizable when some total order of its operations
// (a) respects real time: an operation that completed before another was
// invoked comes first, (b) is legal under the object's sequential
// specification, and (c) contains every operation that completed ok. A
// crashed (info) operation may appear anywhere after its invocation, or not
// at all; a failed one did not take effect and is left out.
//
// Real time is the order of events in the history file (Jepsen's order);
// timestamps, where present, only label explanations.
//
// Objects: registers (read, write, cas), Porcupine's key-value strings
// (get, put, append), Knossos' mutex (acquire, release) and multi-register
// transactions (txn of r and w micro-ops). Linearizability is local
// (Herlihy & Wing, Theorem 1), so single-key objects are checked one key at
// a time, and transactions one connected group of keys at a time.
//
// Two engines decide. A register whose written values are unique per key —
// every history consist's own workloads record — is decided in O(n log n)
// by the read-mapping engine (Gibbons & Korach's read-mapping and zones,
// extended to cas and crashed operations; see readMapping), whose valid
// verdicts come with a linearization it has checked and whose invalid ones
// with a handful of operations that have none. Every other object, and any
// register the first engine does not qualify, is decided by the Wing & Gong
// search with Lowe's memoisation (see search). Result.Stats.Engine says
// which decided: "read-mapping", "wgl-search", or
// "read-mapping+wgl-search". Memory is bounded by Options.MaxMemory and
// time by Options.Timeout, in both engines, and either limit yields
// Unknown, never a guess.
package linearizable

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"consist/checker"
	"consist/history"
)

// Checker decides linearizability. The zero value is ready to use.
type Checker struct{}

// Models returns the single model this checker decides.
func (Checker) Models() []checker.Model { return []checker.Model{checker.Linearizable} }

// Check judges h; see the package documentation for the definition.
func (Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return []checker.Result{Check(ctx, h, opts)}
}

// Applies reports whether some object model covers h's functions:
// registers, key-value strings, mutexes or register transactions.
func (Checker) Applies(h *history.History) bool {
	_, err := objectOf(h)
	return err == nil
}

// Engine is the name Stats.Engine reports for objects the search decided.
const Engine = "wgl-search"

// Check judges h against linearizability.
func Check(ctx context.Context, h *history.History, opts checker.Options) checker.Result {
	return checkInPasses(ctx, h, opts, firstPassSteps, 0)
}

// Attempt judges h with a small, fixed amount of search per object, and
// returns Unknown where that did not decide. It is cheap enough to try
// before the polynomial checkers: a valid verdict settles every weaker
// model.
func Attempt(ctx context.Context, h *history.History, opts checker.Options) checker.Result {
	return checkInPasses(ctx, h, opts, firstPassSteps)
}

// checkInPasses searches each object in passes, each with its step limit (0: no
// limit), the next pass taking only the objects the last left undecided.
func checkInPasses(ctx context.Context, h *history.History, opts checker.Options, passes ...int64) (res checker.Result) {
	start := time.Now()
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	res = checker.Result{Model: checker.Linearizable, Stats: checker.Stats{Ops: len(h.Ops), Engine: Engine}}
	defer func() { res.Stats.Duration = time.Since(start) }()

	obj, err := objectOf(h)
	if err != nil {
		res.Verdict, res.Reason = checker.Unknown, err.Error()
		return res
	}
	parts := partitionOps(h, obj, opts.NilRead)
	mem := newBudget(opts.MemoryBudget())
	// Once one object is proven nonlinearizable the verdict is settled,
	// and the rest is skipped — in a way that gives the same anomalies
	// every time, whatever the scheduling: the first pass (a small step
	// limit) checks every object; after it, a violation found means no
	// full search; and within the full search, a violation at object i
	// stops and drops only the objects after i, so that what is reported
	// is every object before the first violating one, and that one.
	searchCtx, stopSearch := context.WithCancel(ctx)
	defer stopSearch()
	outcomes := make([]partitionOutcome, len(parts))
	violated := func() bool {
		for _, o := range outcomes {
			if o.err == nil && !o.ok {
				return true
			}
		}
		return false
	}
	var begun atomic.Int64 // keys whose search has begun, for progress
	// A first pass with a small step limit decides most objects and finds
	// cheap violations fast; the second pass searches the rest fully.
	for pass, limit := range passes {
		if pass > 0 && violated() {
			for i := range outcomes {
				if errors.Is(outcomes[i].err, errSteps) {
					outcomes[i] = partitionOutcome{err: errSettled}
				}
			}
			break
		}
		begun.Store(0)
		var firstBad atomic.Int64
		firstBad.Store(int64(len(parts)))
		cancels := make([]context.CancelFunc, len(parts))
		searched := make([]bool, len(parts)) // taken up in this pass
		var cancelMu sync.Mutex
		runParallel(len(parts), func(i int) {
			if pass > 0 && !errors.Is(outcomes[i].err, errSteps) {
				return
			}
			cancelMu.Lock()
			if int64(i) > firstBad.Load() {
				cancelMu.Unlock()
				outcomes[i] = partitionOutcome{err: errSettled}
				return
			}
			objCtx, cancel := context.WithCancel(searchCtx)
			cancels[i], searched[i] = cancel, true
			cancelMu.Unlock()
			defer cancel()
			checker.ReportProgress(ctx, checker.ProgressStep{Model: checker.Linearizable, Unit: "key", Done: int(begun.Add(1)), Total: len(parts)})
			decided := false
			if pass == 0 {
				outcomes[i], decided = parts[i].readMapped(objCtx, obj, opts.Initial, mem)
			}
			if !decided {
				outcomes[i] = parts[i].check(objCtx, obj, opts.Initial, mem, stepLimit(limit, len(parts[i].ops)))
			}
			if pass > 0 && outcomes[i].err == nil && !outcomes[i].ok {
				cancelMu.Lock()
				if int64(i) < firstBad.Load() {
					firstBad.Store(int64(i))
					for j := i + 1; j < len(cancels); j++ {
						if cancels[j] != nil {
							cancels[j]()
						}
					}
				}
				cancelMu.Unlock()
			}
		})
		if bad := firstBad.Load(); pass > 0 {
			for j := bad + 1; j < int64(len(parts)); j++ {
				if searched[j] {
					outcomes[j] = partitionOutcome{err: errSettled}
				}
			}
		}
	}

	var undecided []string
	settled := 0
	engines := map[string]bool{}
	for i, o := range outcomes {
		res.Stats.Explored += o.explored
		if !errors.Is(o.err, errSettled) && o.engine != "" {
			engines[o.engine] = true
		}
		switch {
		case errors.Is(o.err, errSettled):
			settled++
		case o.err != nil:
			undecided = append(undecided, fmt.Sprintf("%s %v", parts[i].name(), o.err))
		case !o.ok && o.rm != nil:
			res.Anomalies = append(res.Anomalies, o.rm.anomaly(h, o.rm.conflict, opts.Initial))
		case !o.ok:
			res.Anomalies = append(res.Anomalies, explain(h, obj, parts[i], o, opts.Initial))
		}
	}
	res.Stats.Engine = engineName(engines)
	settleVerdict(&res, undecided, opts)
	if settled > 0 {
		res.Reason = strings.TrimPrefix(res.Reason+fmt.Sprintf("; %d object(s) left unchecked once a violation was found", settled), "; ")
	}
	return res
}

func undecidedReason(undecided []string, opts checker.Options) string {
	sort.Strings(undecided)
	shown := undecided
	if len(shown) > 3 {
		shown = shown[:3]
	}
	reason := fmt.Sprintf("could not decide %d object(s): %s", len(undecided), strings.Join(shown, "; "))
	if len(undecided) > len(shown) {
		reason += "; ..."
	}
	timeout := "none"
	if opts.Timeout > 0 {
		timeout = opts.Timeout.String()
	}
	return reason + fmt.Sprintf(" (raise --timeout, now %s, or --max-memory, now %s)", timeout, sizeText(opts.MemoryBudget()))
}

// sizeText renders a byte count for messages: 4GiB, 512MiB, 100B.
func sizeText(b int64) string {
	for _, u := range []struct {
		name  string
		scale int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b >= u.scale && b%u.scale == 0 {
			return fmt.Sprintf("%d%s", b/u.scale, u.name)
		}
		if b >= u.scale {
			return fmt.Sprintf("%.1f%s", float64(b)/float64(u.scale), u.name)
		}
	}
	return fmt.Sprintf("%dB", b)
}

// stepLimit scales a pass's step limit (0: none) to an object of n
// operations: a search that rarely backtracks takes a few dozen steps per
// operation.
func stepLimit(limit int64, n int) int64 {
	if limit == 0 {
		return 0
	}
	return limit + 64*int64(n)
}

// firstPassSteps is the step limit of the first pass over the objects.
const firstPassSteps = 1 << 17

// errSettled marks an object left unchecked because another object had
// already proven the history nonlinearizable.
var errSettled = errors.New("left unchecked: the history was already shown nonlinearizable")

// runParallel runs f(0..n-1) on up to GOMAXPROCS goroutines.
func runParallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= n {
					return
				}
				f(j)
			}
		})
	}
	wg.Wait()
}

// object is the kind of object a history's operations act on.
type object uint8

const (
	register object = iota
	kvString
	mutex
	multiRegister
)

var objectFuncs = []struct {
	obj   object
	funcs []string
}{
	{register, []string{"read", "write", "cas"}},
	{kvString, []string{"get", "put", "append"}},
	{mutex, []string{"acquire", "release"}},
	{multiRegister, []string{"txn"}},
}

// objectOf picks the object model from the functions the history uses.
func objectOf(h *history.History) (object, error) {
	fs := map[string]bool{}
	for i := range h.Ops {
		fs[h.Ops[i].F] = true
	}
	if len(fs) == 0 {
		return register, nil
	}
	for _, cand := range objectFuncs {
		known := 0
		for _, f := range cand.funcs {
			if fs[f] {
				known++
			}
		}
		if known == len(fs) {
			if cand.obj == multiRegister {
				if err := checkRegisterTxns(h); err != nil {
					return 0, err
				}
			}
			return cand.obj, nil
		}
	}
	var names []string
	for f := range fs {
		names = append(names, f)
	}
	sort.Strings(names)
	return 0, fmt.Errorf("no linearizability model covers the functions %s: consist checks registers (read, write, cas), key-value strings (get, put, append), mutexes (acquire, release) and register transactions (txn of r and w), one kind per history",
		strings.Join(names, ", "))
}

func checkRegisterTxns(h *history.History) error {
	for i := range h.Ops {
		mops, _ := h.Ops[i].Value().([]any)
		for _, m := range mops {
			if f := m.([]any)[0]; f != "r" && f != "w" {
				return fmt.Errorf("transaction at index %d uses micro-op %q; linearizability checks register transactions of r and w only (list-append transactions are for the isolation checkers)",
					h.OpIndex(&h.Ops[i]), f)
			}
		}
	}
	return nil
}

// partition is the operations of one object (or one group of keys touched
// together by transactions) that can affect linearizability.
type partition struct {
	keys []any
	ops  []*history.Op
	// nilUnknown: a read of nil observed nothing (Knossos' convention).
	nilUnknown bool
}

func (p *partition) name() string {
	switch len(p.keys) {
	case 0:
		return "the register"
	case 1:
		if p.keys[0] == nil {
			return "the register"
		}
		return "key " + history.Describe(p.keys[0])
	}
	names := make([]string, len(p.keys))
	for i, k := range p.keys {
		names[i] = history.Describe(k)
	}
	return "keys " + strings.Join(names, ", ")
}

// matters reports whether op can constrain a linearization: a failed
// operation had no effect, a crashed read observed nothing, and under
// Knossos' convention a read of nil observed nothing either.
func matters(op *history.Op, nilRead checker.NilRead) bool {
	isRead := op.F == "read" || op.F == "get"
	switch op.Type {
	case history.Fail:
		return false
	case history.Info:
		return !isRead
	}
	return !(isRead && op.Output == nil && nilRead == checker.NilReadUnknown)
}

// partitionOps splits the history's operations by key, or for transactions
// by connected groups of keys, in order of first appearance.
func partitionOps(h *history.History, obj object, nilRead checker.NilRead) []*partition {
	nilRead = nilRead.Resolve(h.Format)
	if obj == multiRegister {
		return partitionTxns(h, nilRead)
	}
	byKey := map[string]*partition{}
	var parts []*partition
	for i := range h.Ops {
		op := &h.Ops[i]
		if !matters(op, nilRead) {
			continue
		}
		k := history.Canonical(op.Key)
		p, ok := byKey[k]
		if !ok {
			p = &partition{keys: []any{op.Key}, nilUnknown: nilRead == checker.NilReadUnknown}
			byKey[k] = p
			parts = append(parts, p)
		}
		p.ops = append(p.ops, op)
	}
	return parts
}

func partitionTxns(h *history.History, nilRead checker.NilRead) []*partition {
	parent := map[string]string{}
	var find func(string) string
	find = func(k string) string {
		for parent[k] != k {
			parent[k] = parent[parent[k]]
			k = parent[k]
		}
		return k
	}
	keyVal := map[string]any{}
	var order []string
	for i := range h.Ops {
		op := &h.Ops[i]
		if !matters(op, nilRead) {
			continue
		}
		var first string
		for j, m := range op.Value().([]any) {
			k := history.Canonical(m.([]any)[1])
			if _, ok := parent[k]; !ok {
				parent[k] = k
				keyVal[k] = m.([]any)[1]
				order = append(order, k)
			}
			if j == 0 {
				first = find(k)
			} else {
				parent[find(k)] = first
			}
		}
	}
	byRoot := map[string]*partition{}
	var parts []*partition
	for _, k := range order {
		r := find(k)
		p, ok := byRoot[r]
		if !ok {
			p = &partition{nilUnknown: nilRead == checker.NilReadUnknown}
			byRoot[r] = p
			parts = append(parts, p)
		}
		p.keys = append(p.keys, keyVal[k])
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		mops := op.Value().([]any)
		if !matters(op, nilRead) || len(mops) == 0 {
			continue
		}
		p := byRoot[find(history.Canonical(mops[0].([]any)[1]))]
		p.ops = append(p.ops, op)
	}
	return parts
}

type partitionOutcome struct {
	outcome
	spec spec
	err  error
	// engine names the engine that decided (or gave up on) the object.
	engine string
	// rm is the read-mapping engine's view of the object, when it decided
	// it.
	rm *readMapping
}

// engineName reports the engines that decided a check's objects: the
// read-mapping engine, the search, or both.
func engineName(used map[string]bool) string {
	switch {
	case used[EngineReadMapping] && used[Engine]:
		return EngineReadMapping + "+" + Engine
	case used[EngineReadMapping]:
		return EngineReadMapping
	}
	return Engine
}

// readMapped decides the object with the read-mapping engine when it
// qualifies (a register with unique written values); decided is false when
// it does not, and the object is then searched.
func (p *partition) readMapped(ctx context.Context, obj object, initial any, mem *budget) (o partitionOutcome, decided bool) {
	dec, err := decideReadMapping(ctx, p, obj, initial, &share{of: mem})
	switch {
	case errors.Is(err, errNotUnique), errors.Is(err, errUnconfirmed):
		return partitionOutcome{}, false
	case errors.Is(err, errTimeout) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return partitionOutcome{err: fmt.Errorf("cancelled: %w", ctx.Err()), engine: EngineReadMapping}, true
	case err != nil:
		return partitionOutcome{err: err, engine: EngineReadMapping}, true
	}
	o = partitionOutcome{engine: EngineReadMapping, outcome: outcome{ok: dec.valid, blocker: -1}}
	if !dec.valid {
		dec.rm.conflict = dec.conflict
		o.rm = dec.rm
	}
	return o, true
}

func (p *partition) check(ctx context.Context, obj object, initial any, mem *budget, maxSteps int64) partitionOutcome {
	own := &share{of: mem}
	sp, ops := p.compile(obj, initial, own)
	o, err := search(ctx, sp, ops, own, maxSteps)
	if err == nil && !o.ok && own.refused {
		err = errMemory // a spec refused a step for want of memory
	}
	if errors.Is(err, errTimeout) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("cancelled: %w", ctx.Err())
	}
	return partitionOutcome{outcome: o, spec: sp, err: err, engine: Engine}
}

// compile builds the search's view of the partition: its specification and
// its operations' intervals.
func (p *partition) compile(obj object, initial any, mem *share) (spec, []operation) {
	ops := make([]operation, len(p.ops))
	for i, op := range p.ops {
		ops[i] = operation{call: op.Invoke, ret: op.Complete, optional: op.Type != history.OK}
		if ops[i].optional {
			ops[i].ret = never
		}
	}
	switch obj {
	case kvString:
		sp := &stringSpec{strs: newInterner(), appends: map[[2]int32]int32{}, mem: mem}
		if initial == nil {
			initial = "" // Porcupine's kv store: a missing key reads as ""
		}
		sp.initial = sp.strs.id(initial)
		for _, op := range p.ops {
			v := op.Input
			if op.F == "get" {
				v = op.Output
			}
			if _, ok := v.(string); !ok {
				v = history.Canonical(v)
			}
			sp.kind = append(sp.kind, op.F)
			sp.arg = append(sp.arg, sp.strs.id(v))
		}
		if _, ok := initial.(string); !ok {
			sp.strs.vals[sp.initial] = history.Canonical(initial)
		}
		return sp, ops
	case mutex:
		sp := &mutexSpec{}
		for _, op := range p.ops {
			sp.acquire = append(sp.acquire, op.F == "acquire")
		}
		return sp, ops
	case multiRegister:
		return p.compileTxns(initial, mem), ops
	}
	sp := &registerSpec{values: newInterner()}
	sp.initial = sp.values.id(initial)
	for _, op := range p.ops {
		sp.add(op)
	}
	return sp, ops
}

func (p *partition) compileTxns(initial any, mem *share) *multiRegisterSpec {
	sp := &multiRegisterSpec{values: newInterner(), tupleID: map[string]int32{}, memo: map[[2]int32]int32{}, mem: mem}
	slot := map[string]int{}
	init := make([]int32, len(p.keys))
	for i, k := range p.keys {
		slot[history.Canonical(k)] = i
		sp.keys = append(sp.keys, fmt.Sprint(k))
		init[i] = sp.values.id(initial)
	}
	sp.addTuple(tupleKey(init), init)
	for _, op := range p.ops {
		var txn []microOp
		for _, m := range op.Value().([]any) {
			mop := m.([]any)
			txn = append(txn, microOp{
				write: mop[0] == "w",
				slot:  slot[history.Canonical(mop[1])],
				value: sp.values.id(mop[2]),
				check: mop[0] == "r" && op.Type == history.OK && !(mop[2] == nil && p.nilUnknown),
			})
		}
		sp.txns = append(sp.txns, txn)
	}
	return sp
}

// settleVerdict sets res's verdict from its anomalies and the objects left
// undecided: invalid when any anomaly was found, else unknown when any
// object was undecided (saying why), else valid.
func settleVerdict(res *checker.Result, undecided []string, opts checker.Options) {
	switch {
	case len(res.Anomalies) > 0:
		res.Verdict = checker.Invalid
	case len(undecided) > 0:
		res.Verdict = checker.Unknown
	default:
		res.Verdict = checker.Valid
	}
	if len(undecided) > 0 {
		res.Reason = undecidedReason(undecided, opts)
	}
}
