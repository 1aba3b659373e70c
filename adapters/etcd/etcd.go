// Package etcd drives a real etcd cluster through go.etcd.io/etcd/client/v3.
//
// Each process's client talks to one member only, so a member that is cut
// off, paused or behind answers with what it has, and the history's node
// field says which member answered. Objects:
//
//   - register: read is a Get — linearizable by default (etcd confirms
//     leadership through a quorum before answering), serializable (served
//     from the member's own state, possibly stale) with
//     Options.SerializableReads; write is a Put; cas is a Txn comparing the
//     value (or, for an expected nil, that the key was never created) and
//     putting the new one.
//   - counter: add is a Txn that puts the sum if the key's modification
//     revision is still the one read, retried until it applies.
//   - set: add is a Txn creating a key per element under the set's
//     prefix, unless it exists; read lists the prefix.
//   - transactions (Elle's list-append and rw-register): a Txn reading
//     every key the transaction touches at one revision, then a Txn
//     putting what it wrote if none of those keys changed since (their
//     ModRevision compared), else it fails: optimistic concurrency,
//     expected strict-serializable. See client.txn.
//
// Outcomes: a Txn whose comparison failed did not apply (fail). A failed
// read changed nothing (fail). Every other error on a write — a deadline,
// a lost connection, a leader change — leaves it unknown (info): etcd may
// still commit it.
package etcd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"consist/adapters"
	"consist/adapters/builtin/objects"
)

// Options configure a Store.
type Options struct {
	// Endpoints are the members' client addresses (host:port or URL);
	// each is a node clients connect to.
	Endpoints []string
	// SerializableReads makes reads serializable: answered from the
	// member's local state without a quorum, so they may be stale.
	SerializableReads bool
	// Prefix is put before every key, so that a run never sees an
	// earlier run's data. Empty means "consist/" and a random run id.
	Prefix string
	// Username and Password authenticate, when the cluster has auth on.
	Username, Password string
	// DialTimeout bounds connecting to a member (default 5 s).
	DialTimeout time.Duration
}

// Store is an etcd cluster seen through Options.
type Store struct {
	opts Options
}

// New checks that some endpoint answers and returns the store.
func New(ctx context.Context, opts Options) (*Store, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints: give the members' client addresses, e.g. --endpoints 127.0.0.1:2379")
	}
	if opts.Prefix == "" {
		opts.Prefix = "consist/" + runID() + "/"
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	s := &Store{opts: opts}
	c, err := s.dial(opts.Endpoints)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var errs []error
	for _, ep := range opts.Endpoints {
		pctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
		_, err := c.Status(pctx, ep)
		cancel()
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", ep, err))
	}
	return nil, fmt.Errorf("etcd: no member answered (is etcd running, and are the endpoints its client URLs?): %w", errors.Join(errs...))
}

// Prefix returns the prefix every key of this store's runs lives under.
func (s *Store) Prefix() string { return s.opts.Prefix }

// Nodes returns the endpoints.
func (s *Store) Nodes() []string { return slices.Clone(s.opts.Endpoints) }

// Open connects a client to the member at node.
func (s *Store) Open(_ context.Context, node string) (adapters.Client, error) {
	c, err := s.dial([]string{node})
	if err != nil {
		return nil, err
	}
	return &client{c: c, prefix: s.opts.Prefix, serializable: s.opts.SerializableReads}, nil
}

// Close does nothing: each client closes its own connection.
func (s *Store) Close() error { return nil }

func (s *Store) dial(endpoints []string) (*clientv3.Client, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          s.opts.DialTimeout,
		Username:             s.opts.Username,
		Password:             s.opts.Password,
		Logger:               zap.NewNop(),
		DialKeepAliveTime:    time.Second,
		DialKeepAliveTimeout: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: connecting to %s: %w", strings.Join(endpoints, ", "), err)
	}
	return c, nil
}

type client struct {
	c            *clientv3.Client
	prefix       string
	serializable bool
}

func (c *client) Close() error { return c.c.Close() }

