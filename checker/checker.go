// Package checker is the contract every consistency checker in consist
// keeps: a checker judges a history against one or more consistency models
// and returns, per model, a Result holding a Verdict, the anomalies that
// justify it, and statistics.
//
// A verdict is never a guess. Valid and Invalid are definite; whenever a
// checker cannot decide (a timeout, a memory budget, a history outside its
// assumptions), it returns Unknown and says why in Result.Reason. A
// measure given nothing to judge against returns Measured: a measurement,
// neither a pass nor a failure.
//
// Subpackages implement the models: checker/linearizable, and in later
// work sequential, causal, the session guarantees and transactional
// isolation. The lattice of models (which implies which) is data, in
// lattice.go; so is the taxonomy of anomalies (anomaly.go: every kind,
// what it implies, which models it rules out). An anomaly is data too: a
// witness of steps (witness.go) whose sentence is rendered, escaped for
// its medium, in one place (render.go).
package checker

import (
	"context"
	"fmt"
	"time"

	"consist/history"
)

// Verdict is a checker's judgement of one model on one history.
type Verdict string

// The verdicts: three judgements, and Measured for a result that judges
// nothing.
const (
	// Valid: the history is consistent with the model.
	Valid Verdict = "valid"
	// Invalid: the history violates the model; Result.Anomalies shows
	// how.
	Invalid Verdict = "invalid"
	// Unknown: the checker could not decide; Result.Reason says why.
	Unknown Verdict = "unknown"
	// Measured: the result is a measurement, not a judgement. A measure
	// that was given nothing to judge against — bounded-staleness without
	// a bound, convergence on a history without final reads — reports
	// what it measured in Result.Details and, in Result.Reason, why it
	// judged nothing (and what it could not measure). A Measured result
	// is neither a pass nor a failure: Worse ranks it with Valid, so it
	// never fails a gate, and reports show it apart from the verdicts.
	Measured Verdict = "measured"
)

// Judged reports whether v is a judgement (Valid, Invalid or Unknown)
// rather than a measurement.
func (v Verdict) Judged() bool { return v != Measured }

// Worse reports whether v ranks worse than w for a caller gating on
// verdicts: Invalid is worst, then Unknown, then Valid and Measured,
// which rank alike.
func (v Verdict) Worse(w Verdict) bool { return v.rank() > w.rank() }

func (v Verdict) rank() int {
	switch v {
	case Invalid:
		return 2
	case Unknown:
		return 1
	}
	return 0
}

// Anomaly is one violation, shown by the fewest operations that exhibit
// it. It is data: its sentence refers to its steps and is rendered by
// Render, so text, JSON and HTML show the same witness. Build one with a
// Witness.
type Anomaly struct {
	// Kind names the anomaly, one of the taxonomy's kinds (see Kind).
	Kind Kind `json:"kind"`
	// Key is the object involved, when the anomaly concerns one.
	Key any `json:"key,omitempty"`
	// Ops are the indices of the operations involved (the index of each
	// operation's completion event, or of its invocation if it never
	// completed), sorted.
	Ops []int64 `json:"ops"`
	// Steps are the operations of the witness, in the order the sentence
	// follows them, each with its relation to the next.
	Steps []Step `json:"steps,omitempty"`
	// Sentence is one plain sentence a person can act on, as data; see
	// Render and Explanation.
	Sentence Phrase `json:"-"`
}

// Stats describes the work a check did.
type Stats struct {
	// Ops is the number of client operations considered.
	Ops int `json:"ops"`
	// Duration is the wall-clock time the check took.
	Duration time.Duration `json:"duration_ns"`
	// Engine names the algorithm that decided, e.g. "wgl-search".
	Engine string `json:"engine,omitempty"`
	// Explored counts the configurations a search visited, where the
	// engine searches.
	Explored int64 `json:"explored,omitempty"`
}

// Result is the judgement of one model.
type Result struct {
	Model Model `json:"model"`
	// Verdict is the judgement, or Measured when the result only
	// measures (Details) and judges nothing.
	Verdict Verdict `json:"verdict"`
	// Reason explains an Unknown verdict; it may also qualify another.
	Reason string `json:"reason,omitempty"`
	// ImpliedBy names the model the verdict was inferred from through the
	// lattice, when it was not checked itself.
	ImpliedBy Model     `json:"implied_by,omitempty"`
	Anomalies []Anomaly `json:"anomalies,omitempty"`
	Stats     Stats     `json:"stats"`
	// Details holds measurements particular to a model, such as the
	// staleness percentiles of bounded-staleness: data only, which the
	// report package renders (report.DetailsText).
	Details any `json:"details,omitempty"`
}

