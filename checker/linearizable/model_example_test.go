package linearizable_test

import (
	"context"
	"fmt"
	"slices"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/history"
)

// Check a data type of your own: a FIFO queue, whose state is the slice of
// its elements. The second enqueue began after the first had returned, so
// the dequeue that returned 2 first shows the queue is not linearizable.
func ExampleCheckModel() {
	queue := linearizable.Model[[]int64]{
		Init: func() []int64 { return nil },
		Step: func(q []int64, op *history.Op) (bool, []int64) {
			switch op.F {
			case "enqueue":
				return true, append(slices.Clone(q), op.Input.(int64))
			case "dequeue":
				if len(q) == 0 {
					return op.Type != history.OK || op.Output == nil, q
				}
				return op.Type != history.OK || op.Output == q[0], q[1:]
			}
			return false, q
		},
		Equal: slices.Equal[[]int64],
		DescribeOperation: func(op *history.Op) string {
			if op.F == "enqueue" {
				return fmt.Sprintf("enqueue(%v)", op.Input)
			}
			return fmt.Sprintf("dequeue -> %v", op.Output)
		},
	}
	var b history.Builder
	b.Invoke(0, "enqueue", nil, 1).OK(0, "enqueue", nil, nil)
	b.Invoke(1, "enqueue", nil, 2).OK(1, "enqueue", nil, nil)
	b.Invoke(2, "dequeue", nil, nil).OK(2, "dequeue", nil, 2)
	h, err := b.History()
	if err != nil {
		fmt.Println(err)
		return
	}
	res := linearizable.CheckModel(context.Background(), h, queue, checker.Options{})
	fmt.Println(res.Verdict)
	for _, a := range res.Anomalies {
		fmt.Println(a.Kind, a.Ops)
		fmt.Println(a.Explanation())
	}
	// Output:
	// invalid
	// nonlinearizable [3 5]
	// Process 2's dequeue -> 2 (index 5) cannot be placed in any order consistent with real time: the longest legal order of the operations before it has 2 operations, the last of them process 1's enqueue(2) (index 3), leaving the state [1,2], and no other operation was pending.
}
