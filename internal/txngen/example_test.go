package txngen_test

import (
	"context"
	"fmt"
	"os"

	"consist/internal/txngen"
)

// Two processes, three list-append transactions on two keys, and a G1c
// injected when the second transaction is invoked.
func ExampleWrite() {
	cfg := txngen.Config{Seed: 1, Txns: 3, Processes: 2, Keys: 2, MaxTxnLength: 2,
		Inject: []txngen.Injection{{Anomaly: txngen.G1c, At: 1}}}
	st, err := txngen.Write(context.Background(), os.Stdout, cfg)
	if err != nil {
		fmt.Println(err)
	}
	fmt.Println(st.Txns, "transactions,", st.Events, "events")
	// Output:
	// {"type":"invoke","process":1,"f":"txn","value":[["r",1,null]],"time":21}
	// {"type":"invoke","process":0,"f":"txn","value":[["append",1,1],["append",1,2]],"time":915}
	// {"type":"invoke","process":2,"f":"txn","value":[["append",2,1],["r",3,null]],"time":916}
	// {"type":"invoke","process":3,"f":"txn","value":[["append",3,1],["r",2,null]],"time":917}
	// {"type":"ok","process":2,"f":"txn","value":[["append",2,1],["r",3,[1]]],"time":290735}
	// {"type":"ok","process":0,"f":"txn","value":[["append",1,1],["append",1,2]],"time":729724}
	// {"type":"invoke","process":0,"f":"txn","value":[["r",0,null]],"time":991843}
	// {"type":"ok","process":3,"f":"txn","value":[["append",3,1],["r",2,[1]]],"time":1897983}
	// {"type":"invoke","process":4,"f":"txn","value":[["r",2,null],["r",3,null]],"time":1897984}
	// {"type":"ok","process":1,"f":"txn","value":[["r",1,[1,2]]],"time":2826012}
	// {"type":"ok","process":0,"f":"txn","value":[["r",0,[]]],"time":3257620}
	// {"type":"ok","process":4,"f":"txn","value":[["r",2,[1]],["r",3,[1]]],"time":3743771}
	// 6 transactions, 12 events
}
