package txnoracle

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// mustPrecede is the order constraint of model m between two included
// transactions, straight from the definitions: real time for the strict
// and strong models, process order for the session ones.
func mustPrecede(m Model, a, b *Txn) bool {
	switch m {
	case StrictSerializable, StrongSI:
		return a.Outcome == OK && a.Complete < b.Invoke
	case StrongSessionSerializable, StrongSessionSI:
		return a.Process == b.Process && a.Invoke < b.Invoke
	}
	return false
}

// replay runs t on db (a map from key to list; a register is a list of
// at most one element) and, when check is set, compares t's known reads.
func replay(t *Txn, db map[int][]int, check bool) error {
	for _, op := range t.Ops {
		switch op.Kind {
		case Append:
			db[op.Key] = append(slices.Clone(db[op.Key]), op.Value)
		case Write:
			db[op.Key] = []int{op.Value}
		case ReadList:
			if check && !op.Unknown && !slices.Equal(db[op.Key], op.List) && (len(db[op.Key]) != 0 || len(op.List) != 0) {
				return fmt.Errorf("T%d %v: the state holds %v", t.ID, op, db[op.Key])
			}
		case ReadRegister:
			if check && !op.Unknown {
				cur := db[op.Key]
				if op.Nil != (len(cur) == 0) || !op.Nil && cur[0] != op.Value {
					return fmt.Errorf("T%d %v: the state holds %v", t.ID, op, cur)
				}
			}
		}
	}
	return nil
}

// included checks that ids name each OK transaction once, some Info ones,
// and no Fail one.
func included(h History, byID map[int]*Txn, ids []int) error {
	seen := map[int]bool{}
	for _, id := range ids {
		t := byID[id]
		switch {
		case t == nil:
			return fmt.Errorf("unknown transaction %d", id)
		case seen[id]:
			return fmt.Errorf("T%d twice", id)
		case t.Outcome == Fail:
			return fmt.Errorf("aborted T%d included", id)
		}
		seen[id] = true
	}
	for _, t := range h {
		if t.Outcome == OK && !seen[t.ID] {
			return fmt.Errorf("committed T%d left out", t.ID)
		}
	}
	return nil
}

func verifySerial(h History, byID map[int]*Txn, r Result) error {
	if err := included(h, byID, r.Order); err != nil {
		return err
	}
	for i, a := range r.Order {
		for _, b := range r.Order[i+1:] {
			if mustPrecede(r.Model, byID[b], byID[a]) {
				return fmt.Errorf("T%d before T%d breaks %v's order", a, b, r.Model)
			}
		}
	}
	db := map[int][]int{}
	for _, id := range r.Order {
		t := byID[id]
		if err := replay(t, db, t.Outcome == OK); err != nil {
			return err
		}
	}
	return nil
}

func verifySI(h History, byID map[int]*Txn, r Result) error {
	start, commit := map[int]int{}, map[int]int{}
	var ids []int
	for i, e := range r.Events {
		if e.Kind == Start {
			if _, dup := start[e.Txn]; dup {
				return fmt.Errorf("T%d starts twice", e.Txn)
			}
			start[e.Txn] = i
			ids = append(ids, e.Txn)
		} else {
			s, ok := start[e.Txn]
			if _, dup := commit[e.Txn]; dup || !ok || s > i {
				return fmt.Errorf("T%d commits twice or before it starts", e.Txn)
			}
			commit[e.Txn] = i
		}
	}
	if len(start) != len(commit) {
		return fmt.Errorf("%d starts, %d commits", len(start), len(commit))
	}
	if err := included(h, byID, ids); err != nil {
		return err
	}
	writes := func(t *Txn) map[int]bool {
		w := map[int]bool{}
		for _, op := range t.Ops {
			if op.Kind == Append || op.Kind == Write {
				w[op.Key] = true
			}
		}
		return w
	}
	for _, a := range ids {
		for _, b := range ids {
			if a == b {
				continue
			}
			if mustPrecede(r.Model, byID[a], byID[b]) && commit[a] > start[b] {
				return fmt.Errorf("T%d commits after T%d starts, breaking %v's order", a, b, r.Model)
			}
			if commit[a] > start[b] && commit[b] > start[a] {
				wb := writes(byID[b])
				for k := range writes(byID[a]) {
					if wb[k] {
						return fmt.Errorf("concurrent T%d and T%d both write key %d", a, b, k)
					}
				}
			}
		}
	}
	for _, id := range ids {
		t := byID[id]
		if t.Outcome != OK {
			continue
		}
		db := map[int][]int{}
		for _, e := range r.Events[:start[id]] {
			if e.Kind == Commit {
				u := byID[e.Txn]
				for _, op := range u.Ops { // effects only
					if op.Kind == Append || op.Kind == Write {
						_ = replay(&Txn{Ops: []MicroOp{op}}, db, false)
					}
				}
			}
		}
		if err := replay(t, db, true); err != nil {
			return fmt.Errorf("snapshot at s%d: %w", id, err)
		}
	}
	return nil
}

