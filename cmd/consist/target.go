package main

import (
	"os"
	"strconv"
	"strings"

	consistrun "consist/run"
	"consist/run/databases"
	"consist/run/target"
)

// targetFlags say which real database consist run tests, and how.
type targetFlags struct {
	target, endpoints, dsn, isolation, cluster, clusterDir string
	serializableReads, readFromReplica                     bool
}

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

// targetConfig points cfg at the bundled store or the real database fl
// names.
func targetConfig(fl runFlags, cfg *consistrun.Config) error {
	if fl.target == "" {
		cfg.Store = fl.store
		return nil
	}
	db, err := databases.Lookup(fl.target)
	if err != nil {
		return &exitError{code: exitBad, err: err}
	}
	cfg.Database = db
	if fl.storeSet {
		cfg.Store = fl.store // refused by cfg.Check: one of them
	}
	switch fl.cluster {
	case "":
	case "local":
		cfg.Local, cfg.ClusterDir = true, fl.clusterDir
	default:
		return usageError("--cluster %q: the only cluster consist runs is local", fl.cluster)
	}
	password := os.Getenv(passwordEnv)
	cfg.Conn = target.Conn{Endpoints: splitList(fl.endpoints), DSN: fl.dsn, Password: password, Username: usernameFor(password),
		Settings: map[string]string{"isolation": fl.isolation, "serializable-reads": strconv.FormatBool(fl.serializableReads),
			"read-from-replica": strconv.FormatBool(fl.readFromReplica)}}
	return nil
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
