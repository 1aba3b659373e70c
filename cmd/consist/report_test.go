package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consist/internal/browsertest"
	"consist/internal/txngen"
	"consist/run/folder"
)

// TestCheckReport writes the HTML report of a checked file with --report:
// report.html in the folder named, holding the verdicts and the anomaly,
// and the exit code is the verdicts' as ever.
func TestCheckReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runCLI(t, "check", "--report", dir, "../../examples/register-stale-read.jsonl")
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d: %s", code, exitInvalid, stderr)
	}
	page, err := os.ReadFile(filepath.Join(dir, folder.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`class="verdicts"`, `class="anomaly"`, "stale-read", `id="timeline"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if !strings.Contains(stderr, "report written to") {
		t.Errorf("check does not say where the report is: %s", stderr)
	}
}

// TestRunReportsInBrowser makes the kinds of report the issue asks to
// look at and opens each in headless Chromium: a paxos run, an eventual
// run under partitions and a transactional run of paxos-local-read (whose
// local read-only transactions make real-time cycles), report.html in
// their run folders; and a generated transactional history at read
// committed, whose cycles check --report draws. Each loads with no console error and shows its verdict table,
// timeline and plots; a screenshot of each is written to
// $CONSIST_SCREENSHOTS or the test's folder.
func TestRunReportsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("three runs and a browser: not in -short")
	}
	shots := os.Getenv("CONSIST_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	b := browsertest.Start(t)
	store := t.TempDir()
	txnFile := filepath.Join(t.TempDir(), "list-append-read-committed.jsonl")
	if _, err := txngen.WriteFile(context.Background(), txnFile, txngen.Config{Seed: 4, Txns: 400, Processes: 6, Keys: 4, Isolation: txngen.ReadCommitted}); err != nil {
		t.Fatal(err)
	}
	txnDir := t.TempDir()
	for _, c := range []struct {
		name      string
		args      []string
		page      string
		anomalies bool
	}{
		{"paxos-run", []string{"run", "--store", "paxos", "--ops", "1500", "--clients", "5", "--nemesis", "partition,kill", "--nemesis-interval", "150ms", "--store-dir", filepath.Join(store, "paxos")},
			filepath.Join(store, "paxos", "latest", folder.ReportFile), false},
		{"eventual-partitions-run", []string{"run", "--store", "eventual", "--ops", "1500", "--clients", "5", "--nemesis", "partition", "--nemesis-interval", "150ms", "--store-dir", filepath.Join(store, "eventual")},
			filepath.Join(store, "eventual", "latest", folder.ReportFile), true},
		{"txn-paxos-local-read-run", []string{"run", "--store", "paxos-local-read", "--workload", "list-append", "--ops", "1500", "--clients", "5", "--nemesis", "partition", "--nemesis-interval", "200ms", "--store-dir", filepath.Join(store, "txn")},
			filepath.Join(store, "txn", "latest", folder.ReportFile), true},
		{"txn-read-committed", []string{"check", "--report", txnDir, txnFile}, filepath.Join(txnDir, folder.ReportFile), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code == exitBad {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			p := b.Open(t, c.page)
			if p.Count("table.verdicts tbody tr") == 0 || p.Count("#timeline .op") == 0 || p.Count("#plots svg.plot") != 2 {
				t.Errorf("%d verdict rows, %d operations in the timeline, %d plots", p.Count("table.verdicts tbody tr"), p.Count("#timeline .op"), p.Count("#plots svg.plot"))
			}
			if c.anomalies {
				if p.Count("li.anomaly") == 0 {
					t.Fatalf("no anomaly listed; the check said:\n%s", stdout)
				}
				p.Click("li.anomaly .anomaly-head .kind", 0)
				p.WaitFor(`document.querySelectorAll('.op.hl').length > 0`, 5*time.Second)
			}
			// Draw what the page leaves undrawn until scrolled to, for the
			// full-page shot.
			p.Do(`document.querySelectorAll('.window, li.anomaly, #plots figure, #staleness').forEach(e => e.style.contentVisibility = 'visible'); window.scrollTo(0, 0)`)
			p.Screenshot(filepath.Join(shots, c.name+".png"))
			for _, m := range p.Errors() {
				t.Errorf("console: %s", m)
			}
		})
	}
}

// TestRunWritesReport checks that a run leaves report.html in its folder,
// naming the store and holding the verdicts and the timeline.
func TestRunWritesReport(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--store", "single", "--ops", "200", "--rate", "0", "--clients", "3", "--nemesis", "none", "--store-dir", dir)
	if code != exitValid {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	page, err := os.ReadFile(filepath.Join(dir, "latest", folder.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<td>single</td>", `class="verdicts"`, `class="op ok"`, "holds:</b> linearizable"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
