// Package redis runs consist's workloads against a real Redis server: a
// primary and, optionally, its asynchronous replicas.
//
// Objects map onto Redis types, each under its own key:
//
//   - register: a string holding the value in decimal. read is GET (a
//     missing key reads nil), write is SET, and cas is a Lua script that
//     compares and sets atomically on the primary (an expected nil means
//     "the key is absent").
//   - counter: a string incremented with INCRBY; read is GET (a missing
//     key reads 0).
//   - set: a Redis set; add is SADD, read is SMEMBERS, returned sorted.
//   - transactions (Elle's list-append and rw-register, and guarded ones):
//     a key is a Redis list (appends, RPUSH) and a string (its register,
//     SET); a transaction is one MULTI/EXEC of its micro-ops, its leading
//     reads first read under WATCH when a guard needs them or when they
//     come from a replica. See client.txn, and the README's section on
//     the isolation of real databases for what reading from a replica
//     does to transactions.
//
// Register values, counter deltas, set and list elements are int64; other
// kinds of object (list, bank) are not supported, as Holds says.
//
// Every client has connections of its own: one to the primary, which
// takes every write, and, with Options.ReadFromReplica, one to the replica
// it reads from. Each client is opened on a node named by its address —
// the primary's, or with ReadFromReplica a replica's, the runner assigning
// them round-robin — so a history's node field tells which server served
// each read (writes always go to the primary).
//
// Guarantees and limitations:
//
//   - Reads from the primary: a single Redis server executes commands one
//     at a time, so a run that reads from the primary and injects no
//     fault should be linearizable.
//   - Reads from replicas are not linearizable: Redis replicates
//     asynchronously, and a replica answers a read with whatever it has
//     applied so far. Expect stale reads, more of them when the
//     replication stream is delayed or cut.
//   - Nothing here makes writes durable or waits for replicas (no WAIT):
//     a primary that crashes loses what it did not persist, and a replica
//     promoted after a failover lacks what it had not received.
//
// Outcomes: a read that fails is fail (a read has no effect). A write is
// fail when Redis answered with an error (WRONGTYPE, READONLY, OOM, ...:
// the command did nothing), when the client could not connect (the
// command was never sent) or when the client was closed; any other error
// on a write — a timeout, a connection reset or closed mid-command — leaves
// it unknown (info). Commands are never retried, so an unknown write is
// never applied twice. The password never appears in an error.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"consist/adapters"
)

// Options say which servers to use and how.
type Options struct {
	// Primary is the primary's address, host:port. Every write goes
	// there, and every read unless ReadFromReplica is set. Required.
	Primary string
	// Replicas are the primary's replicas, host:port. They are used only
	// with ReadFromReplica.
	Replicas []string
	// ReadFromReplica sends reads to the replicas instead of the primary:
	// the store's nodes are then the replicas, and each client reads from
	// the one it was opened on. Such reads are not linearizable: see the
	// package documentation.
	ReadFromReplica bool
	// Prefix is prepended to every key the store uses: a register k0 is
	// stored under Prefix+"register:k0". The default, "consist:" followed
	// by a random run id and a colon, keeps a run from seeing the data of
	// earlier runs on the same server, so its objects start empty. With a
	// fixed prefix, keys left by an earlier run with Keep are reused.
	Prefix string
	// Password authenticates to every server (Redis's requirepass, or the
	// default user's ACL password). It never appears in errors.
	Password string
	// DialTimeout bounds each connection attempt (default 5 s). An
	// operation's own context bounds it too.
	DialTimeout time.Duration
	// Keep leaves the run's keys on the primary after Close. By default
	// Close deletes every key the store wrote.
	Keep bool
}

// Store is a Redis primary, and its replicas, under test. It implements
// adapters.Store; it is safe for concurrent use.
type Store struct {
	opts  Options
	nodes []string
	// admin is a connection to the primary for the store's own use: the
	// check in New and the clean-up in Close.
	admin *goredis.Client

	// clients are the open clients, closed with the store.
	clients adapters.ClientSet[*client]
	// written holds every Redis key a client wrote to, so that Close
	// deletes exactly those.
	written sync.Map
}

var _ adapters.Store = (*Store)(nil)

