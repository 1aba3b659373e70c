package run_test

import (
	"crypto/sha256"
	"os"
	"strconv"
	"testing"
	"time"

	"consist/adapters/builtin"
	"consist/nemesis"
	"consist/run"
	"consist/workloads"
)

// simulated runs store under every fault for a few seconds of virtual
// time and returns the history file's bytes and the result.
func simulated(t *testing.T, store, workload string, d time.Duration) ([]byte, run.Result) {
	t.Helper()
	wl, err := workloads.New(workload, workloads.Options{Keys: 5})
	if err != nil {
		t.Fatal(err)
	}
	res, err := run.Run(t.Context(), run.Config{Store: store, Workload: wl, Clients: 5, Duration: d, Seed: 7,
		Faults: nemesis.Kinds(), Interval: 300 * time.Millisecond, OpTimeout: time.Second, Quiesce: 200 * time.Millisecond,
		Dir: t.TempDir(), NoCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(res.HistoryPath())
	if err != nil {
		t.Fatal(err)
	}
	return data, res
}

// TestSimulationReproduces runs every bundled store twice with one seed,
// under every kind of fault: the two histories are the same bytes, times
// included, and virtual time covered the run's duration.
func TestSimulationReproduces(t *testing.T) {
	for _, s := range builtin.Stores() {
		t.Run(s.Name, func(t *testing.T) {
			workload := s.Profile.AllRuns()[0].Workload
			const d = 3 * time.Second
			first, res := simulated(t, s.Name, workload, d)
			second, _ := simulated(t, s.Name, workload, d)
			if res.Record.Simulation == nil {
				t.Fatalf("run.json of a bundled store's run records no simulation: %+v", res.Record)
			}
			if res.Elapsed < d {
				t.Errorf("the simulation covered %v of virtual time; the run lasts %v", res.Elapsed, d)
			}
			if res.OK == 0 {
				t.Errorf("no operation succeeded in %v of %s under every fault: %d fail, %d info", d, s.Name, res.Fail, res.Info)
			}
			if a, b := sha256.Sum256(first), sha256.Sum256(second); a != b {
				t.Fatalf("two runs with seed 7 differ: sha256 %x and %x (%d and %d bytes); first difference:\n%s", a[:6], b[:6], len(first), len(second), firstDiff(first, second))
			}
		})
	}
}

// BenchmarkSimulatedPaxos runs 10 s of simulated time of paxos under
// partitions and kills, unchecked: the target is well under 1 s of wall
// time per run.
func BenchmarkSimulatedPaxos(b *testing.B) {
	wl, err := workloads.New("register", workloads.Options{Keys: 5})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := run.Run(b.Context(), run.Config{Store: "paxos", Workload: wl, Duration: 10 * time.Second, Rate: 1000, Seed: 1,
			Faults: []nemesis.Kind{nemesis.Partition, nemesis.Kill}, OpTimeout: 2 * time.Second, Quiesce: 500 * time.Millisecond, NoCheck: true})
		if err != nil {
			b.Fatal(err)
		}
		if res.Elapsed < 10*time.Second {
			b.Fatalf("simulated %v, want 10s", res.Elapsed)
		}
		b.ReportMetric(res.Wall.Seconds(), "wall-s/run")
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b []byte) string {
	line := 1
	start := 0
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			end := func(x []byte) string {
				j := i
				for j < len(x) && x[j] != '\n' {
					j++
				}
				return string(x[start:j])
			}
			return "line " + strconv.Itoa(line) + ":\n  " + end(a) + "\n  " + end(b)
		}
		if a[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return "one is a prefix of the other"
}
