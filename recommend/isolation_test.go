package recommend_test

import (
	"slices"
	"strings"
	"testing"

	"consist/checker"
	"consist/recommend"
)

// The level of each design-notes question follows from its hazards
// through the taxonomy: transfers and the doctors on call need
// serializability (write skew, phantoms), inventory only cursor
// stability (the lost update on one row), reports one consistent view.
func TestIsolationLevels(t *testing.T) {
	want := map[string]checker.Model{
		"transfers": checker.Serializable,
		"inventory": checker.CursorStability,
		"reports":   checker.ConsistentView,
		"on-call":   checker.Serializable,
	}
	if got := recommend.UseCaseNames(); !slices.Equal(got, []string{"transfers", "inventory", "reports", "on-call"}) {
		t.Fatalf("use cases %v", got)
	}
	for name, level := range want {
		a, err := recommend.Isolation(name)
		if err != nil {
			t.Fatal(err)
		}
		if a.Level != level {
			t.Errorf("%s: level %s, want %s", name, a.Level, level)
		}
	}
	if _, err := recommend.Isolation("payroll"); err == nil || !strings.Contains(err.Error(), "transfers, inventory, reports, on-call") {
		t.Errorf("an unknown use case: %v", err)
	}
}

// allows returns the names of the hazards a weaker level lets through.
func allows(a recommend.Advice, m checker.Model) []string {
	for _, w := range a.Weaker {
		if w.Model == m {
			var out []string
			for _, h := range w.Allows {
				out = append(out, h.Name)
			}
			return out
		}
	}
	return nil
}

// What each weaker level lets through is the textbook answer: read
// committed loses updates, snapshot isolation allows write skew but no
// lost update, repeatable read (Adya's, with item locks) lets only the
// phantom through, and read committed lets a report see read skew.
func TestWeakerLevelsSayWhatTheyAllow(t *testing.T) {
	transfers, _ := recommend.Isolation("transfers")
	for _, tc := range []struct {
		a         recommend.Advice
		level     checker.Model
		want, not []string
	}{
		{transfers, checker.ReadCommitted, []string{"lost update", "write skew"}, []string{"dirty read"}},
		{transfers, checker.SnapshotIsolation, []string{"write skew", "write skew over a predicate (phantom)"}, []string{"lost update", "dirty read"}},
		{transfers, checker.RepeatableRead, []string{"write skew over a predicate (phantom)"}, []string{"lost update", "write skew"}},
		{transfers, checker.ReadUncommitted, []string{"dirty read", "lost update"}, nil},
	} {
		got := allows(tc.a, tc.level)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s at %s allows %v, want %q among them", tc.a.Name, tc.level, got, w)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(got, w) {
				t.Errorf("%s at %s allows %v, not %q", tc.a.Name, tc.level, got, w)
			}
		}
	}
	inventory, _ := recommend.Isolation("inventory")
	if got := allows(inventory, checker.ReadCommitted); !slices.Equal(got, []string{"lost update"}) {
		t.Errorf("inventory at read-committed allows %v, want lost update", got)
	}
	for _, w := range inventory.Weaker {
		if w.Model == checker.SnapshotIsolation || w.Model == checker.RepeatableRead {
			t.Errorf("inventory: %s is listed as too weak, but it rules out lost update", w.Model)
		}
	}
	reports, _ := recommend.Isolation("reports")
	if got := allows(reports, checker.ReadCommitted); !slices.Equal(got, []string{"read skew"}) {
		t.Errorf("reports at read-committed allow %v, want read skew", got)
	}
	onCall, _ := recommend.Isolation("on-call")
	if got := allows(onCall, checker.SnapshotIsolation); !slices.Contains(got, "write skew") {
		t.Errorf("on-call at snapshot-isolation allows %v, want write skew", got)
	}
}

// Every hazard is forbidden by the level and let through by some weaker
// named level (none is there for show), and every setting provides at
// least the level, for MariaDB, etcd and Redis, with the mechanism each
// needs: an isolation level (and FOR UPDATE where a lower one is named)
// for MariaDB, mod-revision guards for etcd, WATCH or a script for Redis.
func TestSettingsProvideTheLevel(t *testing.T) {
	for _, u := range recommend.UseCases() {
		a, err := recommend.Isolation(u.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range a.Hazards {
			if !slices.Contains(h.Kind.RulesOut(), a.Level) {
				t.Errorf("%s: %s does not rule out %s", u.Name, a.Level, h.Kind)
			}
			let := false
			for _, w := range a.Weaker {
				for _, x := range w.Allows {
					let = let || x.Kind == h.Kind
				}
			}
			if !let {
				t.Errorf("%s: no weaker level lets %s through", u.Name, h.Name)
			}
			if h.Example == "" {
				t.Errorf("%s: %s has no example", u.Name, h.Name)
			}
		}
		var dbs []string
		for _, s := range a.Settings {
			dbs = append(dbs, s.Database)
			if !checker.Implies(s.Provides, a.Level) {
				t.Errorf("%s: %s provides %s, which does not imply %s", u.Name, s.Database, s.Provides, a.Level)
			}
			steps := strings.Join(s.Steps, "\n")
			switch s.Database {
			case "MariaDB":
				if !strings.Contains(steps, "SET SESSION TRANSACTION ISOLATION LEVEL ") {
					t.Errorf("%s: MariaDB steps set no isolation level:\n%s", u.Name, steps)
				}
				if s.Provides != checker.Serializable && s.Provides != checker.SnapshotIsolation && !strings.Contains(steps, "FOR UPDATE") && !strings.Contains(steps, "AND stock >=") {
					t.Errorf("%s: MariaDB below serializable without FOR UPDATE:\n%s", u.Name, steps)
				}
			case "etcd":
				if u.Name != "reports" && !strings.Contains(steps, "ModRevision") {
					t.Errorf("%s: etcd steps without a mod-revision guard:\n%s", u.Name, steps)
				}
			case "Redis":
				if !strings.Contains(steps, "WATCH") && !strings.Contains(steps, "EVAL") && !strings.Contains(steps, "MULTI") {
					t.Errorf("%s: Redis steps with neither WATCH, MULTI nor a script:\n%s", u.Name, steps)
				}
			}
		}
		if !slices.Equal(dbs, []string{"MariaDB", "etcd", "Redis"}) {
			t.Errorf("%s: settings for %v, want MariaDB, etcd, Redis", u.Name, dbs)
		}
	}
}
