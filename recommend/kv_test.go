package recommend_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"consist/internal/servertest"
)

// These tests put recommend's etcd and Redis settings to the real
// servers (scripts/servers.sh): the guarded transaction or script stops
// the anomaly, and the unguarded form lets it through. Each interleaving
// is fixed by the test.

const prefix = "consist-recommend-test/"

func etcdClient(t *testing.T) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: servertest.List(t, servertest.EtcdEndpoints), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Delete(context.Background(), prefix, clientv3.WithPrefix())
		c.Close()
	})
	if _, err := c.Delete(t.Context(), prefix, clientv3.WithPrefix()); err != nil {
		t.Fatalf("etcd: %v", err)
	}
	return c
}

func put(t *testing.T, c *clientv3.Client, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if _, err := c.Put(t.Context(), prefix+kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
}

// Inventory on etcd: two orders read a stock of 1; with the ModRevision
// guard only the first sells it, without it both do.
func TestEtcdInventory(t *testing.T) {
	c := etcdClient(t)
	ctx := t.Context()
	for _, guarded := range []bool{false, true} {
		put(t, c, "stock/42", "1")
		type read struct {
			n   int
			rev int64
		}
		var reads [2]read
		for i := range reads {
			r, err := c.Get(ctx, prefix+"stock/42")
			if err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(string(r.Kvs[0].Value))
			reads[i] = read{n, r.Kvs[0].ModRevision}
		}
		sold := 0
		for _, r := range reads {
			txn := c.Txn(ctx)
			if guarded {
				txn = txn.If(clientv3.Compare(clientv3.ModRevision(prefix+"stock/42"), "=", r.rev))
			}
			resp, err := txn.Then(clientv3.OpPut(prefix+"stock/42", strconv.Itoa(r.n-1))).Commit()
			if err != nil {
				t.Fatal(err)
			}
			if resp.Succeeded && r.n >= 1 {
				sold++
			}
		}
		if want := map[bool]int{false: 2, true: 1}[guarded]; sold != want {
			t.Errorf("guarded %v: the last unit was sold %d times, want %d", guarded, sold, want)
		}
	}
}

// The doctors on call on etcd: a compare over the shift's prefix stops
// the second doctor; one guarding only the doctor's own key lets both go
// (write skew).
func TestEtcdOnCall(t *testing.T) {
	c := etcdClient(t)
	ctx := t.Context()
	for _, wholeShift := range []bool{false, true} {
		put(t, c, "oncall/7/alice", "on", "oncall/7/bob", "on")
		var revs [2]int64
		var own [2]int64
		for i, name := range []string{"alice", "bob"} {
			r, err := c.Get(ctx, prefix+"oncall/7/", clientv3.WithPrefix())
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Kvs) != 2 {
				t.Fatalf("%d doctors on the shift", len(r.Kvs))
			}
			revs[i] = r.Header.Revision
			for _, kv := range r.Kvs {
				if string(kv.Key) == prefix+"oncall/7/"+name {
					own[i] = kv.ModRevision
				}
			}
		}
		left := 0
		for i, name := range []string{"alice", "bob"} {
			cmp := clientv3.Compare(clientv3.ModRevision(prefix+"oncall/7/"+name), "=", own[i])
			if wholeShift {
				cmp = clientv3.Compare(clientv3.ModRevision(prefix+"oncall/7/"), "<", revs[i]+1).WithPrefix()
			}
			resp, err := c.Txn(ctx).If(cmp).Then(clientv3.OpPut(prefix+"oncall/7/"+name, "off")).Commit()
			if err != nil {
				t.Fatal(err)
			}
			if resp.Succeeded {
				left++
			}
		}
		if want := map[bool]int{false: 2, true: 1}[wholeShift]; left != want {
			t.Errorf("guard over the whole shift %v: %d doctors left, want %d", wholeShift, left, want)
		}
	}
}

