package consist_test

import (
	"context"
	"fmt"
	"sync"

	"consist"
	"consist/checker/linearizable"
	"consist/history"
)

// Check a register history built in a test. Process 0 wrote 1, then 2,
// then read 1: a stale read, which breaks linearizability, and sequential
// consistency too, since the reader is the writer.
func ExampleCheck() {
	var b history.Builder
	b.Invoke(0, "write", "x", 1).OK(0, "write", "x", 1)
	b.Invoke(0, "write", "x", 2).OK(0, "write", "x", 2)
	b.Invoke(0, "read", "x", nil).OK(0, "read", "x", 1)
	h, err := b.History()
	if err != nil {
		fmt.Println(err)
		return
	}
	results := consist.Check(context.Background(), h, consist.Options{}, consist.Linearizable, consist.Sequential)
	for _, r := range results {
		fmt.Println(r.Model, r.Verdict)
		for _, a := range r.Anomalies {
			fmt.Println(" ", a.Kind, "on key", a.Key, "operations", a.Ops)
		}
	}
	fmt.Println("all valid:", results.Valid())
	// Output:
	// linearizable invalid
	//   stale-read on key x operations [1 3 5]
	// sequential invalid
	//   no-sequential-order on key x operations [1 3 5]
	// all valid: false
}

// Check operations with call and return times, as porcupine.CheckOperations
// takes them; with no model named, every model that applies is checked.
func ExampleCheckOperations() {
	ops := []history.Operation{
		{Process: 0, F: "write", Key: "x", Input: 1, Call: 0, Return: 10},
		{Process: 1, F: "read", Key: "x", Output: 1, Call: 5, Return: 15},
		{Process: 2, F: "read", Key: "x", Output: nil, Call: 6, Return: 8}, // before the write took effect
	}
	results, err := consist.CheckOperations(context.Background(), ops, consist.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := results.Get(consist.Linearizable)
	fmt.Println("linearizable:", r.Verdict)
	fmt.Println("error:", results.Err())
	// Output:
	// linearizable: valid
	// error: <nil>
}

// Check a data type of your own: a key-value store with put and get, one
// key at a time (linearizability is local), so each key's state is just
// its value.
func ExampleCheckModel() {
	kv := linearizable.Model[string]{
		Init: func() string { return "" },
		Step: func(v string, op *history.Op) (bool, string) {
			if op.F == "put" {
				return true, op.Input.(string)
			}
			return op.Type != history.OK || op.Output == v, v // get
		},
	}
	var b history.Builder
	b.Invoke(0, "put", "a", "hello").OK(0, "put", "a", nil)
	b.Invoke(1, "get", "a", nil).OK(1, "get", "a", "")
	h, err := b.History()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(consist.CheckModel(context.Background(), h, kv, consist.Options{}).Err())
	// Output:
	// linearizable: invalid
	//   nonlinearizable on key a, operations 1, 3: Process 1's get of "a" -> "" (index 3) cannot be placed in any order consistent with real time: the longest legal order of the operations of key a before it has 1 operation, the last of them process 0's put of "a" "hello" (index 1), leaving the state "hello", and no other operation was pending.
}

// Record a system's operations from goroutines into memory, then check
// them: here a counter behind a lock, which is linearizable.
func ExampleCheck_recorder() {
	rec := history.NewMemoryRecorder()
	defer rec.Close()
	var mu sync.Mutex
	value := 0
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if i%5 == 4 {
					rec.Record(history.Event{Type: history.Invoke, Process: history.Process(p), F: "read"})
					mu.Lock()
					v := value
					mu.Unlock()
					rec.Record(history.Event{Type: history.OK, Process: history.Process(p), F: "read", Value: v})
					continue
				}
				rec.Record(history.Event{Type: history.Invoke, Process: history.Process(p), F: "add", Value: 1})
				mu.Lock()
				value++
				mu.Unlock()
				rec.Record(history.Event{Type: history.OK, Process: history.Process(p), F: "add", Value: 1})
			}
		})
	}
	wg.Wait()
	h, err := rec.History()
	if err != nil {
		fmt.Println(err)
		return
	}
	results := consist.Check(context.Background(), h, consist.Options{Initial: 0}, consist.Counter)
	fmt.Println(len(h.Ops), "operations;", results[0].Model, results[0].Verdict)
	// Output:
	// 100 operations; counter valid
}
