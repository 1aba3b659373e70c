// Package reghist turns a register history (read, write and cas
// operations) into the form consist's relational checkers work on: the
// operations that took effect, each process's session order, and for
// every read the write it read from — which is known exactly when every
// written value is unique per key, as consist's workloads make it.
//
// Rules: ok operations are kept; a failed one did not take effect and is
// dropped; a crashed (info) write or cas is kept when some kept read saw
// its value (so it took effect) and dropped otherwise (it may never have
// taken effect); crashed reads tell nothing and are dropped. Under
// checker.NilReadUnknown, reads that returned nil are dropped too.
package reghist

import (
	"fmt"
	"slices"

	"consist/checker"
	"consist/history"
)

// Kind says whether an operation reads, writes, or both (a cas).
type Kind uint8

// The kinds of register operation.
const (
	Read  Kind = 1 << iota
	Write      // writes a value
	CAS   = Read | Write
)

// Initial is the Reads of an operation that read the initial value.
const Initial int32 = -1

// None marks the absence of an operation.
const None int32 = -1

// Op is a kept operation.
type Op struct {
	// Src is the operation in the source history.
	Src *history.Op
	// Process is the dense number of the operation's process (an index
	// into History.Processes).
	Process int32
	// Key is the dense number of the operation's key (an index into
	// History.Keys).
	Key  int32
	Kind Kind
	// Reads is, for an operation that reads, the operation whose write it
	// read, or Initial.
	Reads int32
	// Pos is the operation's position in its process's session.
	Pos int32
	// Read and Written are the values read and written.
	Read, Written any
}

// Reader reports whether the operation reads (a read or a cas).
func (o *Op) Reader() bool { return o.Kind&Read != 0 }

// Writer reports whether the operation writes (a write or a cas).
func (o *Op) Writer() bool { return o.Kind&Write != 0 }

// History is a register history prepared for checking.
type History struct {
	// Source is the history the operations came from.
	Source *history.History
	// Ops are the kept operations in invocation order.
	Ops []Op
	// Sessions lists each process's operations in session order.
	Sessions [][]int32
	// Processes are the source's process ids, by dense number.
	Processes []history.Process
	// Keys are the keys, by dense number; nil is the single default
	// register.
	Keys []any
	// WritesOf lists each key's writing operations in invocation order.
	WritesOf [][]int32
	// Initial is the value every key holds before its first write.
	Initial any
	// Unique is true when every written value is unique per key and
	// differs from the initial value, so each read names its write.
	Unique bool
	// Repeated explains why Unique is false.
	Repeated string
	// ThinAir lists operations that read a value no operation wrote
	// (their Reads is None); they are not in Ops.
	ThinAir []ThinAirRead
}

// ThinAirRead is a read of a value that no kept operation wrote.
type ThinAirRead struct {
	Src   *history.Op
	Value any
}

// Applies reports whether h holds only register operations.
func Applies(h *history.History) bool { return len(h.Ops) > 0 && ForeignFuncs(h) == nil }

// ForeignFuncs returns, sorted, the functions of h's operations that are
// not register functions (read, write, cas); nil when there are none.
func ForeignFuncs(h *history.History) []string {
	var fs []string
	for i := range h.Ops {
		switch f := h.Ops[i].F; f {
		case "read", "write", "cas":
		default:
			if !slices.Contains(fs, f) {
				fs = append(fs, f)
			}
		}
	}
	slices.Sort(fs)
	return fs
}

// WrittenBy returns the value a write or a well-formed cas writes.
func WrittenBy(op *history.Op) any {
	if op.F == "cas" {
		return op.Input.([]any)[1]
	}
	return op.Input
}

