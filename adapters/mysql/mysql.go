// Package mysql runs consist's workloads against a MySQL or MariaDB
// server through database/sql and github.com/go-sql-driver/mysql. It is
// tested on MariaDB 10.11 and written for MySQL 8 as well: it uses only
// SQL both accept.
//
// Objects are rows of four InnoDB tables that New creates in the DSN's
// database, named after a per-run prefix:
//
//   - <prefix>_registers (k, v): a register is a row; a register never
//     written has none and reads nil. write is INSERT … ON DUPLICATE KEY
//     UPDATE; cas is UPDATE … WHERE k = ? AND v = ?, applied when it
//     matched a row (a cas expecting nil is INSERT IGNORE, applied when it
//     inserted one).
//   - <prefix>_counters (k, v): add is INSERT … ON DUPLICATE KEY UPDATE
//     v = v + ?; a counter without a row reads 0.
//   - <prefix>_sets (k, e): a set is its rows; add is INSERT IGNORE, and a
//     read selects them ORDER BY e.
//   - <prefix>_txn (k, l, r): the keys of transactions (Kind Txn, Elle's
//     list-append and rw-register), a row per key holding its list in l
//     (comma-separated decimals, appended with CONCAT as Jepsen's SQL
//     suites do) and its register in r. A transaction is BEGIN, a
//     statement per micro-op, COMMIT, at the store's isolation level:
//     see txnBody for the statements, and the README's section on the
//     isolation of real databases for what each level was found to give.
//
// Register values, counter deltas and set elements are int64 (BIGINT);
// keys are strings (or integers) of at most 191 bytes, compared byte for
// byte (VARBINARY, so that neither case nor trailing spaces make two keys
// one). Other kinds of object (list, bank) are not supported: Holds says
// so before a run starts.
//
// Every operation is one transaction, begun with the store's isolation
// level (Options.Isolation) on the client's own connection: each client
// holds one connection of its own, taken on its first operation and
// taken again after one broke.
//
// Guarantees and limitations of the single-object workloads: every
// operation touches a single row,
// InnoDB locks what it writes, and a read in a fresh transaction sees
// every transaction committed before it began, so from READ COMMITTED up
// the register is expected to be linearizable while the server stays up
// (the tests check it at READ COMMITTED and SERIALIZABLE). What the level
// changes here is mostly locking: SERIALIZABLE makes reads take shared
// locks, so reads and writes of a key wait for each other and may
// deadlock, which fails the victim. READ UNCOMMITTED lets a read see a
// write not yet committed, which is harmless unless that write is then
// rolled back (its COMMIT failed, or its context ran out first). The
// store is a single server: it has one node, named by the DSN's address.
// Nothing here replicates or fails over.
//
// Outcomes: an operation that failed before COMMIT was sent was rolled
// back, or never began: fail. That includes a deadlock (1213), a lock
// wait timeout (1205), a connection that could not be made or broke, and
// an operation's context that ran out before COMMIT. A read, or a
// transaction that only reads, fails on any error, COMMIT's included. A
// write whose COMMIT failed is unknown (info),
// since the server may have committed it — unless the server answered
// that it rolled the transaction back (deadlock, lock wait timeout,
// serialization failure), which fails it. The DSN's password never
// appears in an error or in Nodes.
package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"consist/adapters"
)

