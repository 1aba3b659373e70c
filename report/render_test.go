package report

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/bank"
	"consist/checker/convergence"
	"consist/checker/counter"
	"consist/checker/set"
	"consist/checker/staleness"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/servertest"
)

// hostile is what a history can hold that a renderer must not act on:
// markup, Markdown, a mention, a table cell's end, quotes, control
// characters and a line break.
const hostile = "<script>alert(1)</script>\"'</style>`*x*` [l](http://e.x) | @octocat #1 ]]>\n\x1b[31m&amp;"

// hostileReport is a report of a run whose settings and history hold
// hostile strings, checked for real: linearizability and its weaker
// models break on a stale read, bounded staleness is measured, and a
// second file could not be read.
func hostileReport(t testing.TB) Report {
	t.Helper()
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	lines := strings.NewReplacer("K", q(hostile), "V1", q(hostile+"1"), "V2", q(hostile+"2"), "N", q(hostile)).Replace(`
{"type":"invoke","process":0,"f":"write","key":K,"value":V1,"time":1000}
{"type":"ok","process":0,"f":"write","key":K,"value":V1,"time":2000,"node":N}
{"type":"invoke","process":0,"f":"write","key":K,"value":V2,"time":3000}
{"type":"ok","process":0,"f":"write","key":K,"value":V2,"time":4000,"node":"n1"}
{"type":"invoke","process":1,"f":"read","key":K,"value":null,"time":5000}
{"type":"ok","process":1,"f":"read","key":K,"value":V1,"time":6000,"node":N}
{"type":"invoke","process":2,"f":"write","key":K,"value":V2,"time":7000}
{"type":"fail","process":2,"f":"write","key":K,"value":V2,"time":8000,"error":N}`)
	h, err := history.Parse([]byte(strings.TrimSpace(lines)+"\n"), "hist"+hostile+".jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	results := suite.Check(context.Background(), h, checker.Options{Timeout: time.Minute},
		checker.Linearizable, checker.Sequential, checker.MonotonicReads, checker.BoundedStaleness)
	results = append(results, checker.Result{Model: checker.Convergence, Verdict: checker.Unknown, Reason: "stopped: " + hostile})
	return Report{
		Title: "run " + hostile,
		Run: &RunSettings{Store: "store" + hostile, Workload: "register" + hostile, Faults: []string{"partition", hostile},
			Clients: 3, Seed: 7, Command: []string{"consist", "run", "--store=" + hostile}, Started: time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC)},
		Files: []FileResult{
			{File: h.Source, Format: "jsonl", Ops: len(h.Ops), Processes: h.Processes(), Results: results, Warnings: []string{"warned " + hostile}},
			{File: "bad" + hostile, Error: "line 3: " + hostile},
		},
		History: h,
	}
}

func countVerdict(rep Report, v checker.Verdict) int {
	n := 0
	for _, r := range rep.Files[0].Results {
		if r.Verdict == v {
			n++
		}
	}
	return n
}

// xmllint is the path of xmllint, skipping t (failing it when the tools
// are required) when it is not installed.
func xmllint(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		servertest.Missing(t, "xmllint is not installed: run scripts/tools.sh install (as root)")
	}
	return path
}