// Build prepares h. It fails, with a reason fit for an Unknown verdict,
// when h holds operations other than read, write and cas, or a malformed
// cas.
func Build(h *history.History, opts checker.Options) (*History, error) {
	nilUnknown := opts.NilRead.Resolve(h.Format) == checker.NilReadUnknown
	r := &History{Source: h, Initial: opts.Initial, Unique: true}
	keyIDs := map[string]int32{}
	keyOf := func(k any) int32 {
		c := history.Canonical(k)
		id, ok := keyIDs[c]
		if !ok {
			id = int32(len(r.Keys))
			keyIDs[c] = id
			r.Keys = append(r.Keys, k)
			r.WritesOf = append(r.WritesOf, nil)
		}
		return id
	}
	procIDs := map[history.Process]int32{}

	type candidate struct {
		src                     *history.Op
		kind                    Kind
		key                     int32
		read, written           any
		readCanon, writtenCanon string
	}
	cands := make([]candidate, 0, len(h.Ops))
	for i := range h.Ops {
		op := &h.Ops[i]
		c := candidate{src: op}
		switch op.F {
		case "read":
			if op.Type != history.OK {
				continue
			}
			if op.Output == nil && nilUnknown {
				continue
			}
			c.kind, c.read = Read, op.Output
		case "write":
			if op.Type == history.Fail {
				continue
			}
			c.kind, c.written = Write, op.Input
		case "cas":
			if op.Type == history.Fail {
				continue
			}
			pair, ok := op.Input.([]any)
			if !ok || len(pair) != 2 {
				return nil, fmt.Errorf("operation %d is a cas whose value %s is not [expected, new]: write cas values as two-element lists", h.OpIndex(op), history.Describe(op.Input))
			}
			c.kind, c.read, c.written = CAS, pair[0], pair[1]
		default:
			return nil, fmt.Errorf("operation %d is a %q, not a register operation (read, write, cas): this model is checked on register histories only", h.OpIndex(op), op.F)
		}
		c.key = keyOf(op.Key)
		if c.kind&Read != 0 {
			c.readCanon = history.Canonical(c.read)
		}
		if c.kind&Write != 0 {
			c.writtenCanon = history.Canonical(c.written)
		}
		cands = append(cands, c)
	}

	// Which candidate wrote each (key, value).
	type kv struct {
		key int32
		val string
	}
	writer := map[kv]int{}
	initial := history.Canonical(opts.Initial)
	for i, c := range cands {
		if c.kind&Write == 0 {
			continue
		}
		k := kv{c.key, c.writtenCanon}
		if j, dup := writer[k]; dup && r.Unique {
			r.Unique = false
			r.Repeated = fmt.Sprintf("%s was written to %s twice (operations %d and %d)", history.Describe(c.written), KeyName(r.Keys[c.key]), h.OpIndex(cands[j].src), h.OpIndex(c.src))
		}
		if c.writtenCanon == initial && r.Unique {
			r.Unique = false
			r.Repeated = fmt.Sprintf("operation %d wrote the initial value %s to %s", h.OpIndex(c.src), history.Describe(c.written), KeyName(r.Keys[c.key]))
		}
		writer[k] = i
	}
	// A crashed write is kept only when a kept operation read it; a
	// crashed cas that is kept reads in turn, so this runs to a fixpoint.
	seen := make([]bool, len(cands))
	var work []int
	for i, c := range cands {
		if c.src.Type == history.OK {
			work = append(work, i)
		}
	}
	for len(work) > 0 {
		c := cands[work[len(work)-1]]
		work = work[:len(work)-1]
		if c.kind&Read == 0 || c.readCanon == initial {
			continue
		}
		if j, ok := writer[kv{c.key, c.readCanon}]; ok && !seen[j] {
			seen[j] = true
			if cands[j].src.Type != history.OK {
				work = append(work, j)
			}
		}
	}
	id := make([]int32, len(cands))
	for i, c := range cands {
		id[i] = None
		if c.src.Type != history.OK && !seen[i] {
			continue
		}
		if c.kind&Read != 0 && c.readCanon != initial {
			if _, ok := writer[kv{c.key, c.readCanon}]; !ok {
				r.ThinAir = append(r.ThinAir, ThinAirRead{Src: c.src, Value: c.read})
				continue
			}
		}
		p, ok := procIDs[c.src.Process]
		if !ok {
			p = int32(len(r.Processes))
			procIDs[c.src.Process] = p
			r.Processes = append(r.Processes, c.src.Process)
			r.Sessions = append(r.Sessions, nil)
		}
		id[i] = int32(len(r.Ops))
		r.Ops = append(r.Ops, Op{Src: c.src, Process: p, Key: c.key, Kind: c.kind, Reads: None,
			Pos: int32(len(r.Sessions[p])), Read: c.read, Written: c.written})
		r.Sessions[p] = append(r.Sessions[p], id[i])
		if c.kind&Write != 0 {
			r.WritesOf[c.key] = append(r.WritesOf[c.key], id[i])
		}
	}
	if !r.Unique {
		return r, nil
	}
	for i, c := range cands {
		if id[i] == None || c.kind&Read == 0 {
			continue
		}
		op := &r.Ops[id[i]]
		if c.readCanon == initial {
			op.Reads = Initial
			continue
		}
		op.Reads = id[writer[kv{c.key, c.readCanon}]]
	}
	return r, nil
}

// Index returns the index by which people name op: its completion
// event's index.
func (r *History) Index(op int32) int64 { return r.Source.OpIndex(r.Ops[op].Src) }