// naive decides m on a tiny history by trying every candidate witness (every
// subset of the Info transactions, every order of the included ones or of
// their start and commit events) with verifyWitness: no memo, no pruning.
func naive(h History, m Model) Verdict {
	byID := map[int]*Txn{}
	var ok, info []int
	for i := range h {
		byID[h[i].ID] = &h[i]
		switch h[i].Outcome {
		case OK:
			ok = append(ok, h[i].ID)
		case Info:
			info = append(info, h[i].ID)
		}
	}
	for sub := range 1 << len(info) {
		ids := slices.Clone(ok)
		for j, id := range info {
			if sub&(1<<j) != 0 {
				ids = append(ids, id)
			}
		}
		found := false
		if m.snapshot() {
			var events []Event
			started := map[int]bool{}
			committed := map[int]bool{}
			var rec func()
			rec = func() {
				if found {
					return
				}
				if len(events) == 2*len(ids) {
					found = verifySI(h, byID, Result{Model: m, Events: events}) == nil
					return
				}
				for _, id := range ids {
					switch {
					case !started[id]:
						started[id] = true
						events = append(events, Event{Start, id})
						rec()
						events = events[:len(events)-1]
						started[id] = false
					case !committed[id]:
						committed[id] = true
						events = append(events, Event{Commit, id})
						rec()
						events = events[:len(events)-1]
						committed[id] = false
					}
				}
			}
			rec()
		} else {
			var perm func(k int)
			perm = func(k int) {
				if found {
					return
				}
				if k == len(ids) {
					found = verifySerial(h, byID, Result{Model: m, Order: ids}) == nil
					return
				}
				for i := k; i < len(ids); i++ {
					ids[k], ids[i] = ids[i], ids[k]
					perm(k + 1)
					ids[k], ids[i] = ids[i], ids[k]
				}
			}
			perm(0)
		}
		if found {
			return Valid
		}
	}
	return Invalid
}

// TestAgreesWithNaive compares the search with the naive enumeration of
// candidate witnesses on tiny random histories.
func TestAgreesWithNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	counts := map[Verdict]int{}
	for i := range 600 {
		g := Generate(r, GenConfig{MaxTxns: 4, MaxOps: 3})
		res, err := CheckAll(ctx, g.History, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range Models {
			want := naive(g.History, m)
			counts[want]++
			if got := res[m].Verdict; got != want {
				t.Fatalf("history %d (%v):\n%s%v: search says %v, naive enumeration %v", i, g.Behaviour, g.History, m, got, want)
			}
		}
	}
	t.Logf("naive verdicts: %v valid, %v invalid", counts[Valid], counts[Invalid])
	if counts[Valid] < 200 || counts[Invalid] < 200 {
		t.Errorf("too few of a verdict to compare: %v", counts)
	}
}

// implications are theorems between the models as defined here: when the
// first holds, so does the second. strict ⇒ strong session holds for
// generated histories because a generated process runs its transactions
// one after another and runs no more after an indeterminate one, so its
// order is contained in real time.
var implications = [][2]Model{
	{StrictSerializable, Serializable},
	{StrongSessionSerializable, Serializable},
	{StrictSerializable, StrongSessionSerializable},
	{Serializable, SnapshotIsolation}, // a serial order is an SI witness: each start just before its commit
	{StrictSerializable, StrongSI},
	{StrongSessionSerializable, StrongSessionSI},
	{StrongSI, SnapshotIsolation},
	{StrongSessionSI, SnapshotIsolation},
	{StrongSI, StrongSessionSI},
}

// TestProperties checks, on random histories, every Valid witness by
// replay, the implications between the models, and what each generator
// behaviour guarantees.
func TestProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	n := 3000
	if testing.Short() {
		n = 300
	}
	unknown := 0
	for i := range n {
		g := Generate(r, GenConfig{})
		res, err := CheckAll(ctx, g.History, Options{})
		if err != nil {
			t.Fatal(err)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("history %d (%v, corrupted %v):\n%s%s", i, g.Behaviour, g.Corrupted, g.History, fmt.Sprintf(format, args...))
		}
		for _, m := range Models {
			switch res[m].Verdict {
			case Valid:
				if err := verifyWitness(g.History, res[m]); err != nil {
					fail("%v witness %v %v: %v", m, res[m].Order, res[m].Events, err)
				}
			case Unknown:
				unknown++
			}
		}
		for _, imp := range implications {
			a, b := res[imp[0]].Verdict, res[imp[1]].Verdict
			if a == Valid && b == Invalid {
				fail("%v holds but %v does not", imp[0], imp[1])
			}
		}
		if g.Corrupted {
			continue
		}
		var must []Model
		switch g.Behaviour {
		case SerialRealTime:
			must = Models
		case SerialAnyOrder:
			must = []Model{Serializable, SnapshotIsolation}
		case Snapshot:
			if !g.ConflictCommitted {
				must = []Model{SnapshotIsolation, StrongSI, StrongSessionSI}
			}
		}
		for _, m := range must {
			if res[m].Verdict == Invalid {
				fail("%v executed uncorrupted is not %v", g.Behaviour, m)
			}
		}
	}
	if unknown > n/20 {
		t.Errorf("%d unknown verdicts in %d histories × %d models", unknown, n, len(Models))
	}
}

