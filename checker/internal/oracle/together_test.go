package oracle_test

import (
	"testing"

	"consist/checker"
	"consist/checker/internal/oracle"
	"consist/history"
)

// TestTogetherIsPRAM checks, by brute force on random histories with
// writes, cas (ok, failed and crashed) and reads, the equivalence the
// package doc of checker/session states: PRAM holds exactly when
// read-your-writes, monotonic-reads and monotonic-writes hold together in
// one log per process, no read seeing its process's later writes.
func TestTogetherIsPRAM(t *testing.T) {
	histories := 3000
	if testing.Short() {
		histories = 400
	}
	checked, apart := 0, 0
	corpus(t, 5, histories, func(events []history.Event, h *history.History, opts checker.Options) {
		together, ok, err := oracle.Together(h, opts)
		if err != nil {
			t.Fatalf("oracle: %v\n%s", err, jsonl(events))
		}
		if !ok {
			return
		}
		v, err := oracle.Verdicts(h, opts)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		if (v[checker.PRAM] == checker.Valid) != together {
			t.Fatalf("PRAM %s but the three guarantees together %v (%s):\n%s", v[checker.PRAM], together, describeOpts(opts), jsonl(events))
		}
		if v[checker.PRAM] == checker.Invalid && v[checker.ReadYourWrites] == checker.Valid &&
			v[checker.MonotonicReads] == checker.Valid && v[checker.MonotonicWrites] == checker.Valid {
			apart++
		}
	})
	t.Logf("%d histories: PRAM agreed with the three guarantees together on all; %d of them PRAM-invalid with each guarantee valid apart", checked, apart)
	if apart == 0 {
		t.Error("no random history shows the guarantees apart short of PRAM: the corpus no longer tells the two claims apart")
	}
}

// TestPRAMIsNotTheGuaranteesApart pins histories on which PRAM breaks
// while read-your-writes, monotonic-reads and monotonic-writes each hold
// (each in logs of its own), and which break the three held together.
func TestPRAMIsNotTheGuaranteesApart(t *testing.T) {
	apart := map[checker.Model]checker.Verdict{
		checker.PRAM: I, checker.ReadYourWrites: V, checker.MonotonicReads: V, checker.MonotonicWrites: V,
	}
	seed109, err := history.ReadFile("../../session/testdata/pram-three-guarantees.jsonl", history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		h    *history.History
	}{
		// monotonic-reads' log may put y=2 before y=1; monotonic-writes
		// serves each plain read from a prefix of its own.
		{"one key read back in time", build(t, "1 w y 1", "1 w y 2", "0 r y 2", "0 r y 1")},
		{"one writer's writes out of order", build(t, "0 w x 1", "0 w y 1", "1 r y 1", "1 r x nil")},
		// No guarantee, nor the three together without the last clause,
		// forbids a read of the process's own later write.
		{"a read of the process's own later write", build(t, "0 r x 1", "0 w x 1")},
		// The quorum store's run with seed 109, reduced: p0's cas chain
		// 1850→1882→1888→1915 leaves no room for p1's k3=1889, which
		// p0's read of k4=1916 (written after it) puts before p0's last
		// read k3=1915.
		{"quorum seed 109, reduced", seed109},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oracle.Verdicts(tt.h, checker.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fastGot := fast(tt.h, checker.Options{})
			for m, want := range apart {
				if got[m] != want {
					t.Errorf("%s: oracle %s, want %s", m, got[m], want)
				}
				if fastGot[m].Verdict != want {
					t.Errorf("%s: fast checker %s, want %s", m, describe(fastGot[m]), want)
				}
			}
			if together, ok, err := oracle.Together(tt.h, checker.Options{}); err != nil || !ok || together {
				t.Errorf("the three guarantees together: %v (defined %v, %v), want false", together, ok, err)
			}
		})
	}
}