// TestJUnitIsValid writes a hostile run's JUnit XML, validates it against
// the schema Jenkins' xUnit plugin reads (testdata/junit-10.xsd) with
// xmllint, and reads it back: one case per model, the invalid ones failing
// with their sentences, the unknown one skipped with its reason, the
// unreadable file in error, every hostile string back as it was (escaped
// for the terminal), none of it markup.
func TestJUnitIsValid(t *testing.T) {
	lint := xmllint(t)
	rep := hostileReport(t)
	var b bytes.Buffer
	if err := WriteJUnit(&b, []Report{rep}, JUnitOptions{Name: "consist run"}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(lint, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), file).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint refuses the JUnit XML: %v\n%s\n%s", err, out, b.String())
	}
	var got struct {
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
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
				Out string `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	invalid := countVerdict(rep, checker.Invalid)
	if invalid < 1 || len(got.Suites) != 2 || got.Tests != len(rep.Files[0].Results)+1 || got.Failures != invalid || got.Errors != 1 || got.Suites[0].Skipped != 1 {
		t.Fatalf("%d suites, %d tests, %d failures, %d errors, %d skipped; want 2 suites, %d tests, %d failures, 1 error, 1 skipped:\n%s",
			len(got.Suites), got.Tests, got.Failures, got.Errors, got.Suites[0].Skipped, len(rep.Files[0].Results)+1, invalid, b.String())
	}
	escaped := checker.Escape(hostile)
	if got.Suites[0].Name != "hist"+escaped+".jsonl" {
		t.Errorf("suite name %q", got.Suites[0].Name)
	}
	props := map[string]string{}
	for _, p := range got.Suites[0].Properties {
		props[p.Name] = p.Value
	}
	if props["store"] != "store"+escaped || props["faults"] != "partition, "+escaped || props["seed"] != "7" {
		t.Errorf("properties %q", props)
	}
	for _, c := range got.Suites[0].Cases {
		if want := "consist.store" + strings.ReplaceAll(escaped, ".", "_") + ".register" + strings.ReplaceAll(escaped, ".", "_") + " under partition,"; !strings.HasPrefix(c.Class, want) {
			t.Errorf("class %q, want it to start %q", c.Class, want)
		}
		switch c.Name {
		case string(checker.Linearizable):
			if c.Failure == nil || !strings.Contains(c.Failure.Message, "1 anomaly") || !strings.Contains(c.Failure.Body, "stale") || !strings.Contains(c.Failure.Body, "<script>alert(1)</script>") || !strings.Contains(c.Failure.Body, "The value was stale.") {
				t.Errorf("linearizable: %+v", c.Failure)
			}
		case string(checker.Convergence):
			if c.Skipped == nil || c.Skipped.Message != "unknown: stopped: "+escaped {
				t.Errorf("convergence: skipped %+v", c.Skipped)
			}
		case string(checker.BoundedStaleness):
			if c.Failure != nil || c.Skipped != nil || !strings.Contains(c.Out, "versions p50/p99/max") {
				t.Errorf("bounded staleness: %+v", c)
			}
		}
	}
	if c := got.Suites[1].Cases; len(c) != 1 || c[0].Name != "read" || c[0].Error == nil || c[0].Error.Message != "line 3: "+escaped {
		t.Errorf("the unreadable file: %+v", c)
	}
	if bytes.Contains(b.Bytes(), []byte("<script")) || bytes.Contains(b.Bytes(), []byte("\x1b")) {
		t.Errorf("markup or a control character reached the XML:\n%s", b.String())
	}
}

// TestJUnitExpectations: a model expected to break passes when it
// breaks and fails when it holds; one nothing is promised of passes.
func TestJUnitExpectations(t *testing.T) {
	rep := Report{Files: []FileResult{{File: "f", Results: []checker.Result{
		{Model: checker.Linearizable, Verdict: checker.Invalid, Anomalies: []checker.Anomaly{{Kind: "stale-read", Ops: []int64{1}, Sentence: checker.Say("stale.")}}},
		{Model: checker.Sequential, Verdict: checker.Valid},
		{Model: checker.PRAM, Verdict: checker.Invalid, ImpliedBy: checker.Linearizable},
	}}}}
	expect := map[checker.Model]Expectation{checker.Linearizable: ExpectBreaks, checker.Sequential: ExpectBreaks, checker.PRAM: ExpectNothing}
	var b bytes.Buffer
	if err := WriteJUnit(&b, []Report{rep}, JUnitOptions{Expect: func(_ *Report, _ *FileResult, m checker.Model) Expectation { return expect[m] }}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "<failure") != 1 || !strings.Contains(out, `message="sequential should break in this run, but was valid"`) ||
		!strings.Contains(out, "linearizable broke, as expected") || !strings.Contains(out, "PRAM broke, which nothing promised") {
		t.Errorf("JUnit XML:\n%s", out)
	}
}

// TestMarkdownEscapesTheHistory renders a hostile run as Markdown: the
// verdict table and the anomalies are there, and nothing from the history
// can open a tag, a link, a code span, a table cell or a mention.
func TestMarkdownEscapesTheHistory(t *testing.T) {
	rep := hostileReport(t)
	var b bytes.Buffer
	if err := WriteMarkdown(&b, rep, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| Model | Verdict | Anomalies | Time |", "| linearizable | ❌ invalid | 1 |", "#### Anomalies", "stale", "#### Undecided", "<details><summary>Measured, not judged</summary>"} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, out)
		}
	}
	// The staleness table is in a code block, whose fence is longer than
	// the backticks inside; the rest must hold nothing unescaped.
	before, code, _ := strings.Cut(out, "  ```\n  key ")
	code, after, ok := strings.Cut(code, "\n  ```\n")
	if !ok || strings.Contains(code, "\n  ```") {
		t.Errorf("the staleness table is not in a fence longer than its backticks:\n%s", out)
	}
	before += after
	for _, bad := range []string{"<script", "</style", "[l](", "`*x*`", "@octocat", "#1", "\x1b", "]]>"} {
		if strings.Contains(before, bad) {
			t.Errorf("Markdown holds %q unescaped:\n%s", bad, out)
		}
	}
	// Every table row has its five pipes: no value ended a cell.
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 5 {
			t.Errorf("table row %q has a cell too many", line)
		}
	}
	if got := MarkdownEscape("a<b>&c|d@e\n"); got != `a&lt;b&gt;&amp;c\|d\@`+wordJoiner+`e\\n` {
		t.Errorf("MarkdownEscape = %q", got)
	}
}

