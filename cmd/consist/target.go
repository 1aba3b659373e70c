package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"consist/adapters"
	"consist/adapters/builtin"
	"consist/adapters/etcd"
	"consist/adapters/mysql"
	"consist/adapters/redis"
	"consist/cluster"
	"consist/nemesis"
)

// targetFlags say which real database consist run tests, and how.
type targetFlags struct {
	target, endpoints, dsn, isolation, cluster, clusterDir string
	serializableReads, readFromReplica                     bool
}

// targets are the real databases consist run can test, with the cluster
// kind that runs each locally.
var targets = map[string]string{"etcd": "etcd", "redis": "redis", "mysql": "mariadb"}

// passwordEnv names the environment variable etcd's and Redis's password
// is read from, so that it appears in no command line and no file.
const passwordEnv = "CONSIST_PASSWORD"

func addTargetFlags(f interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
}, fl *targetFlags) {
	f.StringVar(&fl.target, "target", "", "test a real database instead of a bundled store: etcd, redis or mysql (MariaDB or MySQL)")
	f.StringVar(&fl.endpoints, "endpoints", "", "the database's addresses, host:port, comma-separated: etcd's members, or Redis's primary then its replicas (password, if any, from $"+passwordEnv+")")
	f.StringVar(&fl.dsn, "dsn", "", "mysql: the data source name, user:password@tcp(host:port)/database (never printed or written into results)")
	f.StringVar(&fl.isolation, "isolation", "serializable", "mysql: the transaction isolation level: read-uncommitted, read-committed, repeatable-read or serializable")
	f.BoolVar(&fl.serializableReads, "serializable-reads", false, "etcd: serializable reads, answered by a member alone (may be stale), instead of linearizable ones")
	f.BoolVar(&fl.readFromReplica, "read-from-replica", false, "redis: send reads to the replicas")
	f.StringVar(&fl.cluster, "cluster", "", "local: test the local cluster consist cluster up started, or start one for the run and stop it after; faults need it")
	f.StringVar(&fl.clusterDir, "cluster-dir", "", "the local cluster's folder (default: as consist cluster uses)")
}

// system is what a run drives and breaks.
type system struct {
	name   string
	store  adapters.Store
	target nemesis.Target
	// nodes are the addresses tested, with no credentials, for run.json.
	nodes []string
	close func()
}

// openSystem opens the bundled store or the real database fl names.
func openSystem(ctx context.Context, stderr io.Writer, fl runFlags, kinds []nemesis.Kind) (*system, error) {
	if fl.target == "" {
		store, err := builtin.Open(fl.store, fl.seed)
		if err != nil {
			return nil, usageError("--store: %w", err)
		}
		return &system{name: fl.store, store: store, target: store, close: func() { store.Close() }}, nil
	}
	kind, ok := targets[fl.target]
	if !ok {
		return nil, usageError("--target %q: use etcd, redis or mysql", fl.target)
	}
	if fl.storeSet {
		return nil, usageError("--store names a bundled store; --target tests a real database: give one of them")
	}
	if !slices.Contains([]string{"register", "counter", "set", "list-append", "rw-register", "on-call"}, fl.workload) {
		return nil, usageError("--workload %s: the %s target runs the register, counter and set workloads and the transactional ones (list-append, rw-register, on-call)", fl.workload, fl.target)
	}
	silenceDrivers()
	sys := &system{name: fl.target, close: func() {}}
	var c *cluster.Cluster
	switch fl.cluster {
	case "":
		if len(kinds) > 0 {
			return nil, usageError("--nemesis %s: consist can break only a cluster it runs: add --cluster local, or --nemesis none", fl.faults)
		}
	case "local":
		if fl.endpoints != "" || fl.dsn != "" {
			return nil, usageError("--cluster local gives the addresses itself: leave out --endpoints and --dsn")
		}
		if kind == "mariadb" && slices.Contains(kinds, nemesis.Partition) {
			return nil, usageError("--nemesis partition: a single MariaDB server has no peers to be cut off from; use kill,pause")
		}
		var err error
		if c, err = localCluster(ctx, stderr, kind, fl.clusterDir, sys); err != nil {
			return nil, err
		}
	default:
		return nil, usageError("--cluster %q: the only cluster consist runs is local", fl.cluster)
	}
	store, err := openTarget(ctx, fl, c)
	if err != nil {
		sys.close()
		return nil, &exitError{code: exitBad, err: err}
	}
	sys.store, sys.target, sys.nodes = store, store, store.Nodes()
	if c != nil {
		sys.target = c
	}
	closeCluster := sys.close
	sys.close = func() { store.Close(); closeCluster() }
	return sys, nil
}

