package checker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"consist/checker"
	"consist/checker/causal"
	"consist/checker/internal/oracle"
	"consist/checker/linearizable"
	"consist/checker/sequential"
	"consist/checker/session"
	"consist/history"
)

const (
	valid   = checker.Valid
	invalid = checker.Invalid
)

// verdicts lists a verdict per model, in the order of models below.
type verdicts [10]checker.Verdict

// models is the order of verdicts' entries.
var models = [10]checker.Model{
	checker.Linearizable, checker.Sequential, checker.Causal, checker.CausalConvergence, checker.WeakCausal,
	checker.PRAM, checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites, checker.WritesFollowReads,
}

// allValid is the verdict of a history every model accepts.
var allValid = verdicts{valid, valid, valid, valid, valid, valid, valid, valid, valid, valid}

// litmus histories, each with the verdict of every model worked out by
// hand from the definitions, under store session scope and, where it
// differs, key session scope. Unless a line overlaps another, each
// operation completes before the next begins.
var litmus = []struct {
	name    string
	history string
	opts    checker.Options
	store   verdicts
	// key overrides the store verdicts of the session guarantees under
	// key scope; nil means they are the same.
	key map[checker.Model]checker.Verdict
}{{
	// p1 reads x=1 after the write of 2 completed: it could have read
	// before that write in some sequential order, not in real time.
	name: "stale read after a write",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"write","key":"x","value":2}
{"type":"ok","process":0,"f":"write","key":"x","value":2}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
`,
	store: verdicts{invalid, valid, valid, valid, valid, valid, valid, valid, valid, valid},
}, {
	// Store buffering: each process writes one key, then reads the other
	// as never written. No single order allows both reads; each process's
	// own view does.
	name: "store buffering (Dekker)",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"write","key":"y","value":1}
{"type":"ok","process":1,"f":"write","key":"y","value":1}
{"type":"invoke","process":0,"f":"read","key":"y","value":null}
{"type":"ok","process":0,"f":"read","key":"y","value":null}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":null}
`,
	store: verdicts{invalid, invalid, valid, valid, valid, valid, valid, valid, valid, valid},
}, {
	// Independent reads of independent writes: p2 sees x before y, p3 y
	// before x. Causality does not order the two writes.
	name: "IRIW",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"write","key":"y","value":1}
{"type":"ok","process":1,"f":"write","key":"y","value":1}
{"type":"invoke","process":2,"f":"read","key":"x","value":null}
{"type":"ok","process":2,"f":"read","key":"x","value":1}
{"type":"invoke","process":2,"f":"read","key":"y","value":null}
{"type":"ok","process":2,"f":"read","key":"y","value":null}
{"type":"invoke","process":3,"f":"read","key":"y","value":null}
{"type":"ok","process":3,"f":"read","key":"y","value":1}
{"type":"invoke","process":3,"f":"read","key":"x","value":null}
{"type":"ok","process":3,"f":"read","key":"x","value":null}
`,
	store: verdicts{invalid, invalid, valid, valid, valid, valid, valid, valid, valid, valid},
}, {
	// p1 writes y=1 after reading x=1, so x=1 is in y=1's causal past; p2
	// sees y=1 and then x as never written. PRAM orders only each
	// process's own writes and so does not see the chain. Nor do
	// writes-follow-reads (each of p2's reads can be served by its own
	// replica state, one holding x=1 and y=1, one holding neither) and
	// monotonic-reads (no write orders x=1 before y=1) alone: the two
	// together, as in causal memory, would.
	name: "causal chain broken",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
{"type":"invoke","process":1,"f":"write","key":"y","value":1}
{"type":"ok","process":1,"f":"write","key":"y","value":1}
{"type":"invoke","process":2,"f":"read","key":"y","value":null}
{"type":"ok","process":2,"f":"read","key":"y","value":1}
{"type":"invoke","process":2,"f":"read","key":"x","value":null}
{"type":"ok","process":2,"f":"read","key":"x","value":null}
`,
	store: verdicts{invalid, invalid, invalid, invalid, invalid, valid, valid, valid, valid, valid},
}, {
	// p0 writes x then y; p1 sees y's write but not x's. Each read alone
	// can be served by a state that keeps p0's order (monotonic-writes);
	// both at once, with p1's states growing, cannot (PRAM).
	name: "one writer's writes seen out of order",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"write","key":"y","value":1}
{"type":"ok","process":0,"f":"write","key":"y","value":1}
{"type":"invoke","process":1,"f":"read","key":"y","value":null}
{"type":"ok","process":1,"f":"read","key":"y","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":null}
`,
	store: verdicts{invalid, invalid, invalid, invalid, invalid, invalid, valid, valid, valid, valid},
}, {
	name: "a client misses its own write",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"read","key":"x","value":null}
{"type":"ok","process":0,"f":"read","key":"x","value":null}
`,
	store: verdicts{invalid, invalid, invalid, invalid, invalid, invalid, invalid, valid, valid, valid},
}, {
	// p1 reads 1, 2, then 1 again, the writes coming from two other
	// processes. Each read alone has a causal past that explains it, so
	// weak-causal holds. Only monotonic-reads of the session guarantees
	// breaks: the writes are another process's, made after no read.
	name: "reads go back in time",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":2,"f":"write","key":"x","value":2}
{"type":"ok","process":2,"f":"write","key":"x","value":2}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":2}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
`,
	store: verdicts{invalid, invalid, invalid, invalid, valid, invalid, valid, invalid, valid, valid},
}, {
	name: "read of a value never written",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":5}
`,
	store: verdicts{invalid, invalid, invalid, invalid, invalid, invalid, invalid, invalid, invalid, invalid},
}, {
	// p1 starts reading after both writes completed and sees first
	// neither, then both: behind in real time, but a consistent prefix.
	name: "lagging but consistent reader",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"write","key":"y","value":1}
{"type":"ok","process":0,"f":"write","key":"y","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":null}
{"type":"invoke","process":1,"f":"read","key":"y","value":null}
{"type":"ok","process":1,"f":"read","key":"y","value":null}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"y","value":null}
{"type":"ok","process":1,"f":"read","key":"y","value":1}
`,
	store: verdicts{invalid, valid, valid, valid, valid, valid, valid, valid, valid, valid},
}, {
	// Overlapping operations, a cas, a crashed write nobody read and a
	// failed one: linearizable, so valid under every model.
	name: "fully valid concurrent history",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":2,"f":"cas","key":"x","value":[1,2]}
{"type":"invoke","process":1,"f":"write","key":"y","value":1}
{"type":"ok","process":2,"f":"cas","key":"x","value":[1,2]}
{"type":"invoke","process":3,"f":"write","key":"x","value":3}
{"type":"ok","process":1,"f":"write","key":"y","value":1}
{"type":"invoke","process":0,"f":"read","key":"y","value":null}
{"type":"info","process":3,"f":"write","key":"x","value":3}
{"type":"ok","process":0,"f":"read","key":"y","value":1}
{"type":"invoke","process":0,"f":"read","key":"x","value":null}
{"type":"ok","process":0,"f":"read","key":"x","value":2}
{"type":"invoke","process":2,"f":"write","key":"y","value":2}
{"type":"fail","process":2,"f":"write","key":"y","value":2}
{"type":"invoke","process":1,"f":"read","key":"y","value":null}
{"type":"ok","process":1,"f":"read","key":"y","value":1}
`,
	store: allValid,
}, {
	// A crashed write that was read is kept, and then a read of x as
	// never written comes too late for it: monotonic-reads breaks, and
	// no other session guarantee (issue 13's counterexample).
	name: "crashed write seen, then unseen",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"info","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":null}
