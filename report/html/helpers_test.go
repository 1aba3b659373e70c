package html

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/histgen"
	"consist/internal/txngen"
	"consist/report"
)

// checked checks h against models (every applicable one when none) and
// returns its report.
func checked(t testing.TB, title string, h *history.History, run *report.RunSettings, models ...checker.Model) report.Report {
	t.Helper()
	res := suite.Check(context.Background(), h, checker.Options{Timeout: time.Minute}, models...)
	fr := report.FileResult{File: h.Source, Format: h.Format.String(), Ops: len(h.Ops), Processes: h.Processes(), Results: res}
	return report.Report{Title: title, Run: run, Files: []report.FileResult{fr}, History: h}
}

// readFile reads a history file of the repository.
func readFile(t testing.TB, path string) *history.History {
	t.Helper()
	h, err := history.ReadFile(path, history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// withFaults adds nemesis events to a timed history: each fault starts at
// its first time and stops at its second (nanoseconds), recorded as
// nemesis.Nemesis records them.
func withFaults(t testing.TB, h *history.History, kind string, value any, spans ...[2]int64) *history.History {
	t.Helper()
	events := slices.Clone(h.Events)
	for _, s := range spans {
		events = append(events,
			history.Event{Type: history.Info, Process: history.Nemesis, F: "start-" + kind, Value: value, HasValue: true, Time: s[0]},
			history.Event{Type: history.Info, Process: history.Nemesis, F: "stop-" + kind, Value: value, HasValue: true, Time: s[1]})
	}
	slices.SortStableFunc(events, func(a, b history.Event) int {
		switch {
		case a.Time < b.Time:
			return -1
		case a.Time > b.Time:
			return 1
		}
		return 0
	})
	for i := range events {
		events[i].Index = int64(i)
	}
	out, err := history.New(h.Source, events)
	if err != nil {
		t.Fatal(err)
	}
	out.Format = h.Format
	return out
}

// eventualHistory is a history of the simulated eventual store (switching
// replicas breaks read-your-writes and monotonic reads) of n operations,
// with partitions over the second and fourth fifths of it.
func eventualHistory(t testing.TB, n int) *history.History {
	t.Helper()
	h, err := histgen.New(histgen.Config{Seed: 3, Store: histgen.Eventual, Processes: 8, Ops: n, Keys: 3, CrashRate: 0.01,
		Timestamps: true, FinalReads: true, SwitchRate: 0.02, Delay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h.Source = "eventual-partitions.jsonl"
	_, end := bounds(h, newClock(h))
	return withFaults(t, h, "partition", []any{[]any{"n1", "n2"}, []any{"n3"}}, [2]int64{end / 5, 2 * end / 5}, [2]int64{3 * end / 5, 4 * end / 5})
}

// txnHistory is a list-append history with a G1c cycle and a lost update
// injected.
func txnHistory(t testing.TB) *history.History {
	t.Helper()
	h, _, err := txngen.History(context.Background(), txngen.Config{Seed: 2, Txns: 300, Processes: 5, Keys: 6,
		Inject: []txngen.Injection{{Anomaly: txngen.G1c, At: 100}, {Anomaly: txngen.GSingle, At: 200}}})
	if err != nil {
		t.Fatal(err)
	}
	h.Source = "list-append-cycles.jsonl"
	return h
}

// render writes r to dir/name.html and returns the page's path.
func render(t testing.TB, dir, name string, r report.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// screenshotDir is $CONSIST_SCREENSHOTS when set, else the test's
// temporary folder.
func screenshotDir(t testing.TB) string {
	if d := os.Getenv("CONSIST_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}
