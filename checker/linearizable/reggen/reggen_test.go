package reggen

import (
	"bytes"
	"testing"

	"consist/history"
)

func events(t *testing.T, cfg Config) (Generated, string) {
	t.Helper()
	g, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := history.WriteJSONL(&b, g.History.Events); err != nil {
		t.Fatal(err)
	}
	return g, b.String()
}

// The same Config gives the same history, and Invalid injects one
// violation, named, into an otherwise unchanged shape.
func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 9, Processes: 8, Ops: 400, Keys: 2, CrashRate: 0.05, CAS: 0.3}
	g1, a := events(t, cfg)
	_, b := events(t, cfg)
	if a != b {
		t.Fatal("same config, different histories")
	}
	if !g1.Linearizable || g1.Violation != "" || len(g1.History.Ops) != 400 {
		t.Fatalf("valid history: %+v", g1)
	}
	cfg.Invalid = true
	g2, _ := events(t, cfg)
	if g2.Linearizable || g2.Violation == "" || len(g2.Ops) == 0 {
		t.Fatalf("invalid history: linearizable %v, violation %q, ops %v", g2.Linearizable, g2.Violation, g2.Ops)
	}
}

// Every kind of violation turns up over a few seeds.
func TestEveryViolation(t *testing.T) {
	seen := map[string]bool{}
	for seed := range uint64(200) {
		g, _ := events(t, Config{Seed: seed, Processes: 3, Ops: 60, Keys: 1, CrashRate: 0.05, CAS: 0.4, Invalid: true})
		seen[g.Violation] = true
	}
	for _, kind := range []string{StaleRead, StaleCAS, FutureRead, UnwrittenRead, LostUpdate, FlipFlop} {
		if !seen[kind] {
			t.Errorf("no %s in 200 histories (saw %v)", kind, seen)
		}
	}
}

func TestBadConfig(t *testing.T) {
	if _, err := Generate(Config{CAS: 2}); err == nil {
		t.Error("CAS share 2 accepted")
	}
	if _, err := Generate(Config{CrashRate: -1}); err == nil {
		t.Error("negative crash rate accepted")
	}
}
