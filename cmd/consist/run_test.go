package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"consist/cluster"
	"consist/history"
)

// TestRunWritesACheckedHistory runs the single store and checks the run's
// folder: the history reads back with every operation, results.json holds
// the verdicts, and latest points at the run.
func TestRunWritesACheckedHistory(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--store", "single", "--ops", "600", "--rate", "0", "--clients", "4", "--store-dir", dir)
	if code != exitValid {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Strongest models that hold: linearizable") {
		t.Fatalf("the report does not say the baseline is linearizable:\n%s", stdout)
	}
	latest := filepath.Join(dir, "latest")
	h, err := history.ReadFile(filepath.Join(latest, "history.jsonl"), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) != 600+4*5 {
		t.Fatalf("the history holds %d operations, want 600 and a final read of each of 5 keys by each of 4 clients", len(h.Ops))
	}
	data, err := os.ReadFile(filepath.Join(latest, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var results []struct {
		Ops     int `json:"ops"`
		Results []struct {
			Model, Verdict string
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	var summary struct {
		Store string
		OK    int64
		Seed  uint64
	}
	if data, err := os.ReadFile(filepath.Join(latest, "run.json")); err != nil || json.Unmarshal(data, &summary) != nil {
		t.Fatalf("run.json: %v: %s", err, data)
	}
	if summary.Store != "single" || summary.Seed != 1 || summary.OK == 0 {
		t.Fatalf("run.json does not describe the run: %+v", summary)
	}
	if len(results) != 1 || results[0].Ops != 620 || len(results[0].Results) == 0 || results[0].Results[0].Verdict != "valid" {
		t.Fatalf("results.json does not hold the run's verdicts: %s", data)
	}
}

func TestRunRejectsUnknownStore(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "--store", "nosuch", "--store-dir", t.TempDir())
	if code != exitBad || !strings.Contains(stderr, "use one of [") {
		t.Fatalf("exit %d, stderr %q; want 3 and the stores to use", code, stderr)
	}
}

// childArgs, set in the environment of a re-executed test binary, makes it
// run consist with these arguments (separated by newlines) instead of the
// tests.
const childArgs = "CONSIST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if os.Getenv(cluster.GuardEnv) != "" { // the guardian of a run's cluster
		os.Exit(runGuard(os.Stdin, os.Stdout, os.Stderr))
	}
	if args := os.Getenv(childArgs); args != "" {
		os.Exit(run(signalContext(), strings.Split(args, "\n"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// startConsist runs consist with args in a child process and waits until
// its history holds at least minBytes.
func startConsist(t *testing.T, storeDir string, minBytes int64, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join(args, "\n"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	// Wait for the child's history to grow; it is another process, so
	// there is nothing to synchronise on but the file.
	deadline := time.Now().Add(30 * time.Second)
	for {
		matches, _ := filepath.Glob(filepath.Join(storeDir, "*", "*", "history.jsonl"))
		if len(matches) == 1 {
			if info, err := os.Stat(matches[0]); err == nil && info.Size() >= minBytes {
				return cmd, &out
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child's history did not reach %d bytes in 30s; it said:\n%s", minBytes, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKilledRunLeavesACheckableHistory kills a running consist with
// SIGKILL: consist check must read what it left, torn last line and open
// invocations included.
func TestKilledRunLeavesACheckableHistory(t *testing.T) {
	dir := t.TempDir()
	cmd, out := startConsist(t, dir, 200_000, "run", "--store", "single", "--nemesis", "none", "--duration", "0", "--rate", "0", "--store-dir", dir)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	code, stdout, stderr := runCLI(t, "check", filepath.Join(dir, "latest", "history.jsonl"))
	if code != exitValid {
		t.Fatalf("check of a killed run's history: exit %d\nstdout:\n%s\nstderr:\n%s\nthe run said:\n%s", code, stdout, stderr, out)
	}
}

// TestInterruptedRunHealsAndChecks interrupts a run with faults in force,
// as Ctrl-C does: consist heals, checks what was recorded, writes the
// results and exits with the verdict.
func TestInterruptedRunHealsAndChecks(t *testing.T) {
	dir := t.TempDir()
	cmd, out := startConsist(t, dir, 60_000, "run", "--store", "single", "--nemesis", "pause,kill", "--nemesis-interval", "20ms", "--op-timeout", "50ms", "--duration", "0", "--store-dir", dir)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitValid {
		t.Fatalf("an interrupted run exited %d (%v); it said:\n%s", code, err, out)
	}
	if !strings.Contains(out.String(), "interrupted: faults healed") {
		t.Fatalf("the run does not say it was interrupted:\n%s", out)
	}
	h, err := history.ReadFile(filepath.Join(dir, "latest", "history.jsonl"), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	started, healed := 0, 0
	for _, e := range h.Events {
		if e.Process == history.Nemesis {
			if strings.HasPrefix(e.F, "start-") {
				started++
			} else {
				healed++
			}
		}
	}
	if started == 0 || started != healed {
		t.Fatalf("%d faults started, %d healed; want some, all healed", started, healed)
	}
	if _, err := os.Stat(filepath.Join(dir, "latest", "results.json")); err != nil {
		t.Fatalf("no results after an interrupt: %v", err)
	}
}

func TestRunMix(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--store", "single", "--nemesis", "none", "--mix", "0:1:0", "--ops", "200", "--rate", "0", "--store-dir", dir)
	if code != exitValid {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	h, err := history.ReadFile(filepath.Join(dir, "latest", "history.jsonl"), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range h.Ops[:200] {
		if op.F != "write" {
			t.Fatalf("a mix of 0:1:0 drew a %s", op.F)
		}
	}
	for _, bad := range []string{"1", "1:x:1", "1:-1:0", "1:1:1:1"} {
		if code, _, stderr := runCLI(t, "run", "--mix", bad, "--store-dir", dir); code != exitBad || !strings.Contains(stderr, "--mix") {
			t.Errorf("--mix %s: exit %d, stderr %q; want 3 naming --mix", bad, code, stderr)
		}
	}
}

func TestRecommendReadsARunFolder(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "run", "--store", "single", "--nemesis", "none", "--ops", "300", "--rate", "0", "--store-dir", dir); code != exitValid {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "recommend", filepath.Join(dir, "latest"))
	if code != exitValid || !strings.Contains(stdout, "single delivered: linearizable") || !strings.Contains(stdout, "the run agrees") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "recommend", "--strong")
	if code != exitValid || !strings.Contains(stdout, "Recommended: linearizable") || !strings.Contains(stdout, "consist run --store paxos") {
		t.Fatalf("recommend --strong: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "recommend", t.TempDir()); code != exitBad || !strings.Contains(stderr, "not a run folder") {
		t.Fatalf("a folder without results: exit %d, %s", code, stderr)
	}
}

// TestRunMVCCAtAnIsolationLevel runs the mvcc store at snapshot
// isolation: write skew breaks serializability (exit 1), snapshot
// isolation holds, and run.json records the level the store ran at and
// a command that reproduces it.
func TestRunMVCCAtAnIsolationLevel(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--store", "mvcc", "--isolation", "snapshot-isolation", "--workload", "list-append",
		"--nemesis", "none", "--ops", "1500", "--rate", "0", "--clients", "8", "--keys", "3", "--store-dir", dir)
	if code != exitInvalid {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Strongest models that hold: strong-snapshot-isolation") {
		t.Fatalf("the report does not find snapshot isolation:\n%s", stdout)
	}
	var rec struct {
		Store   string
		Flags   map[string]string
		Command []string
	}
	data, err := os.ReadFile(filepath.Join(dir, "latest", "run.json"))
	if err != nil || json.Unmarshal(data, &rec) != nil {
		t.Fatalf("run.json: %v: %s", err, data)
	}
	if rec.Store != "mvcc-snapshot-isolation" || rec.Flags["isolation"] != "snapshot-isolation" || !slices.Contains(rec.Command, "--isolation=snapshot-isolation") {
		t.Fatalf("run.json does not record the level: %s", data)
	}
}

// TestRunTransactions runs paxos with list-append, as the README shows,
// with the transaction flags: every operation is a transaction of at
// most --max-txn-length micro-ops, no key takes more than
// --max-writes-per-key appends, and the report gives the transactional
// verdicts, strict-serializable holding.
func TestRunTransactions(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--store", "paxos", "--workload", "list-append", "--nemesis", "kill", "--nemesis-interval", "200ms",
		"--ops", "600", "--rate", "0", "--clients", "4", "--max-txn-length", "3", "--max-writes-per-key", "5", "--store-dir", dir)
	if code != exitValid {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"strict-serializable", "snapshot-isolation", "read-committed", "Strongest models that hold: strict-serializable"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("the report does not say %q:\n%s", want, stdout)
		}
	}
	h, err := history.ReadFile(filepath.Join(dir, "latest", "history.jsonl"), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	appends := map[any]int{}
	for _, op := range h.Ops[:600] {
		mops, _ := op.Input.([]any)
		if op.F != "txn" || len(mops) < 1 || len(mops) > 3 {
			t.Fatalf("operation %+v: want a transaction of 1 to 3 micro-ops", op)
		}
		for _, m := range mops {
			if m := m.([]any); m[0] == "append" {
				appends[m[1]]++
			}
		}
	}
	for k, n := range appends {
		if n > 5 {
			t.Fatalf("key %v took %d appends, more than --max-writes-per-key 5", k, n)
		}
	}
	if len(appends) < 20 {
		t.Fatalf("appends went to %d keys: keys are not retired", len(appends))
	}
}
