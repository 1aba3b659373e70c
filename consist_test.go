package consist_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"consist"
	"consist/checker"
	"consist/history"
)

func TestResultsVerdictAndErr(t *testing.T) {
	rs := consist.Results{
		{Model: consist.Linearizable, Verdict: consist.Invalid, Anomalies: []consist.Anomaly{
			{Kind: "a", Key: "x", Ops: []int64{1, 2}, Sentence: checker.Say("one")},
			{Kind: "b", Ops: []int64{3}, Sentence: checker.Say("two")},
			{Kind: "c", Ops: []int64{4}, Sentence: checker.Say("three")},
			{Kind: "d", Ops: []int64{5}, Sentence: checker.Say("four")},
		}},
		{Model: consist.Sequential, Verdict: consist.Unknown, Reason: "timed out"},
		{Model: consist.PRAM, Verdict: consist.Valid},
		{Model: consist.BoundedStaleness, Verdict: consist.Measured, Reason: "no bound"},
	}
	if rs.Valid() || rs.Verdict() != consist.Invalid {
		t.Fatalf("Valid %v, Verdict %s; want false, invalid", rs.Valid(), rs.Verdict())
	}
	err := rs.Err()
	var ce *consist.CheckError
	if !errors.As(err, &ce) || len(ce.Results) != 4 {
		t.Fatalf("Err is %T %v, want a *CheckError holding the results", err, err)
	}
	want := `linearizable: invalid
  a on key x, operations 1, 2: One
  b, operations 3: Two
  c, operations 4: Three
  ... and 1 more
sequential: unknown (timed out)`
	if err.Error() != want {
		t.Fatalf("Err:\n%s\nwant:\n%s", err, want)
	}
	if r, ok := rs.Get(consist.PRAM); !ok || r.Verdict != consist.Valid {
		t.Fatalf("Get(PRAM): %v %v", r, ok)
	}
	if _, ok := rs.Get(consist.Causal); ok {
		t.Fatal("Get found a model that was not checked")
	}
	if rs[1:2].Verdict() != consist.Unknown || rs[2:].Err() != nil || !rs[2:].Valid() {
		t.Fatal("unknown results are not valid; valid results have no error")
	}
}

func TestCheckOperationsRefusesBadValue(t *testing.T) {
	_, err := consist.CheckOperations(context.Background(), []history.Operation{{F: "write", Input: func() {}}}, consist.Options{})
	if err == nil || !strings.Contains(err.Error(), "event 0 (invoke write of process 0): value:") {
		t.Fatalf("CheckOperations: %v", err)
	}
}

// A register implemented wrongly (writes land in a cache the readers of
// other processes do not see until later) is caught from a recording made
// by concurrent goroutines; the right implementation passes.
func TestCheckRecordedRegister(t *testing.T) {
	for _, buggy := range []bool{false, true} {
		rec := history.NewMemoryRecorder()
		var mu sync.Mutex
		var value, cached int
		var wg sync.WaitGroup
		for p := range 2 {
			wg.Go(func() {
				for i := range 50 {
					v := p*1000 + i + 1
					rec.Record(history.Event{Type: history.Invoke, Process: history.Process(p), F: "write", Key: "r", Value: v})
					mu.Lock()
					value = v
					if !buggy || i%10 == 0 {
						cached = v
					}
					mu.Unlock()
					rec.Record(history.Event{Type: history.OK, Process: history.Process(p), F: "write", Key: "r", Value: v})
					rec.Record(history.Event{Type: history.Invoke, Process: history.Process(p), F: "read", Key: "r"})
					mu.Lock()
					got := value
					if buggy {
						got = cached
					}
					mu.Unlock()
					rec.Record(history.Event{Type: history.OK, Process: history.Process(p), F: "read", Key: "r", Value: got})
				}
			})
		}
		wg.Wait()
		h, err := rec.History()
		if err != nil {
			t.Fatal(err)
		}
		rec.Close()
		rs := consist.Check(context.Background(), h, consist.Options{}, consist.Linearizable)
		if got := rs.Valid(); got == buggy {
			t.Fatalf("buggy %v: valid %v\n%v", buggy, got, rs.Err())
		}
		if buggy {
			r, _ := rs.Get(consist.Linearizable)
			if r.Verdict != consist.Invalid || len(r.Anomalies) == 0 {
				t.Fatalf("the buggy register: %s %v", r.Verdict, r.Anomalies)
			}
			for _, a := range r.Anomalies {
				for _, idx := range a.Ops {
					if idx < 0 || idx >= int64(len(h.Events)) || h.Events[idx].Index != idx {
						t.Fatalf("anomaly names index %d, which is no event of the history", idx)
					}
				}
			}
		}
	}
}

// Options.Initial is a Go value like any other: an int 0 is the int64 0 a
// read returns.
func TestCheckNormalisesInitial(t *testing.T) {
	var b history.Builder
	b.Invoke(0, "read", "x", nil).OK(0, "read", "x", 0)
	h, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	if err := consist.Check(context.Background(), h, consist.Options{Initial: 0}, consist.Linearizable).Err(); err != nil {
		t.Fatalf("a read of the initial 0: %v", err)
	}
	rs := consist.Check(context.Background(), h, consist.Options{Initial: make(chan int)}, consist.Linearizable, consist.Sequential)
	if len(rs) != 2 || rs.Verdict() != consist.Unknown || !strings.Contains(rs[0].Reason, "Options.Initial: a chan int cannot be represented") {
		t.Fatalf("an initial value of a channel: %v", rs)
	}
}

func TestCheckPointsOwnDataTypesToCheckModel(t *testing.T) {
	var b history.Builder
	b.Invoke(0, "enqueue", nil, 1).OK(0, "enqueue", nil, nil)
	h, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	rs := consist.Check(context.Background(), h, consist.Options{})
	if rs.Verdict() != consist.Unknown || !strings.Contains(rs.Err().Error(), "consist.CheckModel") {
		t.Fatalf("a queue history: %v", rs.Err())
	}
}
