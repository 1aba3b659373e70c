// Package txn checks transactional histories for the isolation anomalies
// of Adya ("Weak Consistency: A Generalized Theory and Optimistic
// Implementations for Distributed Transactions", MIT 1999) as Elle infers
// them (Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from
// Experimental Observations", VLDB 2020): from list-append and
// read/write-register transactions it infers write-write, write-read and
// read-write dependencies, adds process and real-time orders, and finds
// the shortest cycle of each kind in the dependency graph
// (checker/internal/graph), naming the anomaly and the models it rules out
// (checker's taxonomy).
//
// This file holds the typed transactions the inference works on and what
// an inference yields; append.go and register.go infer for the two
// workloads; the rest builds the graph, searches it and judges models.
package txn

import (
	"context"
	"fmt"

	"consist/checker"
	"consist/checker/internal/graph"
	"consist/history"
)

// MopKind is the kind of a micro-operation.
type MopKind uint8

// The micro-operations of Elle's two workloads.
const (
	// Append is ["append", k, v]: add v to the end of the list at k.
	Append MopKind = iota
	// ReadList is ["r", k, [v1, v2, ...]] in a list-append history: the
	// list at k.
	ReadList
	// Write is ["w", k, v]: set the register at k to v.
	Write
	// ReadRegister is ["r", k, v] in a rw-register history: the value of
	// the register at k (nil: never written).
	ReadRegister
)

// Mop is one micro-operation of a transaction.
type Mop struct {
	Kind MopKind
	// Known says whether a read's result is known: false for a read of a
	// transaction that did not complete ok (its invocation carries nil).
	Known bool
	// Key is the key's number: Keys[Key] is its value.
	Key int32
	// Value is what Append or Write wrote, or what ReadRegister read.
	Value any
	// List is what ReadList read, in order.
	List []any
}

// Txn is one transaction: one operation of the history whose function is
// txn.
type Txn struct {
	// Op is the history's operation.
	Op *history.Op
	// Index is the operation's index (Jepsen's convention): its
	// completion's, or its invocation's when it never completed.
	Index int64
	// Process and Type are the operation's.
	Process history.Process
	Type    history.Type
	// Mops are the micro-operations, in order: the completion's for an
	// ok transaction, the invocation's otherwise.
	Mops []Mop
	// Invoke and Complete are the positions of the operation's events in
	// the history, which is in real-time order; Complete is -1 when the
	// transaction never completed (info, or still open at the end).
	Invoke, Complete int
}

// Committed reports whether the transaction took effect for certain.
func (t *Txn) Committed() bool { return t.Type == history.OK }

// Workload is the kind of transactions a history holds.
type Workload uint8

// The workloads.
const (
	// ListAppend: append and list reads only.
	ListAppend Workload = iota
	// RWRegister: writes and register reads only.
	RWRegister
)

// History is a transactional history, typed.
type History struct {
	// H is the history the transactions come from.
	H *history.History
	// Txns are the transactions, in the order of the history's operations;
	// the graph's node i is Txns[i].
	Txns []Txn
	// Keys are the keys, by number.
	Keys []any
	// Workload is what the transactions do.
	Workload Workload
}

// The relations of the dependency graph.
const (
	// WW: From installed a version of Key that To's write overwrote.
	WW graph.Rel = iota
	// WR: To read a version of Key that From wrote.
	WR
	// RW: From read a version of Key that To's write overwrote (an
	// anti-dependency).
	RW
	// Process: To is the next transaction of From's process.
	Process
	// Realtime: From completed before To was invoked.
	Realtime
)

// Dep is one inferred dependency: an edge of the graph with why it holds.
type Dep struct {
	From, To int32
	Rel      graph.Rel
	// Key is the key the dependency is on (ww, wr, rw); -1 for process
	// and real-time edges.
	Key int32
	// Value is the version the dependency turns on: the value From wrote
	// (ww, wr) or read (rw, the last element for a list).
	Value any
	// Next is, for ww and rw, the value To wrote.
	Next any
}

