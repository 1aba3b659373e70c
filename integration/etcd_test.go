package integration

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"consist/adapters"
	"consist/adapters/etcd"
	"consist/checker"
	"consist/cluster"
	"consist/history"
	"consist/internal/scripttest"
	"consist/internal/servertest"
	"consist/internal/storetest"
	"consist/nemesis"
)

// up starts a local cluster of kind for t and stops it when t ends,
// however it ends.
func up(t *testing.T, kind string) *cluster.Cluster {
	t.Helper()
	for _, bin := range cluster.Binaries(kind) {
		servertest.Binary(t, bin)
	}
	c, err := cluster.Up(t.Context(), kind, cluster.Options{Dir: cluster.TempDir(t) + "/" + kind})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Down(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return c
}

func openEtcd(t *testing.T, c *cluster.Cluster, serializable bool) *etcd.Store {
	t.Helper()
	s, err := etcd.New(t.Context(), etcd.Options{Endpoints: c.Nodes(), SerializableReads: serializable, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// etcdPlan gives each fault a second: twice etcd's election timeout.
var etcdPlan = storetest.Plan{Duration: 6 * time.Second, Interval: time.Second,
	OpTimeout: time.Second, Quiesce: time.Second, Rate: 500, MinOK: 1000}

// TestEtcdLinearizableUnderFaults: with linearizable reads, etcd stays
// linearizable while members are killed and restarted, paused and cut
// off from their peers.
func TestEtcdLinearizableUnderFaults(t *testing.T) {
	servertest.Root(t)
	c := up(t, "etcd")
	store := openEtcd(t, c, false)
	h := storetest.RunPlan(t, etcdPlan, store, c, []nemesis.Kind{nemesis.Kill, nemesis.Pause, nemesis.Partition}, 7)
	storetest.Expect(t, h, []checker.Model{checker.Linearizable}, nil)
}

// TestEtcdSerializableReadsAreStale: a serializable read is answered from
// the member's own state. Cut off from its peers, e3 misses a write the
// others commit, and a client of e3 reads the value before it — a stale
// read, not linearizable. The same read made linearizable is refused
// instead.
func TestEtcdSerializableReadsAreStale(t *testing.T) {
	servertest.Root(t)
	c := up(t, "etcd")
	for _, serializable := range []bool{true, false} {
		name := "linearizable"
		if serializable {
			name = "serializable"
		}
		t.Run(name, func(t *testing.T) {
			// Cut off a follower: a proposal forwarded to a leader
			// just cut off would wait out etcd's request timeout.
			e1, e3 := etcdRoles(t, c)
			s := scripttest.New(t, openEtcd(t, c, serializable), c)
			s.Timeout = 3 * time.Second
			key := "x-" + name
			write := func(v int64) adapters.Op {
				return adapters.Op{Kind: adapters.Register, F: "write", Key: key, Value: v}
			}
			read := adapters.Op{Kind: adapters.Register, F: "read", Key: key}
			if _, err := s.Do(0, e1, write(1)); err != nil {
				t.Fatal(err)
			}
			s.Client(e3).Await(read, int64(1)) // e3 has applied the first write
			s.Isolate(e3)
			if _, err := s.Do(0, e1, write(2)); err != nil {
				t.Fatal(err)
			}
			v, err := s.Do(1, e3, read)
			s.Isolate()
			h := s.History()
			if serializable {
				if err != nil || v != int64(1) {
					t.Fatalf("e3's serializable read gave %v, %v; want the stale 1", v, err)
				}
				storetest.Expect(t, h, []checker.Model{checker.Sequential}, []checker.Model{checker.Linearizable})
				return
			}
			if adapters.Outcome(err) == history.OK {
				t.Fatalf("e3, cut off, answered a linearizable read with %v", v)
			}
			storetest.Expect(t, h, []checker.Model{checker.Linearizable}, nil)
		})
	}
}

// etcdRoles returns the leader and a follower of c.
func etcdRoles(t *testing.T, c *cluster.Cluster) (leader, follower string) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Nodes(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, ep := range c.Nodes() {
		st, err := cli.Status(t.Context(), ep)
		if err != nil {
			t.Fatal(err)
		}
		if st.Leader == st.Header.MemberId {
			leader = ep
		} else {
			follower = ep
		}
	}
	if leader == "" || follower == "" {
		t.Fatalf("no leader and follower among %v", c.Nodes())
	}
	return leader, follower
}
