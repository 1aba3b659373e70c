// Package integration holds the findings consist asserts against real
// servers: local etcd, Redis and MariaDB clusters that package cluster
// starts, faults it injects into them, and the verdicts that must follow.
// The tests skip when the servers are not installed, and fail instead
// under CONSIST_REQUIRE_SERVERS=1, as make test sets it. They run one at
// a time, for partitions are nft rules on the whole machine.
package integration
