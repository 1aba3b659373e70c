package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"consist/adapters"
	"consist/adapters/builtin"
	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/sequential"
	"consist/checker/suite"
	"consist/history"
	"consist/run/folder"
	"consist/workloads"
)

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "--version")
	if code != exitValid || !strings.HasPrefix(out, "consist ") || !strings.Contains(out, "revision") {
		t.Fatalf("--version: exit %d, %q", code, out)
	}
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-04T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionOf(info), "v1.2.3 (revision abc123, 2026-12-04T00:00:00Z, modified, go1.26.8)"; got != want {
		t.Fatalf("versionOf = %q, want %q", got, want)
	}
	if got := versionOf(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}); got != "devel (revision unknown, go1.26.8)" {
		t.Fatalf("versionOf without VCS = %q", got)
	}
}

func runWithStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runIO(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckReadsStandardInput(t *testing.T) {
	data, err := os.ReadFile("../../examples/register-stale-read.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runWithStdin(t, string(data), "check", "-")
	if code != exitInvalid || !strings.Contains(out, "standard input (jsonl, 5 operations") || !strings.Contains(out, "stale-read") {
		t.Fatalf("check -: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runWithStdin(t, string(data), "check", "-", "-"); code != exitBad || !strings.Contains(errOut, "read once") {
		t.Fatalf("check - -: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runWithStdin(t, "", "check", "-"); code != exitBad || !strings.Contains(errOut, "standard input") {
		t.Fatalf("check - of nothing: exit %d, %s", code, errOut)
	}
}

// TestCheckRunFolder: a run folder is checked with its run's settings
// (here, models and an initial value the history needs), unless flags say
// otherwise.
func TestCheckRunFolder(t *testing.T) {
	dir := t.TempDir()
	hist := `{"type":"invoke","process":0,"f":"read","value":null}
{"type":"ok","process":0,"f":"read","value":0}
{"type":"invoke","process":1,"f":"write","value":1}
{"type":"ok","process":1,"f":"write","value":1}
`
	rec := `{"store":"single","workload":"register","nemesis":"none","clients":2,"keys":1,"rate":0,"seed":1,"models":["linearizable","sequential"],"initial":0,"started":"2026-12-04T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte(hist), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "check", dir)
	if code != exitValid || !strings.Contains(out, filepath.Join(dir, "history.jsonl")) || strings.Contains(out, "causal") {
		t.Fatalf("check RUN-FOLDER: exit %d, want 0 checking linearizable and sequential alone\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "check", "--initial", "null", dir); code != exitInvalid {
		t.Fatalf("--initial null overrides the run's 0: exit %d, want 1\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "check", "--model", "PRAM", dir); code != exitValid || !strings.Contains(out, "PRAM") || strings.Contains(out, "sequential") {
		t.Fatalf("--model overrides the run's models: exit %d\n%s", code, out)
	}
	empty := t.TempDir()
	if code, _, errOut := runCLI(t, "check", empty); code != exitBad || !strings.Contains(errOut, "is a directory, not a history: give a history file") {
		t.Fatalf("check of a folder that is no run: exit %d, %s", code, errOut)
	}

	// A real run's folder, through store/latest.
	store := t.TempDir()
	if code, _, errOut := runCLI(t, "run", "--store", "single", "--nemesis", "none", "--ops", "200", "--rate", "0", "--store-dir", store); code != exitValid {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	if code, out, errOut := runCLI(t, "check", filepath.Join(store, "latest")); code != exitValid || !strings.Contains(out, "Strongest models that hold: linearizable") {
		t.Fatalf("check store/latest: exit %d\n%s%s", code, out, errOut)
	}
}

// TestRunRefusesSenselessFlags: each is refused with exit 3 and the flag
// named, and nothing is written.
func TestRunRefusesSenselessFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--clients", "0"}, "--clients 0"},
		{[]string{"--clients", "-2"}, "--clients -2"},
		{[]string{"--keys", "0"}, "--keys 0"},
		{[]string{"--cluster", "local"}, "add --target"},
		{[]string{"--duration", "-1s"}, "--duration -1s"},
		{[]string{"--rate", "-5"}, "--rate -5"},
		{[]string{"--rate", "NaN"}, "--rate NaN"},
		{[]string{"--rate", "+Inf"}, "--rate +Inf"},
		{[]string{"--ops", "-1"}, "--ops -1"},
		{[]string{"--op-timeout", "-1s"}, "--op-timeout -1s"},
		{[]string{"--op-timeout", "0"}, "--op-timeout 0s"},
		{[]string{"--nemesis-interval", "0"}, "--nemesis-interval 0s"},
		{[]string{"--quiesce", "-1ms"}, "--quiesce -1ms"},
		{[]string{"--endpoints", "127.0.0.1:2379"}, "--endpoints is for a real database"},
		{[]string{"--serializable-reads"}, "--serializable-reads is for a real database"},
		{[]string{"--target", "redis", "--serializable-reads", "--endpoints", "127.0.0.1:1"}, "--serializable-reads is for --target etcd, not redis"},
		{[]string{"--target", "etcd", "--isolation", "serializable", "--endpoints", "127.0.0.1:1"}, "--isolation is for --target mysql"},
		{[]string{"--target", "etcd", "--cluster-dir", "/tmp/x", "--endpoints", "127.0.0.1:1"}, "add --cluster local"},
		{[]string{"--target", "redis", "--real-time", "--endpoints", "127.0.0.1:1"}, "--real-time is for a bundled store"},
		{[]string{"--store", "paxos", "--isolation", "serializable"}, "store paxos has no isolation levels"},
		{[]string{"--store", "mvcc", "--isolation", "chaos"}, "use one of read-uncommitted, read-committed, repeatable-read, serializable, snapshot-isolation"},
		{[]string{"--store", "mvcc-serializable", "--isolation", "read-committed"}, "use --store mvcc --isolation read-committed"},
		{[]string{"--store", "crdt", "--workload", "list-append"}, "--store crdt cannot run the list-append workload: the crdt store applies each operation to one object, with no transactions"},
		{[]string{"--store", "crdt", "--workload", "bank"}, "it runs --workload counter, register, set"},
		{[]string{"--store", "eventual", "--workload", "on-call"}, "on a store that takes them"},
		{[]string{"--max-txn-length", "0"}, "--max-txn-length 0: a transaction needs at least 1 micro-op"},
		{[]string{"--target", "etcd", "--workload", "bank", "--endpoints", "127.0.0.1:1"}, "runs the register, counter, set, list-append, rw-register and on-call workloads"},
	} {
		dir := filepath.Join(t.TempDir(), "store")
		args := append([]string{"run", "--store-dir", dir}, tc.args...)
		code, _, errOut := runCLI(t, args...)
		if code != exitBad || !strings.Contains(errOut, tc.says) {
			t.Errorf("consist %s: exit %d, stderr %q; want 3 saying %q", strings.Join(args, " "), code, errOut, tc.says)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("consist %s wrote %s before refusing", strings.Join(args, " "), dir)
		}
	}
}

// TestModelFlagListsImplementedModels: --model's help and errors name
// exactly the models suite checks, measures included.
func TestModelFlagListsImplementedModels(t *testing.T) {
	var want []string
	for m := range suite.Checkers() {
		want = append(want, string(m))
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(implementedModels()))
	if !slices.Equal(got, want) {
		t.Fatalf("implementedModels = %v, want the registry's %v", got, want)
	}
	for _, m := range []string{"bounded-staleness", "convergence", "counter", "set-full", "bank"} {
		if !slices.Contains(got, m) {
			t.Errorf("%s is checked but not listed", m)
		}
	}
	_, help, _ := runCLI(t, "check", "--help")
	list := strings.Join(implementedModels(), ", ")
	if !strings.Contains(strings.Join(strings.Fields(help), " "), list) {
		t.Errorf("check --help does not list %s:\n%s", list, help)
	}
	for _, arg := range []string{"linearisable", "serialisable"} {
		code, _, errOut := runCLI(t, "check", "--model", arg, "../../examples/register-linearizable.jsonl")
		if code != exitBad || !strings.Contains(errOut, list) {
			t.Errorf("--model %s: exit %d, %q; want 3 listing %s", arg, code, errOut, list)
		}
	}
}

func TestFormatPorcupineRefusesOtherFormats(t *testing.T) {
	for _, tc := range []struct{ file, says string }{
		{"../../examples/register-linearizable.jsonl", "reads as consist's JSON Lines"},
		{"../../examples/jepsen-cas-register.edn", "reads as Jepsen EDN"},
	} {
		code, _, errOut := runCLI(t, "check", "--format", "porcupine", tc.file)
		if code != exitBad || !strings.Contains(errOut, "is not a Porcupine log") || !strings.Contains(errOut, tc.says) || !strings.Contains(errOut, "leave out --format") {
			t.Errorf("--format porcupine %s: exit %d, %q", tc.file, code, errOut)
		}
	}
	data, _ := os.ReadFile("../../examples/register-linearizable.jsonl")
	if code, _, errOut := runWithStdin(t, string(data), "check", "--format", "porcupine", "-"); code != exitBad || !strings.Contains(errOut, "standard input is not a Porcupine log") {
		t.Errorf("--format porcupine -: exit %d, %q", code, errOut)
	}
}

// TestHTMLWithNothingToDraw: no file, the reason on stderr, and the exit
// code the verdicts give.
func TestHTMLWithNothingToDraw(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"../../examples/register-linearizable.jsonl"}, exitValid, "every key is linearizable"},
		{[]string{"--model", "PRAM", "../../examples/register-stale-read.jsonl"}, exitValid, "linearizable was not checked"},
	} {
		out := filepath.Join(t.TempDir(), "x.html")
		code, _, errOut := runCLI(t, append([]string{"check", "--html", out}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, "nothing to draw") || !strings.Contains(errOut, tc.says) {
			t.Errorf("%v: exit %d, stderr %q; want %d saying %q", tc.args, code, errOut, tc.code, tc.says)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: wrote %s with nothing to draw", tc.args, out)
		}
	}
}

// stepLog is a checker.Progress that keeps every step.
type stepLog struct {
	mu    sync.Mutex
	steps []checker.ProgressStep
}

func (l *stepLog) Report(s checker.ProgressStep) {
	l.mu.Lock()
	l.steps = append(l.steps, s)
	l.mu.Unlock()
}

// TestCheckersReportProgress: linearizable reports each key it begins,
// sequential the operations its search has placed.
func TestCheckersReportProgress(t *testing.T) {
	h, err := history.Parse([]byte(`{"type":"invoke","process":0,"f":"write","key":"a","value":1}
{"type":"ok","process":0,"f":"write","key":"a","value":1}
{"type":"invoke","process":0,"f":"write","key":"b","value":1}
{"type":"ok","process":0,"f":"write","key":"b","value":1}
{"type":"invoke","process":0,"f":"write","key":"c","value":1}
{"type":"ok","process":0,"f":"write","key":"c","value":1}
`), "three keys", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	var lin stepLog
	linearizable.Check(checker.WithProgress(context.Background(), &lin), h, checker.Options{})
	seen := map[int]bool{}
	for _, s := range lin.steps {
		if s.Model != checker.Linearizable || s.Unit != "key" || s.Total != 3 || s.Done < 1 || s.Done > 3 {
			t.Fatalf("linearizable reported %+v", s)
		}
		seen[s.Done] = true
	}
	if len(seen) != 3 {
		t.Fatalf("linearizable reported keys %v of 3", seen)
	}

	heavy, err := history.Parse(heavyHistory(1, 30, 2000, 0.2), "heavy", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	var seq stepLog
	ctx, cancel := context.WithTimeout(checker.WithProgress(context.Background(), &seq), 2*time.Second)
	defer cancel()
	sequential.Check(ctx, heavy, checker.Options{})
	if len(seq.steps) == 0 {
		t.Fatal("sequential reported no progress on a search of 2,000 operations")
	}
	for _, s := range seq.steps {
		if s.Model != checker.Sequential || s.Total < 1 || s.Total > len(heavy.Ops) || s.Done < 0 || s.Done > s.Total {
			t.Fatalf("sequential reported %+v", s)
		}
	}
}

func TestProgressLine(t *testing.T) {
	got := progressText("h.jsonl", checker.ProgressStep{Model: checker.Linearizable, Unit: "key", Done: 2, Total: 5}, 3200*time.Millisecond)
	if got != "checking h.jsonl: linearizable, key 2 of 5, 3.2s" {
		t.Fatalf("progressText = %q", got)
	}
	if got := progressText("h.jsonl", checker.ProgressStep{}, time.Second); got != "checking h.jsonl, 1.0s" {
		t.Fatalf("progressText before a step = %q", got)
	}
	// Off a terminal nothing is shown and the context carries no progress.
	var buf bytes.Buffer
	ctx, stop := startProgress(context.Background(), &buf, "h.jsonl")
	checker.ReportProgress(ctx, checker.ProgressStep{Model: checker.Linearizable})
	stop()
	if ctx != context.Background() || buf.Len() > 0 {
		t.Fatalf("progress off a terminal: %q", buf.String())
	}
}

// TestTimeoutIsHonoured: a search-heavy history (20,000 operations on one
// register, values repeating, writes crashing) checked with --timeout 1s
// ends within a second of it, every model together, undecided models
// unknown; and no progress is written to a stderr that is no terminal.
func TestTimeoutIsHonoured(t *testing.T) {
	if testing.Short() {
		t.Skip("a timed check")
	}
	file := writeFile(t, "heavy.jsonl", string(heavyHistory(1, 30, 20000, 0.2)))
	start := time.Now()
	code, out, errOut := runCLI(t, "check", "--timeout", "1s", file)
	elapsed := time.Since(start)
	if code != exitUnknown || !strings.Contains(out, "--timeout") {
		t.Fatalf("exit %d, want 2 (unknown) naming --timeout\n%s%s", code, out, errOut)
	}
	if elapsed > 2*time.Second {
		t.Errorf("--timeout 1s took %v", elapsed)
	}
	if strings.Contains(errOut, "checking") {
		t.Errorf("progress on a stderr that is no terminal: %q", errOut)
	}
	t.Logf("--timeout 1s: %v", elapsed)
	if code, _, errOut := runCLI(t, "check", "--timeout", "-1s", file); code != exitBad || !strings.Contains(errOut, "--timeout -1s") {
		t.Fatalf("--timeout -1s: exit %d, %q", code, errOut)
	}
}

// TestRunJSONAtStart kills a run: its run.json, written when it started,
// holds every flag and consist's version, and the run can still be
// checked and recommended on.
func TestRunJSONAtStart(t *testing.T) {
	dir := t.TempDir()
	cmd, out := startConsist(t, dir, 100_000, "run", "--store", "single", "--nemesis", "none", "--duration", "0", "--rate", "0", "--seed", "42", "--store-dir", dir)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	runDir := filepath.Join(dir, "latest")
	data, err := os.ReadFile(filepath.Join(runDir, "run.json"))
	if err != nil {
		t.Fatalf("a killed run left no run.json: %v; it said:\n%s", err, out)
	}
	rec, err := folder.ParseRunRecord(data, "run.json")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Ended != nil || rec.Seed != 42 || rec.Version == "" || rec.Store != "single" {
		t.Fatalf("run.json of a killed run: %+v", rec)
	}
	runCmd := newRunCmd(&bytes.Buffer{}, &bytes.Buffer{})
	runCmd.Flags().VisitAll(func(f *pflag.Flag) {
		if _, ok := rec.Flags[f.Name]; !ok && f.Name != "help" {
			t.Errorf("run.json lacks flag --%s", f.Name)
		}
	})
	if rec.Flags["seed"] != "42" || rec.Flags["duration"] != "0s" || !slices.Contains(rec.Command, "--seed=42") {
		t.Errorf("run.json flags %v, command %v", rec.Flags, rec.Command)
	}
	code, stdout, stderr := runCLI(t, "recommend", runDir)
	if code != exitValid || !strings.Contains(stderr, "has no results") || !strings.Contains(stdout, "single delivered: linearizable") {
		t.Fatalf("recommend on a killed run: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestRunRepeats repeats a run from its run.json's command: one client on
// the single store draws the same operations with the same outcomes.
func TestRunRepeats(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	if code, _, errOut := runCLI(t, "run", "--store", "single", "--nemesis", "none", "--clients", "1", "--ops", "150", "--rate", "0", "--seed", "9", "--keys", "3", "--store-dir", first); code != exitValid {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(filepath.Join(first, "latest", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec folder.RunRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Command) < 3 || rec.Command[0] != "consist" || rec.Command[1] != "run" || rec.Ended == nil || rec.OK == 0 {
		t.Fatalf("run.json: %+v", rec)
	}
	args := append(slices.Clone(rec.Command[1:]), "--store-dir="+second)
	if code, _, errOut := runCLI(t, args...); code != exitValid {
		t.Fatalf("consist %v: exit %d: %s", args, code, errOut)
	}
	ops := func(dir string) []string {
		h, err := history.ReadFile(filepath.Join(dir, "latest", "history.jsonl"), history.JSONL)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, op := range h.Ops {
			out = append(out, op.F+" "+history.Describe(op.Key)+" "+history.Describe(op.Input)+" "+history.Describe(op.Output)+" "+op.Type.String())
		}
		return out
	}
	a, b := ops(first), ops(second)
	if len(a) != 150+3 || !slices.Equal(a, b) {
		t.Fatalf("the repeated run differs: %d and %d operations\n%v\n%v", len(a), len(b), a[:min(5, len(a))], b[:min(5, len(b))])
	}
}

// TestStoresHoldWhatTheySay: every bundled store answers a read of each
// kind of object it claims to hold, and refuses the kinds it does not,
// so the up-front refusal of consist run tells the truth.
func TestStoresHoldWhatTheySay(t *testing.T) {
	kinds := map[adapters.Kind]bool{}
	for _, name := range workloads.Names() {
		wl, err := workloads.New(name, workloads.Options{})
		if err != nil {
			t.Fatal(err)
		}
		kinds[workloads.KindOf(wl)] = true
	}
	if len(kinds) != 5 {
		t.Fatalf("the workloads act on %v, want five kinds", kinds)
	}
	ctx := context.Background()
	for _, s := range builtin.Stores() {
		store := s.Open(1)
		c, err := store.Open(ctx, store.Nodes()[0])
		if err != nil {
			t.Fatal(err)
		}
		for k := range kinds {
			op := adapters.Op{Kind: k, F: "read", Key: "k0"}
			switch k {
			case adapters.Bank:
				op.Key = nil
			case adapters.Txn:
				op = adapters.Op{Kind: k, F: "txn", Value: []adapters.MicroOp{{F: "r", Key: "k0"}}}
			}
			_, err := c.Do(ctx, op)
			if s.CanHold(k) != (err == nil) {
				t.Errorf("%s: CanHold(%s) = %v, but a read answered %v", s.Name, k, s.CanHold(k), err)
			}
		}
		c.Close()
		store.Close()
	}
}