// TestReadThenWrite checks a theorem on histories in which every
// transaction writes every key it reads: then snapshot isolation implies
// serializability (no two transactions with an rw dependency can be
// concurrent, for they write a common key, so the commit order is a serial
// order; Fekete et al., "Making Snapshot Isolation Serializable", TODS
// 2005, materialised conflicts).
func TestReadThenWrite(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	both := 0
	for i := range 500 {
		g := Generate(r, GenConfig{ReadThenWrite: true})
		res, err := CheckAll(ctx, g.History, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res[SnapshotIsolation].Verdict == Valid {
			both++
			if res[Serializable].Verdict == Invalid {
				t.Fatalf("history %d:\n%sSI but not serializable", i, g.History)
			}
		}
	}
	if both < 100 {
		t.Errorf("only %d SI histories of 500", both)
	}
}

// TestOneProcess checks that with one process and no indeterminate
// transactions, real time and process order coincide.
func TestOneProcess(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ctx := context.Background()
	for i := range 300 {
		g := Generate(r, GenConfig{MaxProcesses: 1, PInfo: -1})
		res, err := CheckAll(ctx, g.History, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range [][2]Model{{StrictSerializable, StrongSessionSerializable}, {StrongSI, StrongSessionSI}} {
			a, b := res[p[0]].Verdict, res[p[1]].Verdict
			if a != Unknown && b != Unknown && a != b {
				t.Fatalf("history %d:\n%s%v %v but %v %v", i, g.History, p[0], a, p[1], b)
			}
		}
	}
}

// TestGeneratorVerdicts measures how often each verdict comes out of the
// default generator, and requires every model to be both valid and invalid
// often.
func TestGeneratorVerdicts(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	ctx := context.Background()
	counts := map[Model]map[Verdict]int{}
	for _, m := range Models {
		counts[m] = map[Verdict]int{}
	}
	// The pairs of models the generated histories must often tell apart.
	distinctions := [][2]Model{
		{SnapshotIsolation, Serializable},
		{Serializable, StrictSerializable},
		{Serializable, StrongSessionSerializable},
		{StrongSessionSerializable, StrictSerializable},
		{SnapshotIsolation, StrongSI},
	}
	separated := make([]int, len(distinctions))
	for range 1000 {
		g := Generate(r, GenConfig{})
		res, err := CheckAll(ctx, g.History, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range Models {
			counts[m][res[m].Verdict]++
		}
		for i, d := range distinctions {
			if res[d[0]].Verdict == Valid && res[d[1]].Verdict == Invalid {
				separated[i]++
			}
		}
	}
	for i, d := range distinctions {
		t.Logf("%v but not %v: %d per 1000", d[0], d[1], separated[i])
		if separated[i] < 5 {
			t.Errorf("%v but not %v: only %d per 1000", d[0], d[1], separated[i])
		}
	}
	for _, m := range Models {
		c := counts[m]
		t.Logf("%-36v valid %4d  invalid %4d  unknown %3d  (per 1000)", m, c[Valid], c[Invalid], c[Unknown])
		if c[Valid] < 150 || c[Invalid] < 150 {
			t.Errorf("%v: valid %d, invalid %d per 1000: want at least 150 of each", m, c[Valid], c[Invalid])
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a := Generate(rand.New(rand.NewPCG(11, 12)), GenConfig{})
	b := Generate(rand.New(rand.NewPCG(11, 12)), GenConfig{})
	if a.History.String() != b.History.String() {
		t.Errorf("same seed, different histories:\n%s\n%s", a.History, b.History)
	}
	if err := Validate(a.History); err != nil {
		t.Error(err)
	}
}

// TestAgreesWithPlain compares the search with itself without its memo and
// reductions (the plain search keeps only the definitions' constraints) on
// histories a little larger than the naive enumeration can take.
func TestAgreesWithPlain(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	ctx := context.Background()
	compared := 0
	for i := range 600 {
		g := Generate(r, GenConfig{MinTxns: 5, MaxTxns: 7})
		p, err := prepare(g.History)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range Models {
			fast := p.check(ctx, m, Options{}, false)
			slow := p.check(ctx, m, Options{MaxWork: 100_000}, true)
			if fast.Verdict == Unknown || slow.Verdict == Unknown {
				continue
			}
			compared++
			if fast.Verdict != slow.Verdict {
				t.Fatalf("history %d (%v):\n%s%v: search says %v, plain search %v", i, g.Behaviour, g.History, m, fast.Verdict, slow.Verdict)
			}
		}
	}
	t.Logf("%d verdicts compared", compared)
	if compared < 3000 {
		t.Errorf("only %d verdicts compared", compared)
	}
}