`,
	store: verdicts{invalid, invalid, invalid, invalid, invalid, invalid, valid, invalid, valid, valid},
}, {
	// p0's crashed cas wrote 5, which only p1's cas read, and p1's cas
	// never completed and wrote 6, which nobody read: neither is kept, so
	// p0's cas reading x as never written after writing 2 constrains
	// nothing.
	name: "crashed cas read only by a crashed cas",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":2}
{"type":"ok","process":0,"f":"write","key":"x","value":2}
{"type":"invoke","process":0,"f":"cas","key":"x","value":[null,5]}
{"type":"info","process":0,"f":"cas","key":"x","value":[null,5]}
{"type":"invoke","process":1,"f":"cas","key":"x","value":[5,6]}
`,
	store: allValid,
}, {
	// p1's cas replaces 1 by 2, then p1 reads 1. For read-your-writes
	// alone a cas is a read and a separate write, and nothing orders
	// that read before that write, so a view can put p1's write of 2
	// before p0's write of 1. The read goes back in time
	// (monotonic-reads); nothing orders writes against it otherwise.
	name: "a cas, then a read of the value it replaced",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"cas","key":"x","value":[1,2]}
{"type":"ok","process":1,"f":"cas","key":"x","value":[1,2]}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
`,
	store: verdicts{invalid, invalid, invalid, invalid, invalid, invalid, valid, invalid, valid, valid},
}, {
	// Under Knossos' convention a nil read says nothing.
	name: "a nil read of unknown value",
	history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"read","key":"x","value":null}
{"type":"ok","process":0,"f":"read","key":"x","value":null}
`,
	opts:  checker.Options{NilRead: checker.NilReadUnknown},
	store: allValid,
}}

