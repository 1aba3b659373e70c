package report

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/staleness"
	"consist/checker/suite"
	"consist/checker/txn"
	"consist/history"
)

func TestWriteTextShowsVerdictsReasonsAndWitnesses(t *testing.T) {
	var b bytes.Buffer
	err := WriteText(&b, Report{Files: []FileResult{{File: "h.jsonl", Format: "jsonl", Ops: 3, Processes: 2, Results: []checker.Result{
		{Model: checker.Linearizable, Verdict: checker.Invalid, Reason: "1 object(s) left unchecked", Stats: checker.Stats{Duration: 1500 * time.Microsecond},
			Anomalies: []checker.Anomaly{{Kind: "stale-read", Key: "x", Ops: []int64{1, 5, 9}, Sentence: checker.Say("Process 2's read returned 1.")}}},
	}}}})
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
	if err := WriteText(&b, Report{Files: []FileResult{{File: "bad.edn", Error: "bad.edn:3: the op map is never closed"}}}); err != nil {
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

func TestWriteTextShowsMeasurementsApart(t *testing.T) {
	var b bytes.Buffer
	err := WriteText(&b, Report{Files: []FileResult{{File: "h.edn", Format: "edn", Ops: 3, Processes: 2, Results: []checker.Result{
		{Model: checker.Linearizable, Verdict: checker.Valid},
		{Model: checker.Sequential, Verdict: checker.Valid, ImpliedBy: checker.Linearizable, Reason: "implied"},
		{Model: checker.BoundedStaleness, Verdict: checker.Measured, Reason: "no staleness bound was given", Details: &staleness.Details{Overall: staleness.Lags{Reads: 3}}},
		{Model: checker.Convergence, Verdict: checker.Measured, Reason: "no read began after the last write"},
	}}}})
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
	for _, want := range []string{"  bounded-staleness: no staleness bound was given\n    key  reads  stale  versions p50/p99/max\n    all  3      0      0/0/0\n", "  convergence: no read began after the last write\n"} {
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
	err := WriteText(&b, Report{Files: []FileResult{{File: "h.edn", Format: "edn", Ops: 3, Processes: 2, Results: []checker.Result{
		{Model: checker.Causal, Verdict: checker.Valid, ImpliedBy: checker.Linearizable, Reason: "implied"},
	}}}})
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

// Nothing a history holds reaches the terminal raw: node, f, error, keys,
// values and the file name are escaped, so no line can be forged and no
// colour set.
func TestWriteTextEscapesEverythingFromTheHistory(t *testing.T) {
	const evil = `\u001b[31m\r\nFORGED\u202e`
	data := `{"type":"invoke","process":0,"f":"write","key":"x` + evil + `","value":"a` + evil + `"}
{"type":"ok","process":0,"f":"write","key":"x` + evil + `","value":"a` + evil + `","node":"n1` + evil + `"}
{"type":"invoke","process":0,"f":"write","key":"x` + evil + `","value":"b"}
{"type":"ok","process":0,"f":"write","key":"x` + evil + `","value":"b"}
{"type":"invoke","process":1,"f":"read","key":"x` + evil + `","value":null}
{"type":"ok","process":1,"f":"read","key":"x` + evil + `","value":"a` + evil + `","node":"n2` + evil + `"}
{"type":"invoke","process":2,"f":"fetch` + evil + `","key":"y"}
{"type":"info","process":2,"f":"fetch` + evil + `","key":"y","error":"boom` + evil + `"}
`
	h, err := history.Parse([]byte(data), "h\x1b]0;title\x07.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := history.Parse([]byte(strings.Join(strings.Split(data, "\n")[:6], "\n")), "reg.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	lin := linearizable.Check(context.Background(), reg, checker.Options{})
	if lin.Verdict != checker.Invalid || len(lin.Anomalies) != 1 {
		t.Fatalf("linearizable: %s %v", lin.Verdict, lin.Anomalies)
	}
	results := append([]checker.Result{lin}, suite.Check(context.Background(), h, checker.Options{}, checker.Linearizable)...)
	var b bytes.Buffer
	if err := WriteText(&b, Report{Files: []FileResult{{File: h.Source, Format: "jsonl", Ops: len(h.Ops), Results: results}}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"\x1b", "\r", "\u202e", "\x07", "\nFORGED"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{`h\x1b]0;title\x07.jsonl`, `on node n2\x1b[31m\r\nFORGED\u202e`, `"a\x1b[31m\r\nFORGED\u202e"`, `fetch\x1b`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var e bytes.Buffer
	if err := WriteText(&e, Report{Files: []FileResult{{File: "bad\n.jsonl", Error: "line 3: \x1b[2Jcleared"}}}); err != nil {
		t.Fatal(err)
	}
	if got := e.String(); got != `bad\n.jsonl: error: line 3: \x1b[2Jcleared`+"\n" {
		t.Errorf("error line %q", got)
	}
}

// An anomaly several models found is printed once, with the models it
// breaks, its operations by index and line, and an integer key as a key.
func TestWriteTextPrintsASharedAnomalyOnce(t *testing.T) {
	h, err := history.Parse([]byte(`{"type":"invoke","process":0,"f":"read","key":1,"value":null}
{"type":"ok","process":0,"f":"read","key":1,"value":5}
`), "thin.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	results := suite.Check(context.Background(), h, checker.Options{}, checker.Linearizable, checker.Sequential, checker.MonotonicReads)
	var b bytes.Buffer
	if err := WriteText(&b, Report{Files: []FileResult{{File: "thin.jsonl", Format: "jsonl", Ops: 1, Processes: 1, Results: results}}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "unwritten-read on key 1"); n != 1 {
		t.Errorf("the unwritten read is printed %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, ": unwritten-read on key 1, operation 1 (line 2)\n") || !strings.Contains(out, "monotonic-reads") {
		t.Errorf("output:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "unwritten-read on key 1") && strings.Count(line, ", ") < 1 {
			t.Errorf("the anomaly line names one model: %q", line)
		}
	}
}

func TestWriteTextShowsWarnings(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, Report{Files: []FileResult{{File: "h.edn", Format: "edn", Warnings: []string{"time goes backwards\x1b[2J"}}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "warning: time goes backwards\\x1b[2J\n") {
		t.Fatalf("output:\n%s", b.String())
	}
}

// Each anomaly is followed by what it rules out, as Elle's :not and
// :also-not say it: a G-single-item cycle (read skew) is not
// repeatable-read nor consistent-view (Adya's PL-2.99 and PL-2+), and so
// not any model stronger; read-committed stands.
func TestWriteTextSaysWhatEachAnomalyRulesOut(t *testing.T) {
	h, err := history.Parse([]byte(strings.Join([]string{
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[1]],["r","y",[]]]}`,
	}, "\n")), "skew.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	rs := txn.Checker{}.CheckModels(context.Background(), h, checker.Options{}, checker.Serializable, checker.RepeatableRead, checker.ReadCommitted)
	var b bytes.Buffer
	if err := WriteText(&b, Report{Files: []FileResult{{File: "skew.jsonl", Format: "jsonl", Ops: 2, Processes: 2, Results: rs}}}); err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "  G-single-item: not ") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no line says what the G-single-item cycle rules out:\n%s", b.String())
	}
	not, also, ok := strings.Cut(strings.TrimPrefix(line, "  G-single-item: not "), "; also not ")
	if !ok || not != "repeatable-read, consistent-view" {
		t.Errorf("not %q, want repeatable-read, consistent-view: %q", not, line)
	}
	for _, m := range []string{"strict-serializable", "serializable", "snapshot-isolation", "update-serializable"} {
		if !slices.Contains(strings.Split(also, ", "), m) {
			t.Errorf("also not lacks %s: %q", m, line)
		}
	}
	if strings.Contains(line, "read-committed") || strings.Contains(line, "cursor-stability") {
		t.Errorf("read-committed and cursor-stability hold, but the line rules them out: %q", line)
	}
	// JSON carries the same.
	j, err := json.Marshal(rs[0].Anomalies[0])
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Kind    string   `json:"kind"`
		Not     []string `json:"not"`
		AlsoNot []string `json:"also_not"`
	}
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	wantNot, _ := checker.Boundary(checker.Kind(back.Kind))
	if len(back.Not) == 0 || len(back.Not) != len(wantNot) || len(back.AlsoNot) == 0 {
		t.Errorf("JSON of a %s: not %v, also_not %v; want not %v and some also_not", back.Kind, back.Not, back.AlsoNot, wantNot)
	}
}

// A write skew between two update transactions is told as a G-update
// cycle (Adya's PL-3U phenomenon) with its explanation, followed by what
// it rules out: update-serializable, and so every model stronger; snapshot
// isolation, which allows write skew, stands.
func TestWriteTextTellsGUpdate(t *testing.T) {
	h, err := history.Parse([]byte(strings.Join([]string{
		`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","y",null],["append","x",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r","x",[]],["append","y",1]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","y",[]],["append","x",1]]}`,
	}, "\n")), "skew.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	rs := txn.Checker{}.CheckModels(context.Background(), h, checker.Options{}, checker.UpdateSerializable, checker.SnapshotIsolation)
	if rs[0].Verdict != checker.Invalid || rs[1].Verdict != checker.Valid {
		t.Fatalf("update-serializable %s, snapshot-isolation %s: want invalid, valid", rs[0].Verdict, rs[1].Verdict)
	}
	var b bytes.Buffer
	if err := WriteText(&b, Report{Files: []FileResult{{File: "skew.jsonl", Format: "jsonl", Ops: 2, Processes: 2, Results: rs}}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "G-update cycle of 2 transactions, every one an update transaction (it writes): T1 is ") {
		t.Errorf("no G-update explanation:\n%s", out)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  G-update: not ") {
			line = l
		}
	}
	not, also, ok := strings.Cut(strings.TrimPrefix(line, "  G-update: not "), "; also not ")
	if !ok || not != "update-serializable" {
		t.Fatalf("G-update's boundary line %q, want not update-serializable:\n%s", line, out)
	}
	for _, m := range []string{"strict-serializable", "strong-session-serializable", "serializable"} {
		if !slices.Contains(strings.Split(also, ", "), m) {
			t.Errorf("also not lacks %s: %q", m, line)
		}
	}
	if strings.Contains(also, "snapshot-isolation") {
		t.Errorf("snapshot isolation holds, but the line rules it out: %q", line)
	}
}

// A fractured read is told as OTV with its explanation, then what it
// rules out: monotonic-atomic-view and every model stronger, read
// committed standing.
func TestWriteTextTellsOTV(t *testing.T) {
	h, err := history.Parse([]byte(strings.Join([]string{
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[1]],["r","y",[]]]}`,
	}, "\n")), "fractured.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	rs := txn.Checker{}.CheckModels(context.Background(), h, checker.Options{}, checker.MonotonicAtomicView, checker.ReadCommitted)
	if rs[0].Verdict != checker.Invalid || rs[1].Verdict != checker.Valid {
		t.Fatalf("monotonic-atomic-view %s, read-committed %s: want invalid, valid", rs[0].Verdict, rs[1].Verdict)
	}
	var b bytes.Buffer
	if err := WriteText(&b, Report{Files: []FileResult{{File: "fractured.jsonl", Format: "jsonl", Ops: 2, Processes: 2, Results: rs}}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `then read key "y" = [], which does not show the 1 that transaction appended to it`) || !strings.Contains(out, "observed transaction vanishes") {
		t.Errorf("no OTV explanation:\n%s", out)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  OTV: not ") {
			line = l
		}
	}
	not, also, ok := strings.Cut(strings.TrimPrefix(line, "  OTV: not "), "; also not ")
	if !ok || not != "monotonic-atomic-view" {
		t.Fatalf("OTV's boundary line %q, want not monotonic-atomic-view:\n%s", line, out)
	}
	for _, m := range []string{"repeatable-read", "snapshot-isolation", "serializable"} {
		if !slices.Contains(strings.Split(also, ", "), m) {
			t.Errorf("also not lacks %s: %q", m, line)
		}
	}
}
