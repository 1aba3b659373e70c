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
			Anomalies: []checker.Anomaly{{Kind: "stale-read", Key: "x", Ops: []int64{1, 5, 9}, Sentence: checker.Say("Process 2's read returned 1.")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"h.jsonl (jsonl, 3 operations, 2 processes)", "linearizable", "invalid", "1.5ms",
		"linearizable invalid: 1 object(s) left unchecked", `linearizable: stale-read on key x, operations 1, 5, 9`, "Process 2's read returned 1."} {
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