// fastCheckers are the checkers of every model in models.
var fastCheckers = []interface {
	Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result
}{linearizable.Checker{}, sequential.Checker{}, causal.Checker{}, session.Checker{}}

func TestLitmus(t *testing.T) {
	for _, tt := range litmus {
		h, err := history.Parse([]byte(tt.history), tt.name, history.JSONL)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		indices := map[int64]bool{}
		for i := range h.Ops {
			indices[h.OpIndex(&h.Ops[i])] = true
		}
		for _, scope := range []checker.Scope{checker.ScopeStore, checker.ScopeKey} {
			t.Run(tt.name+"/"+scope.String(), func(t *testing.T) {
				opts := tt.opts
				opts.SessionScope = scope
				want := map[checker.Model]checker.Verdict{}
				for i, m := range models {
					want[m] = tt.store[i]
				}
				if scope == checker.ScopeKey {
					for m, v := range tt.key {
						want[m] = v
					}
				}

				// The expected verdicts are the oracle's.
				fromOracle, err := oracle.Verdicts(h, opts)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range models {
					if fromOracle[m] != want[m] {
						t.Errorf("oracle: %s is %s, want %s", m, fromOracle[m], want[m])
					}
				}

				got := map[checker.Model]checker.Result{}
				for _, c := range fastCheckers {
					for _, res := range c.Check(context.Background(), h, opts) {
						got[res.Model] = res
					}
				}
				for _, m := range models {
					res, ok := got[m]
					switch {
					case !ok:
						t.Errorf("%s: no result", m)
						continue
					case res.Verdict != want[m]:
						t.Errorf("%s: got %s, want %s (reason %q, anomalies %+v)", m, res.Verdict, want[m], res.Reason, res.Anomalies)
						continue
					case res.Verdict != invalid:
						continue
					}
					if len(res.Anomalies) == 0 {
						t.Errorf("%s: invalid without an anomaly", m)
					}
					for _, a := range res.Anomalies {
						if strings.TrimSpace(a.Explanation()) == "" {
							t.Errorf("%s: anomaly %q has no explanation", m, a.Kind)
						}
						if len(a.Ops) == 0 {
							t.Errorf("%s: anomaly %q names no operations", m, a.Kind)
						}
						for _, i := range a.Ops {
							if !indices[i] {
								t.Errorf("%s: anomaly %q names op %d, which is no operation's index (ops %v)", m, a.Kind, i, a.Ops)
							}
						}
						if !a.Kind.Known() {
							t.Errorf("%s: anomaly kind %q is not in the taxonomy", m, a.Kind)
						} else if !slices.Contains(a.Kind.RulesOut(), m) {
							t.Errorf("%s: anomaly %q is reported for a model its kind does not rule out (%v)", m, a.Kind, a.Kind.RulesOut())
						}
						// The witness's steps are its operations, each with its
						// line; the sentence names the first by index and line.
						seen := map[int64]bool{}
						for _, st := range a.Steps {
							seen[st.Index] = true
							if st.Line == 0 {
								t.Errorf("%s: step %+v has no line", m, st)
							}
						}
						if len(a.Steps) == 0 {
							t.Errorf("%s: anomaly %q has no steps", m, a.Kind)
						} else if st := a.Steps[0]; !strings.Contains(a.Explanation(), fmt.Sprintf("(index %d, line %d", st.Index, st.Line)) && !strings.Contains(a.Explanation(), fmt.Sprintf(", index %d, line %d", st.Index, st.Line)) {
							t.Errorf("%s: the first step %+v is not located in %q", m, st, a.Explanation())
						}
						if len(seen) != len(a.Ops) {
							t.Errorf("%s: anomaly %q has steps %+v for ops %v", m, a.Kind, a.Steps, a.Ops)
						}
					}
				}
			})
		}
	}
}