// New connects to the primary, and with ReadFromReplica to every replica,
// checks that each answers in its role, and returns the store. Its error
// says what to check: the address, that redis-server runs there, the
// password, the replication setup.
func New(ctx context.Context, opts Options) (*Store, error) {
	if opts.Primary == "" {
		return nil, errors.New("redis: no primary: set Options.Primary to the primary's host:port")
	}
	if opts.ReadFromReplica && len(opts.Replicas) == 0 {
		return nil, errors.New("redis: ReadFromReplica needs replicas: list them in Options.Replicas, or read from the primary")
	}
	if opts.Prefix == "" {
		id, err := runID()
		if err != nil {
			return nil, err
		}
		opts.Prefix = "consist:" + id + ":"
	}
	s := &Store{opts: opts}
	s.nodes = []string{opts.Primary}
	if opts.ReadFromReplica {
		s.nodes = slices.Clone(opts.Replicas)
	}
	s.admin = s.connect(opts.Primary)
	if err := checkRole(ctx, s.admin, "primary", "master"); err != nil {
		s.admin.Close()
		return nil, err
	}
	if opts.ReadFromReplica {
		for _, addr := range opts.Replicas {
			r := s.connect(addr)
			err := checkRole(ctx, r, "replica", "slave")
			r.Close()
			if err != nil {
				s.admin.Close()
				return nil, err
			}
		}
	}
	return s, nil
}

// runID returns a random id that names a run's keys or tables.
func runID() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("redis: draw a run id: %w (or set Options.Prefix)", err)
	}
	return hex.EncodeToString(b), nil
}

// checkRole pings the server behind c and checks that ROLE reports want.
func checkRole(ctx context.Context, c *goredis.Client, name, want string) error {
	addr := c.Options().Addr
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %s %s does not answer PING: %w (check that redis-server listens there and that the password is right)", name, addr, err)
	}
	role, err := c.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) == 0 {
		return fmt.Errorf("redis: ask %s %s for its ROLE: %w (the adapter needs Redis 2.8.12 or later)", name, addr, err)
	}
	if got, _ := role[0].(string); got != want {
		if want == "slave" {
			return fmt.Errorf("redis: %s is not a replica (its role is %q): start it with --replicaof pointing at the primary, or do not list it in Options.Replicas", addr, got)
		}
		return fmt.Errorf("redis: %s is not a primary (its role is %q): point Options.Primary at the server that takes writes", addr, got)
	}
	return nil
}

// connect returns a client of one connection to addr. Commands are never
// retried (a retried INCRBY could count twice), a dial is tried once, and
// the operation's context bounds each command. Nothing is dialled until
// the first command.
func (s *Store) connect(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{
		Addr:                     addr,
		Password:                 s.opts.Password,
		DialTimeout:              s.opts.DialTimeout,
		DialerRetries:            1,
		MaxRetries:               -1,
		PoolSize:                 1,
		PipelinePoolSize:         -1,
		ContextTimeoutEnabled:    true,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// Nodes returns the addresses clients read from: the primary's, or with
// ReadFromReplica the replicas'.
func (s *Store) Nodes() []string { return slices.Clone(s.nodes) }

// Prefix returns the prefix of every key the store uses.
func (s *Store) Prefix() string { return s.opts.Prefix }

// Open returns a client that writes to the primary and reads from node.
// It connects on the client's first operation, so that a server that is
// down makes operations fail rather than the run.
func (s *Store) Open(_ context.Context, node string) (adapters.Client, error) {
	if !slices.Contains(s.nodes, node) {
		return nil, fmt.Errorf("redis: no node %q: open one of %v", node, s.nodes)
	}
	c := &client{s: s, node: node, primary: s.connect(s.opts.Primary)}
	c.reader = c.primary
	if node != s.opts.Primary {
		c.reader = s.connect(node)
	}
	if err := s.clients.Add(c); err != nil {
		c.close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return c, nil
}

// Close closes every client still open (an operation in flight ends
// with an error; later ones fail), deletes the keys the store wrote
// (unless Options.Keep; it allows 10 s for that) and closes the store's
// own connection.
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
		errs = append(errs, s.deleteWritten())
	}
	errs = append(errs, s.admin.Close())
	return errors.Join(errs...)
}

// deleteWritten deletes every key a client wrote to.
func (s *Store) deleteWritten() error {
	var keys []string
	s.written.Range(func(k, _ any) bool {
		keys = append(keys, k.(string))
		return true
	})
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for chunk := range slices.Chunk(keys, 500) {
		if err := s.admin.Del(ctx, chunk...).Err(); err != nil {
			return fmt.Errorf("redis: delete the run's keys (prefix %q) from %s: %w (delete them by hand, or set Options.Keep)", s.opts.Prefix, s.opts.Primary, err)
		}
	}
	return nil
}

// wrote notes that key was written to.
func (s *Store) wrote(key string) {
	if _, ok := s.written.Load(key); !ok {
		s.written.Store(key, true)
	}
}
