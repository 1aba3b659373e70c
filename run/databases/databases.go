// Package databases lists the real databases consist tests. A database is
// its own package (its adapter and its target.Database, e.g.
// adapters/etcd's Target) plus its one line below.
package databases

import (
	"fmt"
	"slices"
	"strings"

	"consist/adapters/etcd"
	"consist/adapters/mysql"
	"consist/adapters/redis"
	"consist/run/target"
)

// databases are the real databases consist tests: one line each.
var databases = []*target.Database{
	etcd.Target,
	redis.Target,
	mysql.Target,
}

// All returns the real databases consist tests.
func All() []*target.Database { return slices.Clone(databases) }

// Names names them, in order.
func Names() []string {
	names := make([]string, len(databases))
	for i, d := range databases {
		names[i] = d.Name
	}
	return names
}

// Lookup returns the database named name.
func Lookup(name string) (*target.Database, error) {
	for _, d := range databases {
		if d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("--target %q: use %s", name, orList(Names()))
}

// OfCluster returns the database a kind of local cluster runs.
func OfCluster(kind string) (*target.Database, error) {
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