// Options say which server to use and how.
type Options struct {
	// DSN is a go-sql-driver/mysql data source name,
	// user:password@tcp(host:port)/database?param=value, naming a database
	// that exists and in which the user may create and drop tables.
	// Required. The adapter sets interpolateParams and clientFoundRows
	// itself, and, when the DSN leaves them unset, a dial timeout of 5 s
	// and read and write timeouts of 10 s, so that a server that stops
	// answering ends an operation rather than the run. A parameter the
	// driver does not know is set as a session variable on every
	// connection: innodb_snapshot_isolation=ON makes MariaDB's REPEATABLE
	// READ snapshot isolation (10.6.18, 10.11.8 and later).
	DSN string
	// Isolation is the isolation level of every operation's transaction:
	// sql.LevelReadUncommitted, LevelReadCommitted, LevelRepeatableRead
	// or LevelSerializable; sql.LevelDefault (the zero value) keeps the
	// server's default, REPEATABLE READ unless configured otherwise.
	// ParseIsolation reads one from its name.
	Isolation sql.IsolationLevel
	// TablePrefix names the tables: <TablePrefix>_registers,
	// <TablePrefix>_counters, <TablePrefix>_sets and <TablePrefix>_txn.
	// It may hold ASCII
	// letters, digits and underscores, up to 50 of them. The default,
	// "consist_" followed by a random run id, gives every run empty
	// tables of its own; with a fixed prefix, tables left by an earlier
	// run with Keep are reused, with their rows.
	TablePrefix string
	// Keep leaves the tables in the database after Close. By default
	// Close drops them.
	Keep bool
}

// Store is a MySQL or MariaDB server under test. It implements
// adapters.Store; it is safe for concurrent use.
type Store struct {
	opts   Options
	db     *sql.DB
	node   string
	tables tables

	// clients are the open clients, closed with the store.
	clients adapters.ClientSet[*client]
}

var _ adapters.Store = (*Store)(nil)

// tables are the quoted names of a store's tables.
type tables struct{ registers, counters, sets, txn string }

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,50}$`)

// New connects to the server opts.DSN names, checks that it answers, and
// creates the store's tables (if they do not exist). Its error says what
// to check: the DSN, that the server runs, the user's rights.
func New(ctx context.Context, opts Options) (*Store, error) {
	if opts.DSN == "" {
		return nil, errors.New("mysql: no DSN: set Options.DSN to user:password@tcp(host:port)/database")
	}
	cfg, err := mysql.ParseDSN(opts.DSN)
	if err != nil {
		// The driver's parse errors quote parameter values, never the
		// password; still, say nothing of the DSN itself.
		return nil, fmt.Errorf("mysql: the DSN does not parse: %w (write it as user:password@tcp(host:port)/database?param=value)", err)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("mysql: the DSN names no database (user@tcp(%s)/database): create one for the tables, and name it", cfg.Addr)
	}
	switch opts.Isolation {
	case sql.LevelDefault, sql.LevelReadUncommitted, sql.LevelReadCommitted, sql.LevelRepeatableRead, sql.LevelSerializable:
	default:
		return nil, fmt.Errorf("mysql: isolation level %s is not one MySQL has: use %s", opts.Isolation, isolationNames)
	}
	if opts.TablePrefix == "" {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("mysql: draw a run id: %w (or set Options.TablePrefix)", err)
		}
		opts.TablePrefix = "consist_" + hex.EncodeToString(b)
	}
	if !prefixPattern.MatchString(opts.TablePrefix) {
		return nil, fmt.Errorf("mysql: table prefix %q: use 1 to 50 ASCII letters, digits and underscores", opts.TablePrefix)
	}
	// One round trip per statement: placeholders are filled in by the
	// client (the driver refuses this for the few charsets where it is
	// unsafe). Rows affected counts the rows an UPDATE matched, so that a
	// cas writing the value it expected still counts as applied.
	cfg.InterpolateParams = true
	cfg.ClientFoundRows = true
	cfg.Logger = &mysql.NopLogger{}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: the DSN's settings: %w", err)
	}
	s := &Store{opts: opts, db: sql.OpenDB(conn), node: cfg.Addr}
	p := "`" + opts.TablePrefix
	s.tables = tables{registers: p + "_registers`", counters: p + "_counters`", sets: p + "_sets`", txn: p + "_txn`"}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("mysql: connect to %s as %q: %w (check that the server runs there, and the user, password and database of the DSN)", cfg.Addr, cfg.User, err)
	}
	for _, ddl := range []string{
		"CREATE TABLE IF NOT EXISTS " + s.tables.registers + " (k VARBINARY(191) NOT NULL PRIMARY KEY, v BIGINT NULL) ENGINE=InnoDB",
		"CREATE TABLE IF NOT EXISTS " + s.tables.counters + " (k VARBINARY(191) NOT NULL PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB",
		"CREATE TABLE IF NOT EXISTS " + s.tables.sets + " (k VARBINARY(191) NOT NULL, e BIGINT NOT NULL, PRIMARY KEY (k, e)) ENGINE=InnoDB",
		"CREATE TABLE IF NOT EXISTS " + s.tables.txn + " (k VARBINARY(191) NOT NULL PRIMARY KEY, l MEDIUMTEXT NULL, r BIGINT NULL) ENGINE=InnoDB",
	} {
		if _, err := s.db.ExecContext(ctx, ddl); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("mysql: create the store's tables in database %q on %s: %w (the user needs the CREATE and DROP privileges there)", cfg.DBName, cfg.Addr, err)
		}
	}
	return s, nil
}

