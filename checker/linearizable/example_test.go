package linearizable_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/history"
)

// Check a history held in memory, as a Go test of a store might.
func ExampleCheck() {
	const events = `{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":0,"f":"write","value":2}
{"type":"ok","process":0,"f":"write","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}
`
	h, err := history.Read(strings.NewReader(events), "example", history.JSONL)
	if err != nil {
		fmt.Println(err)
		return
	}
	res := linearizable.Check(context.Background(), h, checker.Options{Timeout: 10 * time.Second})
	fmt.Println(res.Verdict)
	for _, a := range res.Anomalies {
		fmt.Println(a.Kind, a.Ops)
	}
	// Output:
	// invalid
	// stale-read [1 3 5]
}
