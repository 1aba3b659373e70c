package main

import (
	"encoding/json"
	"strings"
	"testing"

	"consist/checker"
	"consist/recommend"
)

// consist recommend --use answers the design notes' questions: the
// level, what each weaker level lets through, and each database's
// setting.
func TestRecommendUse(t *testing.T) {
	for _, tc := range []struct {
		use  string
		says []string
	}{
		{"transfers", []string{
			"Isolation level: serializable",
			"  - read-committed: lost update (lost-update), write skew (G2-item)",
			"  - snapshot-isolation: write skew (G2-item)",
			"SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
			"MariaDB's REPEATABLE READ (its default) is not Adya's repeatable read",
			"clientv3.ModRevision(\"acct/\")",
			"WATCH acct:A acct:B",
		}},
		{"inventory", []string{
			"Isolation level: cursor-stability",
			"  - read-committed: lost update (lost-update)\n",
			"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;",
			"SELECT stock FROM items WHERE id = ? FOR UPDATE;",
			"EVAL",
		}},
		{"reports", []string{
			"Isolation level: consistent-view",
			"  - read-committed: read skew (G-single)",
			"START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT;",
			"clientv3.WithRev(resp.Header.Revision)",
			"MULTI",
		}},
		{"on-call", []string{
			"Isolation level: serializable",
			"  - snapshot-isolation: write skew (G2-item)",
			"FOR UPDATE;  -- locks the rows",
			"SCARD oncall:shift-7",
		}},
	} {
		code, stdout, stderr := runCLI(t, "recommend", "--use", tc.use)
		if code != exitValid {
			t.Fatalf("recommend --use %s: exit %d\n%s", tc.use, code, stderr)
		}
		for _, s := range tc.says {
			if !strings.Contains(stdout, s) {
				t.Errorf("recommend --use %s does not say %q:\n%s", tc.use, s, stdout)
			}
		}
	}
	code, stdout, _ := runCLI(t, "recommend", "--use", "reports", "--json")
	var a recommend.Advice
	if code != exitValid {
		t.Fatalf("--json: exit %d", code)
	}
	if err := json.Unmarshal([]byte(stdout), &a); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if a.Level != checker.ConsistentView || len(a.Settings) != 3 || len(a.Weaker) == 0 || a.Settings[0].Provides != checker.SnapshotIsolation {
		t.Errorf("--json: %+v", a)
	}
	for _, args := range [][]string{{"recommend", "--use", "payroll"}, {"recommend", "--use", "transfers", "--strong"}, {"recommend", "--use", "transfers", "store/latest"}} {
		if code, _, stderr := runCLI(t, args...); code != exitBad || stderr == "" {
			t.Errorf("%v: exit %d, want %d with a message (%q)", args, code, exitBad, stderr)
		}
	}
}