// A report on etcd reads every account at one revision, whatever
// transfers commit between its reads.
func TestEtcdReport(t *testing.T) {
	c := etcdClient(t)
	ctx := t.Context()
	put(t, c, "acct/1/a", "100", "acct/2/b", "100")
	first, err := c.Get(ctx, prefix+"acct/1/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Txn(ctx).Then(clientv3.OpPut(prefix+"acct/1/a", "90"), clientv3.OpPut(prefix+"acct/2/b", "110")).Commit(); err != nil {
		t.Fatal(err)
	}
	total := func(rs ...*clientv3.GetResponse) int {
		n := 0
		for _, r := range rs {
			for _, kv := range r.Kvs {
				v, _ := strconv.Atoi(string(kv.Value))
				n += v
			}
		}
		return n
	}
	skewed, err := c.Get(ctx, prefix+"acct/2/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := c.Get(ctx, prefix+"acct/2/", clientv3.WithPrefix(), clientv3.WithRev(first.Header.Revision))
	if err != nil {
		t.Fatal(err)
	}
	if got := total(first, skewed); got != 210 {
		t.Errorf("reads at two revisions total %d, want the skewed 210", got)
	}
	if got := total(first, pinned); got != 200 {
		t.Errorf("reads at one revision total %d, want 200", got)
	}
}

func redisClient(t *testing.T) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: servertest.Env(t, servertest.RedisPrimary)})
	t.Cleanup(func() {
		c.Del(context.Background(), prefix+"stock", prefix+"oncall", prefix+"a", prefix+"b")
		c.Close()
	})
	return c
}

// Transfers on Redis with WATCH: a transfer whose watched balance changed
// between its read and its EXEC is refused (nil reply), so no debit is
// lost; the Lua scripts of inventory and on-call check and change in one
// step.
func TestRedisSettings(t *testing.T) {
	c := redisClient(t)
	other := redisClient(t)
	ctx := t.Context()
	if err := c.Set(ctx, prefix+"a", 100, 0).Err(); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, prefix+"b", 0, 0)
	transfer := func(r *goredis.Client, between func()) error {
		return r.Watch(ctx, func(tx *goredis.Tx) error {
			a, err := tx.Get(ctx, prefix+"a").Int()
			if err != nil {
				return err
			}
			if between != nil {
				between()
			}
			_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.Set(ctx, prefix+"a", a-30, 0)
				p.IncrBy(ctx, prefix+"b", 30)
				return nil
			})
			return err
		}, prefix+"a", prefix+"b")
	}
	var inner error
	outer := transfer(c, func() { inner = transfer(other, nil) })
	if inner != nil || !errors.Is(outer, goredis.TxFailedErr) {
		t.Fatalf("the transfer inside: %v; the one around it: %v; want the outer refused", inner, outer)
	}
	if a, _ := c.Get(ctx, prefix+"a").Int(); a != 70 {
		t.Fatalf("balance %d after one transfer of 30 went through, want 70", a)
	}

	sell := goredis.NewScript("local n = tonumber(redis.call('GET', KEYS[1])) if n >= tonumber(ARGV[1]) then return redis.call('DECRBY', KEYS[1], ARGV[1]) end return -1")
	c.Set(ctx, prefix+"stock", 1, 0)
	var got []int64
	for range 2 {
		n, err := sell.Run(ctx, c, []string{prefix + "stock"}, 1).Int64()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if got[0] != 0 || got[1] != -1 {
		t.Errorf("two sales of the last unit returned %v, want [0 -1]", got)
	}

	leave := goredis.NewScript("if redis.call('SCARD', KEYS[1]) > 1 then return redis.call('SREM', KEYS[1], ARGV[1]) end return 0")
	c.SAdd(ctx, prefix+"oncall", "alice", "bob")
	for _, name := range []string{"alice", "bob"} {
		if err := leave.Run(ctx, c, []string{prefix + "oncall"}, name).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := c.SCard(ctx, prefix+"oncall").Result(); n != 1 {
		t.Errorf("%d doctors on call after both tried to leave, want 1", n)
	}
}