// TestDetailsText renders each checker's details as the text report shows
// them.
func TestDetailsText(t *testing.T) {
	lag := staleness.Lags{Reads: 1, Stale: 1, Versions: staleness.Quantiles{P50: 2, P99: 2, Max: 2}, Time: &staleness.TimeQuantiles{P50: 70 * time.Millisecond, P99: 70 * time.Millisecond, Max: 70 * time.Millisecond}}
	for _, c := range []struct {
		details any
		want    string
	}{
		{&bank.Details{Accounts: 2, Total: 200, Reads: 2, WrongTotal: 1, NegativeBalance: 1},
			"2 reads of 2 accounts totalling 200 judged: 0 with the wrong accounts, 1 with the wrong total, 1 with a negative balance"},
		{&convergence.Details{Keys: 1, Judged: 1, FinalReads: 3, Diverged: 1}, "1 of 1 keys judged on 3 final reads, 1 diverged"},
		{&convergence.Details{Keys: 7, Judged: 1, FinalReads: 3, Unjudged: []any{"a", "b", "c", "d", "e", "f\x1b"}},
			"1 of 7 keys judged on 3 final reads, 0 diverged; no final read of key a, key b, key c, key d, key e and 1 more"},
		{&counter.Details{Counters: 1, Reads: 15, OutOfBounds: 15, MaxError: 15}, "15 reads of 1 counter judged, 15 out of bounds (by up to 15)"},
		{&set.Details{Sets: 1, Attempted: 2, Stable: 2, Stale: 2, WorstStale: []set.Stale{{Element: int64(1), Known: 1, Missed: 7, Delay: 8 * time.Millisecond}}},
			"2 elements added to 1 set: 2 stable, 0 lost, 0 never read, 0 unexpected; 2 stale, the worst element 1 of the set, missed by the read at index 7 begun after it was known at index 1 (8ms later)"},
		{&staleness.Details{Timed: true, Overall: lag, Keys: []staleness.KeyLags{{Key: "x", Lags: lag}}},
			"key  reads  stale  versions p50/p99/max  time p50/p99/max\nall  1      1      2/2/2                 70ms/70ms/70ms\nx    1      1      2/2/2                 70ms/70ms/70ms"},
		{&staleness.Details{Unmeasured: 2}, "no ok read to measure (2 reads not measured: nil under Knossos' convention, or values no write wrote)"},
	} {
		got, ok := DetailsText(c.details)
		if !ok || got != c.want {
			t.Errorf("%T: %q, %v; want %q", c.details, got, ok, c.want)
		}
	}
	if _, ok := DetailsText(struct{}{}); ok {
		t.Error("text for details no checker returns")
	}
}

// TestCycleDOT draws a G-single-item cycle (a wr edge, then an rw edge back)
// and draws nothing for an anomaly that is not a cycle.
func TestCycleDOT(t *testing.T) {
	a := checker.Anomaly{Kind: checker.GSingleItem, Steps: []checker.Step{
		{Index: 1, Process: history.Process(0), Value: []any{"r", "x", "\"]; evil [label=\"x"}, Rel: checker.WR},
		{Index: 3, Process: history.Process(1), Value: []any{"append", "x", int64(1)}, Rel: checker.RW},
	}}
	dot := CycleDOT(a)
	for _, want := range []string{`digraph "G-single-item"`, "T1 -> T2", "T2 -> T1", `label="wr"`, `label="rw"`} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot)
		}
	}
	if strings.Count(dot, "\n") != 8 || !strings.Contains(dot, `\"]; evil [label=\\\"x`) {
		t.Errorf("a value ended its label early:\n%s", dot)
	}
	if CycleDOT(checker.Anomaly{Kind: checker.G1a}) != "" {
		t.Error("DOT draws an anomaly that is not a cycle")
	}
}