// FromHistory types the transactions of h. Every operation must be a txn
// of micro-ops the history reader has already validated; a history that
// mixes append with w, or list reads with register reads, is refused.
func FromHistory(h *history.History) (*History, error) {
	return fromHistory(context.Background(), h)
}

// fromHistory is FromHistory, stopping early (with a nil error: the
// caller looks at ctx) when ctx ends.
func fromHistory(ctx context.Context, h *history.History) (*History, error) {
	th := &History{H: h, Txns: make([]Txn, 0, len(h.Ops))}
	var keyOfSlow func(any) int32
	keys := map[string]int32{}
	// Scalar keys are looked up as they are, without rendering them.
	var fast table[int32]
	keyOf := func(k any) int32 {
		switch k.(type) {
		case int64, string, float64, bool:
			if n, ok := fast.get(k); ok {
				return n
			}
			n := keyOfSlow(k)
			fast.put(k, n)
			return n
		}
		return keyOfSlow(k)
	}
	keyOfSlow = func(k any) int32 {
		c := history.Canonical(k)
		if n, ok := keys[c]; ok {
			return n
		}
		n := int32(len(th.Keys))
		keys[c] = n
		th.Keys = append(th.Keys, k)
		return n
	}
	// The workload first: a list read, or any append, makes a list-append
	// history, in which a read of null is a read of the empty list; a
	// write, or a read of a value that is not a list, a rw-register one.
	var appends, writes, registerReads bool
	total := 0
	for i := range h.Ops {
		ms := mopsOf(&h.Ops[i])
		total += len(ms)
		for _, m := range ms {
			mv := m.([]any)
			switch mv[0] {
			case "append":
				appends = true
			case "w":
				writes = true
			case "r":
				switch mv[2].(type) {
				case []any:
					appends = true
				case nil: // the empty list, or a register never written
				default:
					registerReads = true
				}
			}
		}
	}
	writes = writes || registerReads
	if appends && writes {
		return nil, fmt.Errorf("the history mixes list-append micro-ops (append, or reads of lists) with register writes: consist checks list-append and rw-register histories, one kind at a time")
	}
	if writes {
		th.Workload = RWRegister
	}
	slab := make([]Mop, total)
	for i := range h.Ops {
		if i&8191 == 0 && ctx.Err() != nil {
			return th, nil
		}
		op := &h.Ops[i]
		if op.F != "txn" {
			return nil, fmt.Errorf("operation %d is %q, not a txn: a transactional history holds transactions only", h.OpIndex(op), op.F)
		}
		t := Txn{Op: op, Index: h.OpIndex(op), Process: op.Process, Type: op.Type, Invoke: op.Invoke, Complete: op.Complete}
		if op.Type == history.Info {
			t.Complete = -1
		}
		ms := mopsOf(op)
		// One allocation holds every transaction's micro-ops.
		t.Mops, slab = slab[:0:len(ms)], slab[len(ms):]
		for _, m := range ms {
			mv := m.([]any)
			mop := Mop{Key: keyOf(mv[1])}
			switch mv[0] {
			case "append":
				mop.Kind, mop.Value = Append, mv[2]
			case "w":
				mop.Kind, mop.Value = Write, mv[2]
			case "r":
				mop.Known = op.Type == history.OK
				if th.Workload == ListAppend {
					mop.Kind = ReadList
					mop.List, _ = mv[2].([]any)
				} else {
					mop.Kind, mop.Value = ReadRegister, mv[2]
				}
			}
			t.Mops = append(t.Mops, mop)
		}
		th.Txns = append(th.Txns, t)
	}
	return th, nil
}

// mopsOf returns the micro-ops of op: the completion's for an ok
// transaction (they carry what the reads returned), the invocation's
// otherwise.
func mopsOf(op *history.Op) []any {
	value := op.Input
	if op.Type == history.OK && op.HasOutput {
		value = op.Output
	}
	mops, _ := value.([]any)
	return mops
}

// Inference is what a workload's inference yields: the dependencies it
// could prove, and the anomalies it found without a cycle (aborted and
// intermediate reads, internal inconsistency, incompatible orders, ...).
type Inference struct {
	Deps      []Dep
	Anomalies []checker.Anomaly
}
