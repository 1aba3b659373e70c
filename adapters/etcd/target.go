package etcd

import (
	"context"
	"fmt"
	"strings"

	"consist/adapters"
	"consist/cluster"
	"consist/nemesis"
	"consist/run/target"
)

// Target is etcd as consist run --target etcd tests it: at --endpoints,
// or the local cluster of three members, which takes kills, pauses and
// partitions. The serializable-reads setting reads from one member alone.
var Target = &target.Database{
	Name:      "etcd",
	Summary:   "etcd, a Raft-replicated key-value store",
	Cluster:   "etcd",
	Faults:    []nemesis.Kind{nemesis.Kill, nemesis.Pause, nemesis.Partition},
	Workloads: []string{"register", "counter", "set", "list-append", "rw-register", "on-call"},
	Settings: []target.Setting{{Name: "serializable-reads", Bool: true, Default: "false",
		Usage: "etcd: serializable reads, answered by a member alone (may be stale), instead of linearizable ones"}},
	Open: func(ctx context.Context, c target.Conn) (adapters.Store, error) {
		endpoints := c.Addresses()
		if len(endpoints) == 0 {
			return nil, fmt.Errorf("--target etcd needs --endpoints (the members' client addresses) or --cluster local")
		}
		return New(ctx, Options{Endpoints: endpoints, SerializableReads: c.Setting("serializable-reads") == "true",
			Username: c.Username, Password: c.Password})
	},
	Env: func(c *cluster.Cluster) []string {
		return []string{"CONSIST_ETCD_ENDPOINTS=" + strings.Join(c.Nodes(), ",")}
	},
}
