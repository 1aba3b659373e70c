package workloads

// newRWRegister returns Elle's rw-register workload (elle.rw-register;
// elle.txn/wr-txns): transactions of 1 to MaxTxnLength micro-ops, each
// ["w", k, v] or ["r", k, nil] (the read's answer is the register's
// value, nil before any write), over Keys active integer keys, each
// retired after MaxWritesPerKey writes. Every value written to a key is
// unique (1, 2, ...), so a read names the transaction it read from.
// Registers reveal less than lists: the checker knows each key's version
// order only as far as the initial state, and what it is allowed to
// assume (checker.Options.WFRKeys and the like), orders them.
func newRWRegister(opts Options) (*txnWorkload, error) {
	return newTxnWorkload("rw-register", "w", opts)
}