// Options are the settings every checker understands.
type Options struct {
	// Initial is the value every object holds before its first write; nil
	// means never written, which is what a read returns as null.
	Initial any
	// Timeout bounds the check; when it expires the verdict is Unknown.
	// Zero means no bound beyond the context's.
	Timeout time.Duration
	// NilRead says what a read that returned nil means; see NilRead.
	NilRead NilRead
	// MaxMemory bounds, in bytes, the memory a search may use for its
	// state; when it would exceed it the verdict is Unknown. Zero means
	// DefaultMaxMemory.
	MaxMemory int64
	// SessionScope says whether the session guarantees (read-your-writes,
	// monotonic reads, monotonic writes, writes-follow-reads) are judged
	// across the whole store or on each key alone; see Scope.
	SessionScope Scope
	// MaxStalenessVersions, when positive, makes bounded-staleness
	// invalid if a read lags more than this many versions behind.
	MaxStalenessVersions int
	// MaxStalenessTime, when positive, makes bounded-staleness invalid if
	// a read lags more than this long behind.
	MaxStalenessTime time.Duration
	// AllowNegativeBalances makes the bank checker accept reads that show
	// an account below zero, for stores that allow overdrafts; by default
	// a negative balance is an anomaly.
	AllowNegativeBalances bool
	// LinearizableKeys, SequentialKeys and WFRKeys let the transactional
	// checker assume more of a rw-register store, as Elle's options of the
	// same names do: that each key is linearizable (real time orders its
	// versions), sequentially consistent (each process's order does), or
	// writes-follow-reads (a transaction's write of a key follows the
	// version of it the transaction read). Each adds the version orders
	// it implies; none is assumed by default.
	LinearizableKeys, SequentialKeys, WFRKeys bool
}

// Scope is the extent over which a session guarantee is judged.
type Scope uint8

// The scopes of a session guarantee.
const (
	// ScopeStore judges a session's operations on every key together, as
	// Terry et al. (1994) and Viotti & Vukolić (2016) define the
	// guarantees: a session that wrote x and then y must not be seen to
	// have written y without x. The default.
	ScopeStore Scope = iota
	// ScopeKey judges each key's operations alone, as stores that shard
	// by key and promise guarantees per key (per-key sessions) do.
	ScopeKey
)

// String returns "store" or "key".
func (s Scope) String() string {
	if s == ScopeKey {
		return "key"
	}
	return "store"
}

// ParseScope reads "store" or "key".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "store":
		return ScopeStore, nil
	case "key":
		return ScopeKey, nil
	}
	return 0, fmt.Errorf("session scope %q: use store or key", s)
}

// NilRead is the meaning of a successful read that returned nil.
type NilRead uint8

// The meanings of a nil read.
const (
	// NilReadAuto follows the history's format: NilReadUnknown for
	// Jepsen EDN, NilReadUnwritten for everything else.
	NilReadAuto NilRead = iota
	// NilReadUnwritten: the object held nil, its value before any write
	// (consist's and Porcupine's convention).
	NilReadUnwritten
	// NilReadUnknown: the read's value is unknown, so it constrains
	// nothing (Knossos' convention: its register models accept a nil
	// read in any state, and Jepsen histories rely on it).
	NilReadUnknown
)

// Resolve returns the meaning of a nil read in a history of format f.
func (n NilRead) Resolve(f history.Format) NilRead {
	if n != NilReadAuto {
		return n
	}
	if f == history.EDN {
		return NilReadUnknown
	}
	return NilReadUnwritten
}

// DefaultMaxMemory is the search memory budget when Options.MaxMemory is 0.
const DefaultMaxMemory = 4 << 30

// MemoryBudget returns the effective memory budget.
func (o Options) MemoryBudget() int64 {
	if o.MaxMemory > 0 {
		return o.MaxMemory
	}
	return DefaultMaxMemory
}

// Checker judges histories against consistency models.
type Checker interface {
	// Models lists the models the checker decides.
	Models() []Model
	// Check judges h against every model in Models. It never fails: a
	// history it cannot judge gets Unknown verdicts with the reason, and
	// a cancelled ctx ends the check with Unknown.
	Check(ctx context.Context, h *history.History, opts Options) []Result
}

// Applier is implemented by checkers that judge only some kinds of
// histories (registers, say, and not queues). When every model is
// checked, a checker whose Applies returns false is skipped; asked for
// by name, it returns Unknown with the reason.
type Applier interface {
	Applies(h *history.History) bool
}
