package mysql

import (
	"database/sql"
	"os"
	"strconv"
	"testing"

	"consist/checker/txn"
	"consist/internal/txntest"
)

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	n, _ := strconv.Atoi(os.Getenv("EXPLORE_TXNS"))
	wl := txntest.Workload(os.Getenv("EXPLORE_WL"))
	for _, level := range []sql.IsolationLevel{sql.LevelReadUncommitted, sql.LevelReadCommitted, sql.LevelRepeatableRead, sql.LevelSerializable} {
		if l := os.Getenv("EXPLORE_LEVEL"); l != "" && l != level.String() {
			continue
		}
		for seed := uint64(1); seed <= 2; seed++ {
			s := newStore(t, Options{Isolation: level})
			r := txntest.Run(t, s, txntest.Plan{Workload: wl, Clients: atoi("EXPLORE_CLIENTS", 10), Txns: n, Seed: seed, Keys: atoi("EXPLORE_KEYS", 0), MaxLen: atoi("EXPLORE_LEN", 0)})
			t.Logf("%s seed %d: %s", level, seed, r.Summary())
			for _, m := range (txn.Checker{}).Models() {
				t.Logf("   %s: %s %v", m, r.Verdict(m), r.Forbidden(m))
			}
			if os.Getenv("EXPLORE_W") != "" {
				for _, k := range r.Kinds() {
					t.Logf("   %s: %s", k, r.Witness(k))
				}
			}
		}
	}
}

func atoi(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}