// Describe names an operation in a sentence, recording it as a step of
// w: "process 2 read key y=1 (index 7, line 8)", "process 1 wrote key
// x=1 (index 3, line 4)", "process 3's cas of key x from 1 to 2 (index
// 9)".
func (r *History) Describe(w *checker.Witness, op int32) checker.Phrase {
	o := &r.Ops[op]
	key := r.Keys[o.Key]
	switch o.Kind {
	case Read:
		return checker.Say("%s read %s (%s)", w.Who(o.Src), Assign(key, o.Read), w.At(o.Src))
	case Write:
		return checker.Say("%s wrote %s (%s)", w.Who(o.Src), Assign(key, o.Written), w.At(o.Src))
	}
	on := ""
	if key != nil {
		on = " of " + checker.KeyName(key)
	}
	return checker.Say("%s's cas%s from %s to %s (%s)", w.Who(o.Src), on, checker.Val(o.Read), checker.Val(o.Written), w.At(o.Src))
}

// Witness starts a witness over r's source history.
func (r *History) Witness() *checker.Witness { return checker.NewWitness(r.Source) }

// Assign renders "x=1" for a key named by a plain string, "key 1=1" for
// an integer key (so it reads as a key, not a number), and just "1" for
// the default register.
func Assign(key, value any) checker.Phrase {
	if key == nil {
		return checker.Say("%s", checker.Val(value))
	}
	name := checker.KeyName(key)
	if k, ok := key.(string); ok && name == "key "+k {
		name = k
	}
	return checker.Say("%s=%s", name, checker.Val(value))
}

// KeyName renders a key for sentences, as checker.KeyName does: "key x",
// "key 1", "the register".
func KeyName(key any) string { return checker.KeyName(key) }

// Indices returns the source indices of ops, sorted and without
// repeats.
func (r *History) Indices(ops ...int32) []int64 {
	out := make([]int64, 0, len(ops))
	for _, o := range ops {
		if o >= 0 {
			out = append(out, r.Index(o))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ThinAirAnomalies returns an unwritten-read anomaly for every read of a
// value nobody wrote: such a read breaks every consistency model.
func (r *History) ThinAirAnomalies() []checker.Anomaly {
	var out []checker.Anomaly
	for _, t := range r.ThinAir {
		w := r.Witness()
		out = append(out, w.Anomaly(checker.UnwrittenRead, t.Src.Key, checker.Say(
			"%s read %s (%s), a value no operation wrote (and not the initial value %s): the store returned data from nowhere, which no consistency model allows",
			w.Who(t.Src), Assign(t.Src.Key, t.Value), w.At(t.Src), checker.Val(r.Initial))))
	}
	return out
}

// Chains gives each operation its nearest predecessors in session order:
// within the whole session, or, by key, within the session's operations
// on the operation's own key.
type Chains struct {
	// PrevOp is the operation just before, or None.
	PrevOp []int32
	// PrevRead is the latest operation before that reads, or None.
	PrevRead []int32
	// PrevWrite is the latest operation before that writes, or None.
	PrevWrite []int32
}

// Chains computes the session predecessors of every operation; byKey
// restricts each session to one key at a time.
func (r *History) Chains(byKey bool) Chains {
	n := len(r.Ops)
	c := Chains{PrevOp: make([]int32, n), PrevRead: make([]int32, n), PrevWrite: make([]int32, n)}
	type last struct{ op, read, write int32 }
	none := last{None, None, None}
	var perKey []last
	var stamp []int
	if byKey {
		perKey = make([]last, len(r.Keys))
		stamp = make([]int, len(r.Keys))
	}
	for s, ops := range r.Sessions {
		whole := none
		for _, id := range ops {
			l := &whole
			if byKey {
				k := r.Ops[id].Key
				if stamp[k] != s+1 {
					stamp[k], perKey[k] = s+1, none
				}
				l = &perKey[k]
			}
			c.PrevOp[id], c.PrevRead[id], c.PrevWrite[id] = l.op, l.read, l.write
			l.op = id
			if r.Ops[id].Reader() {
				l.read = id
			}
			if r.Ops[id].Writer() {
				l.write = id
			}
		}
	}
	return c
}

// Judgeable settles res when r cannot be judged by the unique-value
// checkers — buildErr is Build's error, a read of a value nobody wrote
// makes every model invalid, and repeated values make it unknown — and
// reports whether the model is still to be judged.
func Judgeable(r *History, buildErr error, m checker.Model, res *checker.Result) bool {
	switch {
	case buildErr != nil:
		res.Verdict, res.Reason = checker.Unknown, buildErr.Error()
	case len(r.ThinAir) > 0:
		res.Verdict, res.Anomalies = checker.Invalid, r.ThinAirAnomalies()
	case !r.Unique:
		res.Verdict, res.Reason = checker.Unknown, "written values are not unique per key ("+r.Repeated+"), so reads cannot be matched to writes; give every write a unique value"
	default:
		return true
	}
	return false
}
