package redis

import (
	"context"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"consist/adapters"
	"consist/cluster"
	"consist/nemesis"
	"consist/run/target"
)

// Target is Redis as consist run --target redis tests it: a primary and
// its replicas at --endpoints (the primary first), or the local cluster
// of a primary and one replica, which takes kills, pauses and
// partitions. The read-from-replica setting sends reads to the replicas.
var Target = &target.Database{
	Name:      "redis",
	Summary:   "Redis, a primary with asynchronous replicas",
	Cluster:   "redis",
	Faults:    []nemesis.Kind{nemesis.Kill, nemesis.Pause, nemesis.Partition},
	Workloads: []string{"register", "counter", "set", "list-append", "rw-register", "on-call"},
	Settings: []target.Setting{{Name: "read-from-replica", Bool: true, Default: "false",
		Usage: "redis: send reads to the replicas"}},
	Open: func(ctx context.Context, c target.Conn) (adapters.Store, error) {
		endpoints := c.Addresses()
		if len(endpoints) == 0 {
			return nil, fmt.Errorf("--target redis needs --endpoints (the primary, then its replicas) or --cluster local")
		}
		fromReplica := c.Setting("read-from-replica") == "true"
		if fromReplica && len(endpoints) < 2 {
			return nil, fmt.Errorf("--read-from-replica needs a replica: list it after the primary in --endpoints")
		}
		silence()
		return New(ctx, Options{Primary: endpoints[0], Replicas: endpoints[1:], ReadFromReplica: fromReplica, Password: c.Password})
	},
	Env: func(c *cluster.Cluster) []string {
		return []string{"CONSIST_REDIS_PRIMARY=" + c.Nodes()[0], "CONSIST_REDIS_REPLICAS=" + strings.Join(c.Nodes()[1:], ",")}
	},
}

// silence stops go-redis's process-wide logger from writing over a run's
// status line; its errors reach the history anyway.
func silence() { goredis.SetLogger(quietLogger{}) }

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