// isolationNames lists the names ParseIsolation reads, for messages.
const isolationNames = "read-uncommitted, read-committed, repeatable-read or serializable"

// ParseIsolation returns the isolation level called s: "read-uncommitted",
// "read-committed", "repeatable-read" or "serializable" (case, spaces and
// underscores aside), or "" or "default" for the server's default.
func ParseIsolation(s string) (sql.IsolationLevel, error) {
	name := strings.NewReplacer(" ", "-", "_", "-").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch name {
	case "", "default":
		return sql.LevelDefault, nil
	case "read-uncommitted":
		return sql.LevelReadUncommitted, nil
	case "read-committed":
		return sql.LevelReadCommitted, nil
	case "repeatable-read":
		return sql.LevelRepeatableRead, nil
	case "serializable":
		return sql.LevelSerializable, nil
	}
	return sql.LevelDefault, fmt.Errorf("unknown isolation level %q: use %s", s, isolationNames)
}

// Nodes returns the store's one node: the server's address as the DSN
// gives it (host:port, or a socket path), without user or password.
func (s *Store) Nodes() []string { return []string{s.node} }

// TablePrefix returns the prefix of the store's tables.
func (s *Store) TablePrefix() string { return s.opts.TablePrefix }

// Open returns a client of the server. It connects on the client's first
// operation, so that a server that is down makes operations fail rather
// than the run.
func (s *Store) Open(_ context.Context, node string) (adapters.Client, error) {
	if node != s.node {
		return nil, fmt.Errorf("mysql: no node %q: open %q", node, s.node)
	}
	c := &client{s: s}
	if err := s.clients.Add(c); err != nil {
		c.close()
		return nil, fmt.Errorf("mysql: %w", err)
	}
	return c, nil
}

// Close closes every client still open, waiting for an operation in
// flight to end, drops the store's tables (unless Options.Keep; it allows
// 10 s for that, and gives up on a table that stays locked for 5 s) and
// closes the connections. A client's operations fail after it.
func (s *Store) Close() error {
	clients, first := s.clients.Close()
	if !first {
		return nil
	}
	var errs []error
	for _, c := range clients {
		errs = append(errs, c.close())
	}
	if !s.opts.Keep {
		errs = append(errs, s.drop())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// drop drops the store's tables.
func (s *Store) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := s.db.Conn(ctx)
	if err == nil {
		defer conn.Close()
		// A client's transaction left open would hold the table's
		// metadata lock; do not wait for it for the default year.
		_, err = conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 5")
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+s.tables.registers+", "+s.tables.counters+", "+s.tables.sets+", "+s.tables.txn)
	}
	if err != nil {
		return fmt.Errorf("mysql: drop the tables %s_*: %w (drop them by hand, or set Options.Keep)", s.opts.TablePrefix, err)
	}
	return nil
}
