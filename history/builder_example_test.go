package history_test

import (
	"fmt"
	"sync"

	"consist/history"
)

// Build a history of a register from a test's own operations: an int
// written and an int64 read are the same value, and the builder numbers
// the events.
func ExampleBuilder() {
	var b history.Builder
	b.Invoke(0, "write", "x", 1)
	b.Invoke(1, "read", "x", nil)
	b.OK(0, "write", "x", 1)
	b.OK(1, "read", "x", int64(1))
	b.Invoke(1, "cas", "x", []int{1, 2})
	b.Fail(1, "cas", "x", nil)
	h, err := b.History()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, op := range h.Ops {
		fmt.Printf("index %d: process %v %s %s -> %s (%s)\n", h.OpIndex(&op), op.Process, op.F,
			history.Describe(op.Input), history.Describe(op.Output), op.Type)
	}
	// Output:
	// index 2: process 0 write 1 -> 1 (ok)
	// index 3: process 1 read null -> 1 (ok)
	// index 5: process 1 cas [1,2] -> null (fail)
}

// Add operations whose call and return times are known, as Porcupine's
// Operation holds them; the builder puts their events in order of time.
func ExampleBuilder_Operation() {
	var b history.Builder
	b.Operation(history.Operation{Process: 0, F: "write", Key: "x", Input: 1, Call: 100, Return: 200})
	b.Operation(history.Operation{Process: 1, F: "read", Key: "x", Output: 1, Call: 150, Return: 250})
	h, err := b.History()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range h.Events {
		fmt.Println(e.Index, e.Type, e.Process, e.F, e.Time)
	}
	// Output:
	// 0 invoke 0 write 0
	// 1 invoke 1 read 50
	// 2 ok 0 write 100
	// 3 ok 1 read 150
}

// A value the history cannot represent is refused, naming the event.
func ExampleBuilder_refused() {
	var b history.Builder
	b.Invoke(0, "write", "x", make(chan int))
	_, err := b.History()
	fmt.Println(err)
	// Output:
	// builder: event 0 (invoke write of process 0): value: a chan int cannot be represented in a history (convert the value to a number, string, bool, slice, map or struct of those first)
}

// Go values become the history's values: integers int64, slices []any,
// maps and structs map[string]any.
func ExampleNormalizeGo() {
	type item struct {
		Name  string `json:"name"`
		Count uint16 `json:"count"`
	}
	for _, v := range []any{int32(7), []int{1, 2}, map[string]int{"a": 1}, item{"pen", 3}} {
		n, err := history.NormalizeGo(v)
		fmt.Printf("%T -> %T %s %v\n", v, n, history.Canonical(n), err)
	}
	// Output:
	// int32 -> int64 7 <nil>
	// []int -> []interface {} [1,2] <nil>
	// map[string]int -> map[string]interface {} {"a":1} <nil>
	// history_test.item -> map[string]interface {} {"count":3,"name":"pen"} <nil>
}

// Record from many goroutines into memory, then take the history, with no
// file and no parsing.
func ExampleNewMemoryRecorder() {
	rec := history.NewMemoryRecorder()
	defer rec.Close()
	var mu sync.Mutex
	counter := 0 // the system under test: a counter behind a lock
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for range 10 {
				rec.Record(history.Event{Type: history.Invoke, Process: history.Process(p), F: "add", Value: 1})
				mu.Lock()
				counter++
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
	fmt.Println(len(h.Events), "events,", len(h.Ops), "operations by", h.Processes(), "processes; counter", counter)
	// Output:
	// 80 events, 40 operations by 4 processes; counter 40
}
