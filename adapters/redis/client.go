package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"consist/adapters"
	"consist/history"
)

// client is one process's connections: to the primary, and to the node it
// reads from (the primary itself unless reading from a replica).
type client struct {
	s       *Store
	node    string
	primary *goredis.Client
	reader  *goredis.Client
}

var _ adapters.Client = (*client)(nil)

// casScript compares the register KEYS[1] with the expected value and, if
// they are equal, sets it. ARGV[1] is "1" when a value is expected
// (ARGV[2]) and "0" when the key is expected to be absent; ARGV[3] is the
// new value. It returns {1} when it set the key, and {0, current} (current
// missing when the key is absent) when it did not.
var casScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local match
if ARGV[1] == '1' then match = (cur == ARGV[2]) else match = (cur == false) end
if match then
  redis.call('SET', KEYS[1], ARGV[3])
  return {1}
end
if cur == false then return {0} end
return {0, cur}
`)

// Do performs op; see the package documentation for what its error means.
func (c *client) Do(ctx context.Context, op adapters.Op) (any, error) {
	if op.Kind == adapters.Txn {
		return c.txn(ctx, op)
	}
	key, err := c.key(op)
	if err != nil {
		return nil, err
	}
	switch op.Kind {
	case adapters.Register:
		switch op.F {
		case "read":
			v, err := c.getInt(ctx, op, key)
			if v == nil {
				return nil, err // nil, not an int64 holding nil
			}
			return *v, err
		case "write":
			v, err := intValue(op, "a register's value", op.Value)
			if err != nil {
				return nil, err
			}
			c.s.wrote(key)
			return nil, c.writeErr(op, c.primary.Set(ctx, key, v, 0).Err())
		case "cas":
			return nil, c.cas(ctx, op, key)
		}
	case adapters.Counter:
		switch op.F {
		case "read":
			v, err := c.getInt(ctx, op, key)
			if err != nil {
				return nil, err
			}
			if v == nil {
				return int64(0), nil
			}
			return *v, nil
		case "add":
			delta, err := intValue(op, "a counter's delta", op.Value)
			if err != nil {
				return nil, err
			}
			c.s.wrote(key)
			return nil, c.writeErr(op, c.primary.IncrBy(ctx, key, delta).Err())
		}
	case adapters.Set:
		switch op.F {
		case "read":
			return c.members(ctx, op, key)
		case "add":
			e, err := intValue(op, "a set's element", op.Value)
			if err != nil {
				return nil, err
			}
			c.s.wrote(key)
			return nil, c.writeErr(op, c.primary.SAdd(ctx, key, e).Err())
		}
	default:
		return nil, adapters.NotApplied(fmt.Sprintf("redis: the redis adapter supports register, counter and set objects and transactions, not %s: pick another workload", op.Kind))
	}
	return nil, adapters.NotApplied(fmt.Sprintf("redis: a %s does not support %q", op.Kind, op.F))
}

// key returns the Redis key of op's object.
func (c *client) key(op adapters.Op) (string, error) {
	var k string
	switch key := op.Key.(type) {
	case string:
		k = key
	case int64:
		k = strconv.FormatInt(key, 10)
	case int:
		k = strconv.Itoa(key)
	case nil:
		k = "default"
	default:
		return "", adapters.NotApplied(fmt.Sprintf("redis: keys are strings or integers, not %s", history.Describe(op.Key)))
	}
	return c.s.opts.Prefix + op.Kind.String() + ":" + k, nil
}

// getInt reads the integer at key from the reader; nil means the key is
// absent.
func (c *client) getInt(ctx context.Context, op adapters.Op, key string) (*int64, error) {
	s, err := c.reader.Get(ctx, key).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, c.readErr(op, err)
	}
	n, err := parseInt(op, s)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// members reads the set at key from the reader, sorted.
func (c *client) members(ctx context.Context, op adapters.Op, key string) (any, error) {
	ms, err := c.reader.SMembers(ctx, key).Result()
	if err != nil {
		return nil, c.readErr(op, err)
	}
	out, err := decodeMembers(op, ms)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// decodeMembers turns a set's members, as Redis returns them, into the
// sorted integers this run added.
func decodeMembers(op adapters.Op, ms []string) ([]any, error) {
	var err error
	ns := make([]int64, len(ms))
	for i, m := range ms {
		if ns[i], err = parseInt(op, m); err != nil {
			return nil, err
		}
	}
	slices.Sort(ns)
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out, nil
}

// cas runs casScript on the primary.
func (c *client) cas(ctx context.Context, op adapters.Op, key string) error {
	pair, ok := op.Value.([]any)
	if !ok || len(pair) != 2 {
		return adapters.NotApplied(fmt.Sprintf("redis: cas on %s needs [expected, new], got %s", history.Describe(op.Key), history.Describe(op.Value)))
	}
	expected, present := "", "0"
	if pair[0] != nil {
		v, err := intValue(op, "cas's expected value", pair[0])
		if err != nil {
			return err
		}
		expected, present = strconv.FormatInt(v, 10), "1"
	}
	next, err := intValue(op, "cas's new value", pair[1])
	if err != nil {
		return err
	}
	c.s.wrote(key)
	res, err := casScript.Run(ctx, c.primary, []string{key}, present, expected, next).Slice()
	if err != nil {
		return c.writeErr(op, err)
	}
	if len(res) > 0 && res[0] == int64(1) {
		return nil
	}
	was := "nil (absent)"
	if len(res) > 1 {
		if s, ok := res[1].(string); ok {
			was = s
		}
	}
	return adapters.NotApplied(fmt.Sprintf("cas: value was %s, expected %s", was, describe(pair[0])))
}

// intValue returns v as an int64, or an error that says that what must be
// an integer.
func intValue(op adapters.Op, what string, v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	}
	return 0, adapters.NotApplied(fmt.Sprintf("redis: %s of %s must be an integer, not %s", what, history.Describe(op.Key), history.Describe(v)))
}

// parseInt parses a value read from Redis: an integer in the decimal
// form this run writes, and nothing else (a set holding "1" and "01"
// would otherwise read as holding 1 twice).
func parseInt(op adapters.Op, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != s {
		return 0, adapters.NotApplied(fmt.Sprintf("redis: %s %s holds %q, not an integer as this run writes them: something other than this run wrote it; use a fresh Options.Prefix", op.Kind, history.Describe(op.Key), s))
	}
	return n, nil
}

// readErr wraps the error of a read, which had no effect: it fails.
func (c *client) readErr(op adapters.Op, err error) error {
	return fmt.Errorf("redis: read %s from %s: %w (%w)", history.Describe(op.Key), c.node, err, adapters.ErrNotApplied)
}

// writeErr classifies the error of a write: fail when it certainly did
// nothing, unknown otherwise.
func (c *client) writeErr(op adapters.Op, err error) error {
	if err == nil {
		return nil
	}
	if notSent(err) {
		return fmt.Errorf("redis: %s %s on %s: %w (%w)", op.F, history.Describe(op.Key), c.primary.Options().Addr, err, adapters.ErrNotApplied)
	}
	return fmt.Errorf("redis: %s %s on %s: %w (the write may or may not have taken effect)", op.F, history.Describe(op.Key), c.primary.Options().Addr, err)
}

// notSent reports whether err certainly means a command had no effect:
// Redis answered with an error (a command that errs does nothing; the
// cas script errs only before it writes), or the command was never sent
// (no connection could be made, or the client is closed).
func notSent(err error) bool {
	var redisErr goredis.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &redisErr):
		return true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return true
	case errors.Is(err, goredis.ErrClosed), errors.Is(err, goredis.ErrPoolTimeout), errors.Is(err, goredis.ErrPoolExhausted):
		return true
	}
	return false
}

// Close closes the client's connections.
func (c *client) Close() error {
	c.s.clients.Remove(c)
	return c.close()
}

func (c *client) close() error {
	err := c.primary.Close()
	if c.reader != c.primary {
		err = errors.Join(err, c.reader.Close())
	}
	if errors.Is(err, goredis.ErrClosed) {
		return nil
	}
	return err
}

// describe renders a register's value for messages: nil is an absent
// register.
func describe(v any) string {
	if v == nil {
		return "nil (absent)"
	}
	return history.Describe(v)
}
