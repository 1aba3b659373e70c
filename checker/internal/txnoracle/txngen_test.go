package txnoracle_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"consist/checker/internal/txnoracle"
	"consist/history"
	"consist/internal/txngen"
)

// fromHistory converts a parsed transactional history to the oracle's
// form: positions are event indexes, and the reads of fail and info
// transactions are unknown.
func fromHistory(h *history.History, w txngen.Workload) (txnoracle.History, error) {
	var out txnoracle.History
	for _, op := range h.Ops {
		t := txnoracle.Txn{ID: op.ID, Process: int(op.Process), Invoke: op.Invoke, Complete: op.Complete}
		switch op.Type {
		case history.OK:
			t.Outcome = txnoracle.OK
		case history.Fail:
			t.Outcome = txnoracle.Fail
		default:
			t.Outcome = txnoracle.Info
		}
		for _, m := range op.Value().([]any) {
			l := m.([]any)
			k := int(l[1].(int64))
			switch l[0] {
			case "append":
				t.Ops = append(t.Ops, txnoracle.MicroOp{Kind: txnoracle.Append, Key: k, Value: int(l[2].(int64))})
			case "w":
				t.Ops = append(t.Ops, txnoracle.MicroOp{Kind: txnoracle.Write, Key: k, Value: int(l[2].(int64))})
			case "r":
				mop := txnoracle.MicroOp{Kind: txnoracle.ReadRegister, Key: k, Unknown: op.Type != history.OK}
				if w == txngen.ListAppend {
					mop.Kind = txnoracle.ReadList
				}
				switch v := l[2].(type) {
				case nil:
					mop.Nil = true
				case int64:
					mop.Value = int(v)
				case []any:
					for _, x := range v {
						mop.List = append(mop.List, int(x.(int64)))
					}
				default:
					return nil, fmt.Errorf("op %d: read value %v", op.ID, v)
				}
				t.Ops = append(t.Ops, mop)
			default:
				return nil, fmt.Errorf("op %d: micro-op %v", op.ID, l)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// smallConfig draws a small generator configuration the oracle can decide.
func smallConfig(r *rand.Rand, seed uint64, w txngen.Workload, iso txngen.Isolation) txngen.Config {
	return txngen.Config{
		Seed: seed, Txns: 3 + r.IntN(6), Processes: 2 + r.IntN(3), Keys: 1 + r.IntN(3),
		MaxWritesPerKey: 2 + r.IntN(4), MaxTxnLength: 3, CrashRate: 0.15, FailRate: 0.1,
		Workload: w, Isolation: iso,
	}
}

func oracle(t *testing.T, cfg txngen.Config) (map[txnoracle.Model]txnoracle.Result, txnoracle.History) {
	t.Helper()
	h, _, err := txngen.History(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	oh, err := fromHistory(h, cfg.Workload)
	if err != nil {
		t.Fatal(err)
	}
	res, err := txnoracle.CheckAll(context.Background(), oh, txnoracle.Options{})
	if err != nil {
		t.Fatalf("%+v: %v", cfg, err)
	}
	return res, oh
}

// TestTxngenIsolation: the oracle finds internal/txngen's serializable
// store strict serializable and its snapshot-isolation store strong SI, on
// hundreds of small generated histories of both workloads, and finds
// some of the snapshot-isolation histories not serializable and some
// read-committed ones not snapshot isolated (the weaker stores are
// really weaker).
func TestTxngenIsolation(t *testing.T) {
	const n = 300
	for _, w := range []txngen.Workload{txngen.ListAppend, txngen.RWRegister} {
		r := rand.New(rand.NewPCG(uint64(w), 15))
		var unknown, siNotSer, rcNotSI int
		for seed := range uint64(n) {
			cfg := smallConfig(r, seed, w, txngen.Serializable)
			res, oh := oracle(t, cfg)
			switch res[txnoracle.StrictSerializable].Verdict {
			case txnoracle.Invalid:
				t.Fatalf("%v seed %d: the serializable store's history is not strict serializable:\n%s", w, seed, oh)
			case txnoracle.Unknown:
				unknown++
			}
			cfg.Isolation = txngen.SnapshotIsolation
			res, oh = oracle(t, cfg)
			switch res[txnoracle.StrongSI].Verdict {
			case txnoracle.Invalid:
				t.Fatalf("%v seed %d: the snapshot-isolation store's history is not strong SI:\n%s", w, seed, oh)
			case txnoracle.Unknown:
				unknown++
			}
			if res[txnoracle.Serializable].Verdict == txnoracle.Invalid {
				siNotSer++
			}
			cfg.Isolation = txngen.ReadCommitted
			if res, _ = oracle(t, cfg); res[txnoracle.SnapshotIsolation].Verdict == txnoracle.Invalid {
				rcNotSI++
			}
		}
		t.Logf("%v: %d unknown of %d; SI not serializable %d, RC not SI %d", w, unknown, 2*n, siNotSer, rcNotSI)
		if unknown > n/20 {
			t.Errorf("%v: the oracle gave up on %d of %d histories", w, unknown, 2*n)
		}
		if siNotSer == 0 || rcNotSI == 0 {
			t.Errorf("%v: %d SI histories not serializable, %d RC histories not SI; want some of each", w, siNotSer, rcNotSI)
		}
	}
}

// TestTxngenInjected: each anomaly internal/txngen injects into a
// serializable history breaks the models it is documented to break, and
// write skew leaves snapshot isolation standing.
func TestTxngenInjected(t *testing.T) {
	for _, w := range []txngen.Workload{txngen.ListAppend, txngen.RWRegister} {
		for _, a := range []txngen.Anomaly{txngen.G1c, txngen.GSingle, txngen.LostUpdate, txngen.AbortedRead, txngen.WriteSkew, txngen.G0} {
			for seed := range uint64(20) {
				cfg := txngen.Config{Seed: seed, Txns: 5, Processes: 3, Keys: 2, MaxTxnLength: 3, CrashRate: 0.1, FailRate: 0.1, Workload: w,
					Inject: []txngen.Injection{{Anomaly: a, At: int(seed % 5)}}}
				res, oh := oracle(t, cfg)
				if v := res[txnoracle.Serializable].Verdict; v != txnoracle.Invalid {
					t.Fatalf("%v %v seed %d: serializable is %v, want invalid:\n%s", w, a, seed, v, oh)
				}
				wantSI := txnoracle.Invalid
				if a == txngen.WriteSkew {
					wantSI = txnoracle.Valid
				}
				if v := res[txnoracle.SnapshotIsolation].Verdict; v != wantSI {
					t.Fatalf("%v %v seed %d: snapshot isolation is %v, want %v:\n%s", w, a, seed, v, wantSI, oh)
				}
			}
		}
	}
}
