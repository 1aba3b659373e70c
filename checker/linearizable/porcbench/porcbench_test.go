package porcbench

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"consist/checker"
	"consist/checker/linearizable/reggen"
	"consist/history"
)

// Porcupine, given consist's semantics, finds the generator's verdicts.
func TestCheckFindsKnownVerdicts(t *testing.T) {
	for seed := range uint64(20) {
		g, err := reggen.Generate(reggen.Config{Seed: seed, Processes: 3, Ops: 80, Keys: 2, CrashRate: 0.05, Invalid: seed%2 == 1})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Check(g.History, nil, checker.NilReadAuto, 10*time.Second)
		want := map[bool]porcupine.CheckResult{true: porcupine.Ok, false: porcupine.Illegal}[g.Linearizable]
		if err != nil || got != want {
			t.Errorf("seed %d (%s): %v, %v; want %v", seed, g.Violation, got, err, want)
		}
	}
}

func TestUnsupported(t *testing.T) {
	h, err := history.New("mutex", []history.Event{
		{Type: history.Invoke, Process: 0, F: "acquire", Time: history.NoTime},
		{Type: history.OK, Process: 0, F: "acquire", Time: history.NoTime, Index: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(h, nil, checker.NilReadAuto, time.Second); err == nil {
		t.Error("a mutex history was accepted")
	}
}

func TestMeasure(t *testing.T) {
	var keep []byte
	m := Measure(func() { keep = make([]byte, 8<<20) })
	if m.Allocated < 8<<20 || len(keep) == 0 {
		t.Errorf("allocated %d, want at least 8 MiB", m.Allocated)
	}
}
