package workloads

// newListAppend returns Elle's list-append workload (Kingsbury & Alvaro,
// "Elle", VLDB 2020, §3; elle.list-append/gen): transactions of 1 to
// MaxTxnLength micro-ops, each ["append", k, v] or ["r", k, nil] (the
// read's answer is the whole list), over Keys active integer keys; a key
// is retired after MaxWritesPerKey appends, and its values are 1, 2, ...,
// unique per key, so that each read names, in order, every append it saw:
// what the transactional checker infers write-write, write-read and
// read-write dependencies from. Reads and appends are drawn 1:1 unless
// Reads and Writes weigh them.
func newListAppend(opts Options) (*txnWorkload, error) {
	return newTxnWorkload("list-append", "append", opts)
}
