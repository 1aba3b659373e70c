package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"consist/checker"
)

func TestWriteTextShowsVerdictsReasonsAndWitnesses(t *testing.T) {
	var b bytes.Buffer
	err := WriteText(&b, FileResult{File: "h.jsonl", Format: "jsonl", Ops: 3, Processes: 2, Results: []checker.Result{
		{Model: checker.Linearizable, Verdict: checker.Invalid, Reason: "1 object(s) left unchecked", Stats: checker.Stats{Duration: 1500 * time.Microsecond},
			Anomalies: []checker.Anomaly{{Kind: "stale-read", Key: "x", Ops: []int64{1, 5, 9}, Explanation: "Process 2's read returned 1."}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"h.jsonl (jsonl, 3 operations, 2 processes)", "linearizable", "invalid", "1.5ms",
		"linearizable invalid: 1 object(s) left unchecked", `stale-read on key "x", operations 1, 5, 9`, "Process 2's read returned 1."} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWriteTextReportsAFileError(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, FileResult{File: "bad.edn", Error: "bad.edn:3: the op map is never closed"}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "bad.edn: error: bad.edn:3: the op map is never closed\n" {
		t.Errorf("got %q", got)
	}
}

func TestWorstVerdict(t *testing.T) {
	f := FileResult{Results: []checker.Result{{Verdict: checker.Valid}, {Verdict: checker.Unknown}, {Verdict: checker.Valid}}}
	if f.Worst() != checker.Unknown {
		t.Errorf("worst of valid, unknown = %s", f.Worst())
	}
}

// textDetails is a Details value with a Text method, as the measures'.
type textDetails string

func (d textDetails) Text() string { return string(d) }

func TestWriteTextShowsMeasurementsApart(t *testing.T) {
	var b bytes.Buffer
	err := WriteText(&b, FileResult{File: "h.edn", Format: "edn", Ops: 3, Processes: 2, Results: []checker.Result{
		{Model: checker.Linearizable, Verdict: checker.Valid},
		{Model: checker.Sequential, Verdict: checker.Valid, ImpliedBy: checker.Linearizable, Reason: "implied"},
		{Model: checker.BoundedStaleness, Verdict: checker.Measured, Reason: "no staleness bound was given", Details: textDetails("key  reads\nall  3")},
		{Model: checker.Convergence, Verdict: checker.Measured, Reason: "no read began after the last write"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	table, rest, ok := strings.Cut(out, "Measured, not judged")
	if !ok {
		t.Fatalf("no measurements section:\n%s", out)
	}
	if strings.Contains(table, "bounded-staleness") || strings.Contains(table, "convergence") || strings.Contains(table, "measured") {
		t.Errorf("a measurement is among the verdicts:\n%s", out)
	}
	for _, want := range []string{"  bounded-staleness: no staleness bound was given\n    key  reads\n    all  3\n", "  convergence: no read began after the last write\n"} {
		if !strings.Contains(rest, want) {
			t.Errorf("measurements lack %q:\n%s", want, out)
		}
	}
	if !strings.Contains(table, "Strongest models that hold: linearizable") {
		t.Errorf("the verdicts' summary is missing:\n%s", out)
	}
}

func TestWriteTextSaysWhichModelWasCheckedUnasked(t *testing.T) {
	var b bytes.Buffer
	err := WriteText(&b, FileResult{File: "h.edn", Format: "edn", Ops: 3, Processes: 2, Results: []checker.Result{
		{Model: checker.Causal, Verdict: checker.Valid, ImpliedBy: checker.Linearizable, Reason: "implied"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "valid, implied because linearizable holds (linearizable was checked too, though not asked): causal"; !strings.Contains(b.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, b.String())
	}
}

func TestAMeasurementIsNeverWorse(t *testing.T) {
	f := FileResult{Results: []checker.Result{{Verdict: checker.Valid}, {Verdict: checker.Measured}}}
	if f.Worst() != checker.Valid {
		t.Errorf("worst of valid, measured = %s, want valid", f.Worst())
	}
}
