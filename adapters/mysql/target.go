package mysql

import (
	"github.com/go-sql-driver/mysql"

	"context"
	"fmt"

	"consist/adapters"
	"consist/cluster"
	"consist/nemesis"
	"consist/run/target"
)

// Target is MariaDB or MySQL as consist run --target mysql tests it: at
// --dsn, or the local cluster of one MariaDB server, which takes kills
// and pauses. The isolation setting picks the transaction isolation level.
var Target = &target.Database{
	Name:      "mysql",
	Summary:   "MariaDB or MySQL, one server",
	Cluster:   "mariadb",
	Faults:    []nemesis.Kind{nemesis.Kill, nemesis.Pause},
	NoFault:   "a single MariaDB server has no peers to be cut off from",
	Workloads: []string{"register", "counter", "set", "list-append", "rw-register", "on-call"},
	Settings: []target.Setting{
		{Name: "dsn", Address: true, Redact: withoutPassword,
			Usage: "mysql: the data source name, user:password@tcp(host:port)/database (never printed or written into results)"},
		{Name: "isolation", Default: "serializable",
			Usage: "mysql: the transaction isolation level: read-uncommitted, read-committed, repeatable-read or serializable (the bundled mvcc store takes these and snapshot-isolation, default repeatable-read)"},
	},
	Open: func(ctx context.Context, c target.Conn) (adapters.Store, error) {
		dsn := c.Setting("dsn")
		if c.Cluster != nil {
			dsn = LocalDSN(c.Cluster)
		}
		if dsn == "" {
			return nil, fmt.Errorf("--target mysql needs --dsn user:password@tcp(host:port)/database or --cluster local")
		}
		level, err := ParseIsolation(c.Setting("isolation"))
		if err != nil {
			return nil, fmt.Errorf("--isolation: %w", err)
		}
		return New(ctx, Options{DSN: dsn, Isolation: level})
	},
	Env: func(c *cluster.Cluster) []string {
		return []string{"CONSIST_MYSQL_DSN='" + LocalDSN(c) + "'"}
	},
}

// withoutPassword is a data source name with its password removed; a DSN
// it cannot parse is left out altogether.
func withoutPassword(dsn string) string {
	if dsn == "" {
		return ""
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return ""
	}
	cfg.Passwd = ""
	return cfg.FormatDSN()
}