// localCluster returns the local cluster of kind that is up, or starts
// one that sys.close stops. Either way a guardian watches the run (see
// cluster.StartGuard): if consist dies without healing, it heals the
// cluster, and stops it if the run started it.
func localCluster(ctx context.Context, stderr io.Writer, kind, dir string, sys *system) (*cluster.Cluster, error) {
	if dir == "" {
		dir = cluster.DefaultDir(kind)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	err := cluster.AwaitGuardians(wctx, dir, func() {
		fmt.Fprintf(stderr, "consist: waiting for the run testing the cluster in %s to end (or its guardian to heal it)\n", dir)
	})
	cancel()
	if err != nil {
		return nil, &exitError{code: exitBad, err: err}
	}
	if c, err := cluster.Load(dir); err == nil && c.Running() {
		// A run killed mid-fault leaves it partitioned, paused or down
		// if its guardian could not heal it.
		if err := c.Repair(ctx); err != nil {
			return nil, &exitError{code: exitBad, err: fmt.Errorf("the %s cluster in %s is up but does not serve: %w (start it afresh: consist cluster down %s, then up)", kind, dir, err, kind)}
		}
		g, err := cluster.StartGuard(ctx, c, false)
		if err != nil {
			return nil, &exitError{code: exitBad, err: err}
		}
		sys.close = func() {
			if err := g.Release(); err != nil {
				fmt.Fprintf(stderr, "consist: %v\n", err)
			}
		}
		fmt.Fprintf(stderr, "consist: testing the %s cluster in %s\n", kind, dir)
		return c, nil
	}
	start := time.Now()
	c, err := cluster.Up(ctx, kind, cluster.Options{Dir: dir})
	if err != nil {
		return nil, &exitError{code: exitBad, err: err}
	}
	g, err := cluster.StartGuard(ctx, c, true)
	if err != nil {
		_ = c.Down(context.WithoutCancel(ctx))
		return nil, &exitError{code: exitBad, err: err}
	}
	fmt.Fprintf(stderr, "consist: started a %s cluster in %s (%v); it stops when the run ends\n", kind, dir, time.Since(start).Round(time.Millisecond))
	sys.close = func() {
		if err := c.Down(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(stderr, "consist: stopping the %s cluster: %v\n", kind, err)
			return // the guardian stays, and stops it once consist has exited
		}
		if err := g.Release(); err != nil {
			fmt.Fprintf(stderr, "consist: %v\n", err)
		}
	}
	return c, nil
}

// openTarget connects to the database, at the addresses of c when given.
func openTarget(ctx context.Context, fl runFlags, c *cluster.Cluster) (adapters.Store, error) {
	endpoints := splitList(fl.endpoints)
	if c != nil {
		endpoints = c.Nodes()
	}
	switch fl.target {
	case "etcd":
		if len(endpoints) == 0 {
			return nil, fmt.Errorf("--target etcd needs --endpoints (the members' client addresses) or --cluster local")
		}
		return etcd.New(ctx, etcd.Options{Endpoints: endpoints, SerializableReads: fl.serializableReads,
			Password: os.Getenv(passwordEnv), Username: usernameFor(os.Getenv(passwordEnv))})
	case "redis":
		if len(endpoints) == 0 {
			return nil, fmt.Errorf("--target redis needs --endpoints (the primary, then its replicas) or --cluster local")
		}
		if fl.readFromReplica && len(endpoints) < 2 {
			return nil, fmt.Errorf("--read-from-replica needs a replica: list it after the primary in --endpoints")
		}
		return redis.New(ctx, redis.Options{Primary: endpoints[0], Replicas: endpoints[1:], ReadFromReplica: fl.readFromReplica,
			Password: os.Getenv(passwordEnv)})
	case "mysql":
		dsn := fl.dsn
		if c != nil {
			dsn = c.MariaDBDSN()
		}
		if dsn == "" {
			return nil, fmt.Errorf("--target mysql needs --dsn user:password@tcp(host:port)/database or --cluster local")
		}
		level, err := mysql.ParseIsolation(fl.isolation)
		if err != nil {
			return nil, fmt.Errorf("--isolation: %w", err)
		}
		return mysql.New(ctx, mysql.Options{DSN: dsn, Isolation: level})
	}
	return nil, fmt.Errorf("--target %q: use etcd, redis or mysql", fl.target)
}

// usernameFor is etcd's user when a password is given: root, unless
// CONSIST_USER says otherwise.
func usernameFor(password string) string {
	if password == "" {
		return ""
	}
	if u := os.Getenv("CONSIST_USER"); u != "" {
		return u
	}
	return "root"
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// silenceDrivers stops go-redis's process-wide logger from writing over
// the status line; its errors reach the history anyway. (The mysql
// adapter gives its driver a silent logger of its own.)
func silenceDrivers() {
	goredis.SetLogger(quietRedisLogger{})
}

type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...any) {}
