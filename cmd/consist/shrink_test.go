package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
	args := append([]string{}, rec.Command[1:]...)
	for i, a := range args {
		if strings.HasPrefix(a, "--store-dir=") {
			args[i] = "--store-dir=" + t.TempDir()
		}
	}
	if code, _, errOut := runCLI(t, args...); code != exitInvalid {
		t.Fatalf("repeating the smallest run: exit %d\n%s", code, errOut)
	}
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
