// Package servertest finds the real database servers the integration tests
// run against. scripts/servers.sh starts them and exports where they
// listen; `make test` sets CONSIST_REQUIRE_SERVERS=1, so there a missing
// server fails the test instead of skipping it.
package servertest

import (
	"os"
	"strings"
	"testing"
)

// The environment variables scripts/servers.sh exports.
const (
	// EtcdEndpoints lists the etcd members' client addresses, host:port,
	// comma-separated.
	EtcdEndpoints = "CONSIST_ETCD_ENDPOINTS"
	// RedisPrimary is the Redis primary's host:port.
	RedisPrimary = "CONSIST_REDIS_PRIMARY"
	// RedisReplicas lists the Redis replicas' host:port, comma-separated.
	RedisReplicas = "CONSIST_REDIS_REPLICAS"
	// MySQLDSN is a go-sql-driver/mysql data source name of a database
	// the tests may create tables in.
	MySQLDSN = "CONSIST_MYSQL_DSN"
	// Require, when "1", turns a missing server into a test failure.
	Require = "CONSIST_REQUIRE_SERVERS"
)

// Env returns the value of the environment variable name, or skips t
// (fails it when CONSIST_REQUIRE_SERVERS=1) when it is unset.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, name+" is not set: start the servers with scripts/servers.sh start and source the file it names, or run make test")
	}
	return v
}

// List returns the comma-separated list in the environment variable name,
// skipping or failing t as Env does when it is unset.
func List(t testing.TB, name string) []string {
	t.Helper()
	return strings.Split(Env(t, name), ",")
}

// Binary skips t (fails it when servers are required) unless the program
// name is installed.
func Binary(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, path+" is not installed: run scripts/servers.sh install (as root)")
	}
}

// Root skips t (fails it when servers are required) unless it runs as
// root, which network partitions by nft need.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "partitions need root (nft rules and a uid per member): run the tests as root")
	}
}

// Missing skips t saying why a server or tool it needs is missing, or
// fails it when the environment requires every server (Require).
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(Require) == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
}
