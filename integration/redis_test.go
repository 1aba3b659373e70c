package integration

import (
	"testing"

	"consist/adapters"
	"consist/adapters/redis"
	"consist/checker"
	"consist/checker/suite"
	"consist/internal/scripttest"
	"consist/internal/servertest"
)

// TestRedisReplicaReadsWhileReplicationIsCut: a process writes to the
// primary and reads from the replica. With the replication stream cut,
// its write never reaches the replica, and its read returns nothing: it
// does not read its own write, and no order of the operations explains
// the read — read-your-writes and linearizability both broken, each
// anomaly with its witness.
func TestRedisReplicaReadsWhileReplicationIsCut(t *testing.T) {
	servertest.Root(t)
	c := up(t, "redis")
	primary, replica := c.Nodes()[0], c.Nodes()[1]
	store, err := redis.New(t.Context(), redis.Options{Primary: primary, Replicas: []string{replica}, ReadFromReplica: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := scripttest.New(t, store, c)
	s.Isolate(replica) // cut the replication stream
	if _, err := s.Do(0, replica, adapters.Op{Kind: adapters.Register, F: "write", Key: "x", Value: int64(1)}); err != nil {
		t.Fatal(err)
	}
	v, err := s.Do(0, replica, adapters.Op{Kind: adapters.Register, F: "read", Key: "x"})
	s.Isolate()
	if err != nil || v != nil {
		t.Fatalf("the replica, cut off, read %v, %v; want nothing", v, err)
	}
	h := s.History()
	results := suite.Check(t.Context(), h, checker.Options{}, checker.Linearizable, checker.ReadYourWrites)
	for _, r := range results {
		if r.Verdict != checker.Invalid {
			t.Errorf("%s: %s (%s); want invalid", r.Model, r.Verdict, r.Reason)
			continue
		}
		if len(r.Anomalies) == 0 || r.Anomalies[0].Explanation() == "" || len(r.Anomalies[0].Ops) < 2 {
			t.Errorf("%s: invalid without a witness: %+v", r.Model, r.Anomalies)
			continue
		}
		t.Logf("%s: %s", r.Model, r.Anomalies[0].Explanation())
	}
}
