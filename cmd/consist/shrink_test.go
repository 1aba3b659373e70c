package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"consist/nemesis"
	"consist/run/folder"
)

// TestShrinkWritesTheSmallestRun: consist shrink replays a failing
// eventual run smaller, writes it as a run folder whose command repeats
// it, and the folder shows the kind.
func TestShrinkWritesTheSmallestRun(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "run", "--store", "eventual", "--duration", "3s", "--store-dir", dir)
	if code != exitInvalid {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
	failing, err := filepath.EvalSymlinks(filepath.Join(dir, folder.Latest))
	if err != nil {
		t.Fatal(err)
	}
	kinds, err := anomalyKinds(filepath.Join(failing, folder.ResultsFile))
	if err != nil || len(kinds) == 0 {
		t.Fatalf("the failing run's kinds: %v, %v", kinds, err)
	}
	code, out, errOut := runCLI(t, "shrink", failing)
	if code != exitValid {
		t.Fatalf("shrink: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"keeping " + string(kinds[0]), "before", "after", "operations", "clients", "faults", "history", "repeat it: consist run "} {
		if !strings.Contains(out, want) {
			t.Fatalf("shrink's output lacks %q:\n%s", want, out)
		}
	}
	smallest, err := filepath.EvalSymlinks(filepath.Join(dir, folder.Latest))
	if err != nil || smallest == failing {
		t.Fatalf("store/latest should point at the smallest run: %s, %v", smallest, err)
	}
	data, err := os.ReadFile(filepath.Join(smallest, folder.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := folder.ParseRunRecord(data, "run.json")
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(filepath.Join(failing, folder.RunFile))
	before, _ := folder.ParseRunRecord(orig, "run.json")
	if rec.ShrunkFrom != failing || rec.OK+rec.Fail+rec.Info >= before.OK+before.Fail+before.Info || rec.Simulation == nil {
		t.Fatalf("the smallest run's record: shrunk from %q, %d operations (before %d)", rec.ShrunkFrom, rec.OK+rec.Fail+rec.Info, before.OK+before.Fail+before.Info)
	}
	if !slices.Contains(rec.Command, "--keys="+rec.Flags["keys"]) || rec.Flags["ops"] == "0" {
		t.Fatalf("the command does not repeat the smallest run: %v", rec.Command)
	}
	got, err := anomalyKinds(filepath.Join(smallest, folder.ResultsFile))
	if err != nil || !slices.Contains(got, kinds[0]) {
		t.Fatalf("the smallest run shows %v (%v), not %s", got, err, kinds[0])
	}
	if _, err := os.Stat(filepath.Join(smallest, folder.ReportFile)); err != nil {
		t.Fatalf("no report: %v", err)
	}

	// Running its command again gives the same history.
	repeatGivesTheSameHistory(t, smallest, rec)
}

// repeatGivesTheSameHistory runs the command run.json records and
// compares the histories.
func repeatGivesTheSameHistory(t *testing.T, dir string, rec folder.RunRecord) {
	t.Helper()
	args := append([]string{}, rec.Command[1:]...)
	again := t.TempDir()
	for i, a := range args {
		if strings.HasPrefix(a, "--store-dir=") {
			args[i] = "--store-dir=" + again
		}
	}
	if code, _, errOut := runCLI(t, args...); code != exitInvalid {
		t.Fatalf("repeating the run of %s: exit %d\n%s", dir, code, errOut)
	}
	if a, b := sha256File(t, filepath.Join(dir, folder.HistoryFile)), sha256File(t, filepath.Join(again, folder.Latest, folder.HistoryFile)); a != b {
		t.Fatalf("repeating %v gave another history: sha256 %s, was %s", rec.Command, b, a)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

// TestRunWithAPlan: consist run --nemesis-plan injects exactly the plan's
// faults: the plan of a random run's one partition gives its history
// byte for byte; the folder keeps the plan, and its command names it.
func TestRunWithAPlan(t *testing.T) {
	random := t.TempDir()
	if code, _, errOut := runCLI(t, "run", "--store", "eventual", "--seed", "3", "--duration", "3s", "--store-dir", random); code != exitInvalid {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
	plan := writeFile(t, "plan.json", `{"faults": [{"kind": "partition", "at": "1s", "for": "1s", "style": "majorities-ring", "cut": [["n1", "n3"]]}]}`)
	planned := t.TempDir()
	if code, _, errOut := runCLI(t, "run", "--store", "eventual", "--seed", "3", "--duration", "3s", "--nemesis-plan", plan, "--store-dir", planned); code != exitInvalid {
		t.Fatalf("run with a plan: exit %d\n%s", code, errOut)
	}
	latest := filepath.Join(planned, folder.Latest)
	if a, b := sha256File(t, filepath.Join(random, folder.Latest, folder.HistoryFile)), sha256File(t, filepath.Join(latest, folder.HistoryFile)); a != b {
		t.Fatalf("the plan of the random run's partition gave another history: %s, was %s", b, a)
	}
	dir, _ := filepath.EvalSymlinks(latest)
	data, err := os.ReadFile(filepath.Join(dir, folder.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := folder.ParseRunRecord(data, "run.json")
	if err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(dir, folder.PlanFile)
	if rec.NemesisPlan != folder.PlanFile || rec.Nemesis != "partition" || !slices.Contains(rec.Command, "--nemesis-plan="+kept) ||
		slices.ContainsFunc(rec.Command, func(a string) bool {
			return strings.HasPrefix(a, "--nemesis=") || strings.HasPrefix(a, "--nemesis-interval=")
		}) {
		t.Fatalf("run.json: nemesis %q, plan %q, command %v", rec.Nemesis, rec.NemesisPlan, rec.Command)
	}
	if _, err := nemesis.ParsePlan(mustRead(t, kept), kept); err != nil {
		t.Fatal(err)
	}
	repeatGivesTheSameHistory(t, dir, rec)
}

// TestShrinkKeepsTheFaultItNeeds shrinks a session run whose
// no-sequential-order needs its one kill (given as a plan): the smallest
// run keeps the kill, as a plan in its folder, and replays.
func TestShrinkKeepsTheFaultItNeeds(t *testing.T) {
	dir := t.TempDir()
	plan := writeFile(t, "plan.json", `{"faults": [{"kind": "kill", "at": "0s", "for": "91ms", "nodes": ["n1"]}]}`)
	code, _, errOut := runCLI(t, "run", "--store", "session", "--clients", "3", "--keys", "3", "--ops", "43", "--duration", "109ms",
		"--nemesis-plan", plan, "--store-dir", dir)
	if code != exitInvalid {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
	failing, _ := filepath.EvalSymlinks(filepath.Join(dir, folder.Latest))
	code, out, errOut := runCLI(t, "shrink", failing, "--kind", "no-sequential-order")
	if code != exitValid {
		t.Fatalf("shrink: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "faults kept: kill [\"n1\"]") || !regexp.MustCompile(`faults injected +1 \(kill\) +1 \(kill\)`).MatchString(out) {
		t.Fatalf("the shrink dropped the kill the anomaly needs:\n%s", out)
	}
	smallest, _ := filepath.EvalSymlinks(filepath.Join(dir, folder.Latest))
	rec, err := folder.ParseRunRecord(mustRead(t, filepath.Join(smallest, folder.RunFile)), "run.json")
	if err != nil {
		t.Fatal(err)
	}
	if rec.NemesisPlan == "" || rec.ShrunkFrom != failing {
		t.Fatalf("the smallest run records no plan (%q) or no origin (%q)", rec.NemesisPlan, rec.ShrunkFrom)
	}
	repeatGivesTheSameHistory(t, smallest, rec)
}

// TestRunShrink: consist run --shrink shrinks the run it made when it
// found an anomaly, and refuses, before anything runs, what does not
// replay.
func TestRunShrink(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "run", "--store", "eventual", "--duration", "3s", "--store-dir", dir, "--shrink", "--shrink-budget", "30s")
	if code != exitInvalid {
		t.Fatalf("run --shrink: exit %d, want the run's 1\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "shrank eventual with register") || !strings.Contains(out, "repeat it: consist run ") {
		t.Fatalf("run --shrink printed no shrink:\n%s", out)
	}
	smallest, _ := filepath.EvalSymlinks(filepath.Join(dir, folder.Latest))
	rec, err := folder.ParseRunRecord(mustRead(t, filepath.Join(smallest, folder.RunFile)), "run.json")
	if err != nil {
		t.Fatal(err)
	}
	if rec.ShrunkFrom == "" || slices.ContainsFunc(rec.Command, func(a string) bool { return strings.HasPrefix(a, "--shrink") }) {
		t.Fatalf("the smallest run: shrunk from %q, command %v", rec.ShrunkFrom, rec.Command)
	}
	repeatGivesTheSameHistory(t, smallest, rec)

	// A valid run has nothing to shrink.
	if code, _, errOut := runCLI(t, "run", "--store", "single", "--duration", "200ms", "--store-dir", t.TempDir(), "--shrink"); code != exitValid || !strings.Contains(errOut, "nothing to shrink") {
		t.Fatalf("run --shrink of a valid run: exit %d\n%s", code, errOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--real-time"}, "--real-time"},
		{[]string{"--target", "etcd", "--endpoints", "127.0.0.1:1"}, "real database"},
		{[]string{"--shrink-budget", "0s"}, "--shrink-budget"},
	} {
		empty := t.TempDir()
		args := append([]string{"run", "--store-dir", empty, "--shrink", "--duration", "200ms"}, c.args...)
		code, out, errOut := runCLI(t, args...)
		if code != exitBad || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 3 saying %q\n%s%s", args, code, c.want, out, errOut)
		}
		if entries, _ := os.ReadDir(empty); len(entries) > 0 {
			t.Errorf("%v wrote %d entries before refusing", args, len(entries))
		}
	}
	if code, _, errOut := runCLI(t, "run", "--shrink-budget", "1s"); code != exitBad || !strings.Contains(errOut, "add --shrink") {
		t.Errorf("--shrink-budget without --shrink: exit %d\n%s", code, errOut)
	}
}

// TestRunRefusesBadPlans: a plan file that is missing, malformed, or
// does not fit the store is refused before the run, naming the file.
func TestRunRefusesBadPlans(t *testing.T) {
	good := writeFile(t, "good.json", `{"faults": [{"kind": "kill", "at": "1s", "for": "1s", "nodes": ["n1"]}]}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--nemesis-plan", filepath.Join(t.TempDir(), "none.json")}, "none.json"},
		{[]string{"--nemesis-plan", writeFile(t, "bad.json", `{"faults": [{"kind": "kill", "at": "1s"}]}`)}, "bad.json"},
		{[]string{"--nemesis-plan", writeFile(t, "n9.json", `{"faults": [{"kind": "kill", "at": "1s", "for": "1s", "nodes": ["n9"]}]}`)}, "n9.json"},
		{[]string{"--nemesis-plan", good, "--nemesis", "kill"}, "leave out --nemesis"},
		{[]string{"--nemesis-plan", good, "--nemesis-interval", "2s"}, "leave out --nemesis-interval"},
	} {
		empty := t.TempDir()
		args := append([]string{"run", "--store", "eventual", "--duration", "200ms", "--store-dir", empty}, c.args...)
		code, out, errOut := runCLI(t, args...)
		if code != exitBad || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 3 saying %q\n%s%s", args, code, c.want, out, errOut)
		}
		if entries, _ := os.ReadDir(empty); len(entries) > 0 {
			t.Errorf("%v wrote %d entries before refusing", args, len(entries))
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestShrinkRefuses(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "run", "--store", "single", "--duration", "200ms", "--store-dir", dir); code != exitValid {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
	valid, err := filepath.EvalSymlinks(filepath.Join(dir, folder.Latest))
	if err != nil {
		t.Fatal(err)
	}
	// The same run, as if it had tested a real database.
	data, err := os.ReadFile(filepath.Join(valid, folder.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	rec["target"] = true
	real := filepath.Join(t.TempDir(), "etcd-register", "run")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := folder.WriteJSON(filepath.Join(real, folder.RunFile), rec); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"shrink", valid}, "shows no anomaly"},
		{[]string{"shrink", real}, "real database"},
		{[]string{"shrink", t.TempDir()}, "give the folder of a run"},
		{[]string{"shrink", valid, "--budget", "0s"}, "--budget"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != exitBad || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 3 saying %q\n%s%s", c.args, code, c.want, out, errOut)
		}
	}
}