func (c *client) Do(ctx context.Context, op adapters.Op) (any, error) {
	if op.Kind == adapters.Txn {
		return c.txn(ctx, op)
	}
	key := c.prefix + fmt.Sprint(op.Key)
	switch op.Kind {
	case adapters.Register:
		switch op.F {
		case "read":
			return c.read(ctx, key)
		case "write":
			_, err := c.c.Put(ctx, key, encode(op.Value))
			return nil, err
		case "cas":
			return nil, c.cas(ctx, key, op.Value)
		}
	case adapters.Counter:
		switch op.F {
		case "read":
			v, err := c.read(ctx, key)
			if v == nil && err == nil {
				v = int64(0)
			}
			return v, err
		case "add":
			return nil, c.add(ctx, key, op.Value)
		}
	case adapters.Set:
		switch op.F {
		case "read":
			return c.members(ctx, key+"/")
		case "add":
			return nil, c.addElement(ctx, key+"/"+encode(op.Value))
		}
	}
	return nil, adapters.NotApplied(fmt.Sprintf("etcd: the etcd adapter supports register, counter and set objects (read, write and cas; read and add; read and add) and transactions, not %s of a %s: pick another workload", op.F, op.Kind))
}

func (c *client) get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if c.serializable {
		opts = append(opts, clientv3.WithSerializable())
	}
	resp, err := c.c.Get(ctx, key, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", adapters.ErrNotApplied, err) // a read changes nothing
	}
	return resp, nil
}

func (c *client) read(ctx context.Context, key string) (any, error) {
	resp, err := c.get(ctx, key)
	if err != nil || len(resp.Kvs) == 0 {
		return nil, err
	}
	return decode(resp.Kvs[0].Value), nil
}

func (c *client) cas(ctx context.Context, key string, value any) error {
	pair, ok := value.([]any)
	if !ok || len(pair) != 2 {
		return adapters.NotApplied(fmt.Sprintf("cas takes [expected, new], not %v", value))
	}
	cond := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	if pair[0] != nil {
		cond = clientv3.Compare(clientv3.Value(key), "=", encode(pair[0]))
	}
	resp, err := c.c.Txn(ctx).If(cond).Then(clientv3.OpPut(key, encode(pair[1]))).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return adapters.NotApplied("cas: the value was not the expected one")
	}
	return nil
}

// add applies a counter increment with optimistic concurrency: read the
// sum and its revision, put the new sum if the revision is unchanged.
func (c *client) add(ctx context.Context, key string, delta any) error {
	d, ok := delta.(int64)
	if !ok {
		return adapters.NotApplied(fmt.Sprintf("add takes an integer, not %v", delta))
	}
	for {
		resp, err := c.c.Get(ctx, key) // linearizable: a stale sum would only retry
		if err != nil {
			return fmt.Errorf("%w: %w", adapters.ErrNotApplied, err)
		}
		var sum int64
		var rev int64
		if len(resp.Kvs) > 0 {
			v, ok := decode(resp.Kvs[0].Value).(int64)
			if !ok {
				return adapters.NotApplied(fmt.Sprintf("add: the counter holds %q, not an integer", resp.Kvs[0].Value))
			}
			sum, rev = v, resp.Kvs[0].ModRevision
		}
		txn, err := c.c.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpPut(key, strconv.FormatInt(sum+d, 10))).Commit()
		if err != nil {
			return err
		}
		if txn.Succeeded {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %w", adapters.ErrNotApplied, err)
		}
	}
}

// addElement adds an element to a set: a Txn that creates the element's
// key unless it exists, so that adding twice changes nothing.
func (c *client) addElement(ctx context.Context, key string) error {
	_, err := c.c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, "")).Commit()
	return err
}

func (c *client) members(ctx context.Context, prefix string) (any, error) {
	resp, err := c.get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	elems := make([]any, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		elems = append(elems, decode([]byte(strings.TrimPrefix(string(kv.Key), prefix))))
	}
	slices.SortFunc(elems, objects.CompareElements)
	return elems, nil
}

// encode writes integers in decimal and anything else with fmt.
func encode(v any) string {
	if i, ok := v.(int64); ok {
		return strconv.FormatInt(i, 10)
	}
	return fmt.Sprint(v)
}

// decode reads back what encode wrote: integers as int64, the rest as
// strings.
func decode(b []byte) any {
	if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return i
	}
	return string(b)
}

func runID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
