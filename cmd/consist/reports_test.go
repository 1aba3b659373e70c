package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"consist/adapters/builtin"
	"consist/checker"
	"consist/internal/servertest"
	"consist/matrix"
	"consist/nemesis"
)

// junitSummary is what the tests read back of a JUnit XML file.
type junitSummary struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Class   string `xml:"classname,attr"`
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// readJUnit validates the JUnit XML file against the schema CI systems
// read, with xmllint, and decodes it.
func readJUnit(t *testing.T, path string) junitSummary {
	t.Helper()
	lint, err := exec.LookPath("xmllint")
	if err != nil {
		servertest.Missing(t, "xmllint is not installed: run scripts/tools.sh install (as root)")
	}
	if out, err := exec.Command(lint, "--noout", "--schema", "../../report/testdata/junit-10.xsd", path).CombinedOutput(); err != nil {
		t.Fatalf("xmllint refuses %s: %v\n%s", path, err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s junitSummary
	if err := xml.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// TestCheckWritesJUnitAndMarkdown checks two example histories and a
// broken file with --junit and --markdown: the exit code and the text
// output are what they are without them, the JUnit XML is valid and has
// a suite per file and a failure per broken model, and the Markdown has
// the verdict tables and the anomalies.
func TestCheckWritesJUnitAndMarkdown(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, "bad.jsonl", "{\"type\":\"invoke\"\n")
	args := []string{"check", "../../examples/register-stale-read.jsonl", "../../examples/store-buffering.jsonl", bad}
	code0, out0, _ := runCLI(t, args...)
	junit, md := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "check.md")
	code, out, errOut := runCLI(t, append(args, "--junit", junit, "--markdown", md)...)
	// The same tables and summaries are printed (times and, as the
	// linearizability search stops at the first violation it finds in
	// parallel, the anomalies listed may differ from one check to the
	// next).
	summary := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			switch {
			case strings.HasPrefix(l, "│ "): // the model and its verdict
				out = append(out, strings.Join(strings.Split(l, "│")[:3], "│"))
			case strings.Contains(l, " operations, ") || strings.HasPrefix(l, "Strongest models"):
				out = append(out, l)
			}
		}
		return out
	}
	if code != code0 || code != exitBad || !slices.Equal(summary(out), summary(out0)) || len(summary(out)) < 20 {
		t.Fatalf("exit %d (without the reports %d); stdout\n%s\nwithout the reports\n%s\n%s", code, code0, out, out0, errOut)
	}
	s := readJUnit(t, junit)
	// register-stale-read breaks linearizable; store-buffering breaks
	// linearizable and sequential; bad.jsonl is an error.
	if len(s.Suites) != 3 || s.Failures != 3 || s.Errors != 1 {
		t.Fatalf("%d suites, %d failures, %d errors; want 3, 3, 1: %+v", len(s.Suites), s.Failures, s.Errors, s)
	}
	c := s.Suites[0].Cases[0]
	if c.Class != "consist.__/__/examples/register-stale-read_jsonl" || c.Name != "linearizable" || c.Failure == nil || !strings.Contains(c.Failure.Body, "The value was stale.") {
		t.Errorf("first case %+v", c)
	}
	data, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## consist: \\.\\./\\.\\./examples/register-stale-read\\.jsonl", "| linearizable | ❌ invalid | 1 |", "**stale-read** (linearizable) on key x", "**no-sequential-order** (sequential)", "**Error:**"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, data)
		}
	}
}

// TestReportToStandardOutput: --junit - prints the XML instead of the
// tables; two reports, or one beside --json, cannot share standard output.
func TestReportToStandardOutput(t *testing.T) {
	code, out, errOut := runCLI(t, "check", "--junit", "-", "../../examples/register-stale-read.jsonl")
	if code != exitInvalid || !strings.HasPrefix(out, "<?xml") || strings.Contains(out, "┌") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "check", "--markdown", "-", "../../examples/register-linearizable.jsonl")
	if code != exitValid || !strings.HasPrefix(out, "## consist:") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, args := range [][]string{
		{"check", "--junit", "-", "--markdown", "-", "../../examples/register-stale-read.jsonl"},
		{"check", "--json", "--markdown", "-", "../../examples/register-stale-read.jsonl"},
		{"matrix", "--json", "--junit", "-"},
		{"run", "--junit", "-", "--markdown", "-"},
	} {
		if code, _, errOut := runCLI(t, args...); code != exitBad || !strings.Contains(errOut, "standard output") {
			t.Errorf("%q: exit %d, %s", args, code, errOut)
		}
	}
}

