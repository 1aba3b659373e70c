package mvcc_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin"
	"consist/adapters/builtin/mvcc"
	"consist/adapters/builtin/simnet"
	"consist/internal/storetest"
	"consist/workloads"
	"consist/workloads/runner"
)

// counting wraps a store and counts the micro-ops of the transactions
// that commit.
type counting struct {
	adaptersStore
	mops *atomic.Int64
}

type adaptersStore = interface {
	adapters.Store
	adapters.Holder
}

func (c counting) Open(ctx context.Context, node string) (adapters.Client, error) {
	cl, err := c.adaptersStore.Open(ctx, node)
	return countingClient{cl, c.mops}, err
}

type countingClient struct {
	adapters.Client
	mops *atomic.Int64
}

func (c countingClient) Do(ctx context.Context, op adapters.Op) (any, error) {
	v, err := c.Client.Do(ctx, op)
	if err == nil {
		if mops, ok := op.Value.([]adapters.MicroOp); ok {
			c.mops.Add(int64(len(mops)))
		}
	}
	return v, err
}

// BenchmarkListAppend drives each level of the mvcc store in process
// with Elle's list-append workload (16 clients, 8 keys, as fast as the
// store answers) through the runner, alternating a run that records
// nothing with one that writes the history to a file as consist run
// does, and reports the throughput of each side by side: transactions
// (committed or not) and committed micro-ops per second. The store's
// statement delay (mvcc.DefaultStatement, the client's round trip
// between statements) bounds both; mvcc-no-delay runs repeatable-read
// without it, for the engine's own cost.
func BenchmarkListAppend(b *testing.B) {
	const txns = 5000
	for _, name := range []string{"mvcc-read-committed", "mvcc", "mvcc-serializable", "mvcc-snapshot-isolation", "mvcc-no-delay"} {
		b.Run(name, func(b *testing.B) {
			s, err := builtin.Lookup(strings.TrimSuffix(name, "-no-delay"))
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasSuffix(name, "-no-delay") {
				// The engine's own cost: no delay between statements.
				s.New = func(cfg simnet.Config) *simnet.Network {
					return mvcc.New(cfg, mvcc.Options{Level: mvcc.RepeatableRead, Statement: simnet.Fixed(0)})
				}
			}
			wl, err := workloads.New("list-append", workloads.Options{Keys: 8})
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			runOnce := func(out io.Writer) (time.Duration, int64) {
				var mops atomic.Int64
				cfg := runner.Config{Store: counting{s.Open(1), &mops}, Workload: wl, Clients: 16, Ops: txns, Seed: 1}
				return storetest.TimedRun(b, cfg, out), mops.Load()
			}
			var bare, recorded time.Duration
			var bareMops, recMops int64
			for b.Loop() {
				d, m := runOnce(nil)
				bare, bareMops = bare+d, bareMops+m
				f, err := os.Create(filepath.Join(dir, "history.jsonl"))
				if err != nil {
					b.Fatal(err)
				}
				d, m = runOnce(f)
				recorded, recMops = recorded+d, recMops+m
				f.Close()
			}
			n := float64(b.N) * txns
			b.ReportMetric(n/bare.Seconds(), "bare-txn/s")
			b.ReportMetric(n/recorded.Seconds(), "recorded-txn/s")
			b.ReportMetric(float64(bareMops)/bare.Seconds(), "bare-mops/s")
			b.ReportMetric(float64(recMops)/recorded.Seconds(), "recorded-mops/s")
			b.ReportMetric(100*(recorded.Seconds()/bare.Seconds()-1), "overhead-%")
		})
	}
}
