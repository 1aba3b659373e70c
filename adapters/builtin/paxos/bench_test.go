package paxos_test

import (
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/paxos"
	"consist/adapters/builtin/simnet"
	"consist/internal/storetest"
	"consist/run/sim"
)

// BenchmarkThroughput drives three nodes with ten clients of the
// register workload, as fast as the store answers, and reports the
// operations a second of wall time, bare and recorded
// (storetest.Throughput): in real time, each node's machine on a
// goroutine of its own and latencies on wall-clock timers, which the
// test TestUnlimitedRate once bounded (hundreds of operations a second);
// and in simulation, where the figure is how fast the machine runs the
// protocol's events, virtual time costing nothing.
func BenchmarkThroughput(b *testing.B) {
	latency := simnet.Uniform(100*time.Microsecond, time.Millisecond)
	for _, mode := range []string{"real-time", "simulated"} {
		b.Run(mode, func(b *testing.B) {
			storetest.Throughput(b, func(testing.TB) adapters.Store {
				cfg := simnet.Config{Nodes: 3, Seed: 2, Latency: latency}
				if mode == "simulated" {
					cfg.Scheduler = sim.New(time.Time{})
				}
				return paxos.New(cfg, paxos.Options{})
			}, 2000)
		})
	}
}