// TestRunWritesJUnit: a run's JUnit XML names the store and workload in
// its classes and carries the run's settings as properties.
func TestRunWritesJUnit(t *testing.T) {
	dir := t.TempDir()
	junit, md := filepath.Join(dir, "run.xml"), filepath.Join(dir, "run.md")
	code, out, errOut := runCLI(t, "run", "--store", "single", "--ops", "200", "--rate", "0", "--clients", "2", "--nemesis", "none",
		"--store-dir", filepath.Join(dir, "store"), "--junit", junit, "--markdown", md)
	if code != exitValid {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	s := readJUnit(t, junit)
	if len(s.Suites) != 1 || s.Failures != 0 || len(s.Suites[0].Cases) == 0 || s.Suites[0].Cases[0].Class != "consist.single.register" {
		t.Fatalf("%+v", s)
	}
	props := map[string]string{}
	for _, p := range s.Suites[0].Properties {
		props[p.Name] = p.Value
	}
	if props["store"] != "single" || props["workload"] != "register" || props["faults"] != "none" || props["clients"] != "2" {
		t.Errorf("properties %v", props)
	}
	data, err := os.ReadFile(md)
	if err != nil || !strings.Contains(string(data), "**Store** single · **workload** register · **faults** none · 2 clients") {
		t.Errorf("Markdown %v:\n%s", err, data)
	}
}

// TestMatrixReports renders a matrix of the eventual store judged against
// a profile it does not meet: linearizability guaranteed (and so
// sequential consistency, which it implies) but broken, convergence
// expected to break in the register run but holding, set-full broken
// though nothing is promised of it. In the JUnit XML exactly the three
// disagreements fail; the Markdown holds the matrix and the run's
// verdicts.
func TestMatrixReports(t *testing.T) {
	s, err := builtin.Lookup("eventual")
	if err != nil {
		t.Fatal(err)
	}
	run := builtin.Run{Workload: "register", Faults: []nemesis.Kind{nemesis.Partition}}
	s.Profile = builtin.Profile{
		Guarantees: []checker.Model{checker.Linearizable},
		Breaks:     []builtin.Break{{Model: checker.Convergence, Run: run, Seed: 2}},
		Runs:       []builtin.Run{run},
	}
	stale := checker.Anomaly{Kind: "stale-read", Key: "k1", Ops: []int64{1, 2}, Sentence: checker.Say("The value was stale.")}
	cell := matrix.Cell{Store: "eventual", Run: run, Name: run.String(), OK: 10, Results: []checker.Result{
		{Model: checker.Linearizable, Verdict: checker.Invalid, Anomalies: []checker.Anomaly{stale}},
		{Model: checker.Sequential, Verdict: checker.Invalid, Anomalies: []checker.Anomaly{stale}},
		{Model: checker.Causal, Verdict: checker.Valid},
		{Model: checker.SetFull, Verdict: checker.Invalid, Anomalies: []checker.Anomaly{{Kind: "lost", Ops: []int64{3}, Sentence: checker.Say("Lost.")}}},
		{Model: checker.Convergence, Verdict: checker.Valid},
	}}
	// The profile names seed 2 for the convergence break: only that
	// seed's case fails when the break does not show.
	named := cell
	named.Seed = 2
	m := &matrix.Matrix{Models: []checker.Model{checker.Linearizable, checker.Sequential, checker.Causal, checker.SetFull, checker.Convergence},
		Rows: []matrix.Row{{Store: "eventual", Cells: []matrix.Cell{cell, named}, Marks: map[checker.Model]matrix.Mark{
			checker.Linearizable: {Verdict: checker.Invalid, Anomalies: 1, Disagrees: "guaranteed"},
			checker.Sequential:   {Verdict: checker.Invalid, Anomalies: 1, Disagrees: "guaranteed"},
			checker.Causal:       {Verdict: checker.Valid},
			checker.SetFull:      {Verdict: checker.Invalid, Anomalies: 1},
			checker.Convergence:  {Verdict: checker.Valid, Disagrees: "should break", Seed: 2},
		}}}}
	dir := t.TempDir()
	fl := reportFlags{junit: filepath.Join(dir, "m.xml"), markdown: filepath.Join(dir, "m.md")}
	if err := writeMatrixReports(io.Discard, fl, m, []builtin.Store{s}); err != nil {
		t.Fatal(err)
	}
	j := readJUnit(t, fl.junit)
	failures := func(i int) []string {
		var failed []string
		for _, c := range j.Suites[i].Cases {
			if c.Failure != nil {
				failed = append(failed, c.Name+": "+c.Failure.Message)
			}
		}
		return failed
	}
	want := []string{"linearizable: linearizable does not hold: 1 anomaly, the first stale-read on key k1",
		"sequential: sequential does not hold: 1 anomaly, the first stale-read on key k1"}
	wantNamed := append(slices.Clone(want), "convergence: convergence should break in this run, but was valid")
	if len(j.Suites) != 2 || j.Suites[0].Name != "eventual: register under partition, seed 0" || !slices.Equal(failures(0), want) ||
		!slices.Equal(failures(1), wantNamed) || j.Suites[0].Cases[0].Class != "consist.eventual.register under partition" {
		t.Fatalf("suites %+v, failures %q and %q, want %q and %q", j.Suites, failures(0), failures(1), want, wantNamed)
	}
	md, err := os.ReadFile(fl.markdown)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| eventual | ✗ 1 ! | ✗ 1 ! | ✓ |", "| eventual | ✗ 1 | ✓ ! |", "<details><summary>eventual\\: register under partition, seed 0: 3 anomalies</summary>", "| linearizable | ❌ invalid | 1 |", "**lost** (set-full)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestMatrixMarkdownFitsAComment: a matrix of many runs, each with long
// anomalies, makes Markdown that a pull-request comment takes (GitHub:
// 65,536 characters), the runs that disagree shown first and the rest
// named.
func TestMatrixMarkdownFitsAComment(t *testing.T) {
	long := checker.Anomaly{Kind: "stale-read", Key: "k", Ops: []int64{1, 2}, Sentence: checker.Say(strings.Repeat("A long sentence. ", 40))}
	var cells []matrix.Cell
	for i := range 60 {
		run := builtin.Run{Workload: fmt.Sprintf("register%d", i)}
		cells = append(cells, matrix.Cell{Store: "eventual", Run: run, Name: run.String(), Results: []checker.Result{
			{Model: checker.Linearizable, Verdict: checker.Invalid, Anomalies: slices.Repeat([]checker.Anomaly{long}, 10)},
		}})
	}
	m := &matrix.Matrix{Models: []checker.Model{checker.Linearizable}, Rows: []matrix.Row{{Store: "eventual", Cells: cells,
		Marks: map[checker.Model]matrix.Mark{checker.Linearizable: {Verdict: checker.Invalid, Anomalies: 600, Disagrees: "linearizable is guaranteed, but it broke in register59 without faults: …"}}}}}
	var b strings.Builder
	if err := writeMatrixReports(&b, reportFlags{markdown: "-"}, m, nil); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if n := len([]rune(md)); n > 65536 || !strings.Contains(md, "Not shown, to keep this short") {
		t.Fatalf("%d characters, want at most 65,536 and the runs left out named", n)
	}
	if first := strings.Index(md, "<details><summary>"); !strings.HasPrefix(md[first:], "<details><summary>eventual\\: register59 without faults, seed 0") {
		t.Errorf("the run that disagrees is not first:\n%.300s", md[first:])
	}
}
