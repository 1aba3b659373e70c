package run

import (
	"fmt"
	"slices"
	"strings"

	"consist/adapters/etcd"
	"consist/adapters/mysql"
	"consist/adapters/redis"
	"consist/run/target"
)

// databases are the real databases consist tests: one line each. A
// database is its package (its adapter, its Target) and its line here.
var databases = []*target.Database{
	etcd.Target,
	redis.Target,
	mysql.Target,
}

// Databases returns the real databases consist tests.
func Databases() []*target.Database { return slices.Clone(databases) }

// DatabaseNames names them, in order.
func DatabaseNames() []string {
	names := make([]string, len(databases))
	for i, d := range databases {
		names[i] = d.Name
	}
	return names
}

// LookupDatabase returns the database named name.
func LookupDatabase(name string) (*target.Database, error) {
	for _, d := range databases {
		if d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("--target %q: use %s", name, orList(DatabaseNames()))
}

// DatabaseOfCluster returns the database a kind of local cluster runs.
func DatabaseOfCluster(kind string) (*target.Database, error) {
	for _, d := range databases {
		if d.Cluster == kind {
			return d, nil
		}
	}
	return nil, fmt.Errorf("no database runs on a %s cluster", kind)
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
