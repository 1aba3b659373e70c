package html

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/internal/browsertest"
	"consist/report"
)

// pageKind is one kind of report the browser tests open.
type pageKind struct {
	name string
	make func(t *testing.T) report.Report
	// anomalies: the report lists some, and selecting the first lights up
	// its operations in the timeline.
	anomalies bool
	// plots: the history has times, so the latency and rate plots are
	// drawn.
	plots bool
	// diagram is the selector of the first anomaly's drawing, if any.
	diagram string
}

var pageKinds = []pageKind{
	{name: "linearizable-stale-read", anomalies: true, diagram: "li.anomaly figure.witness svg", make: func(t *testing.T) report.Report {
		return checked(t, "register-stale-read.jsonl", readFile(t, "../../examples/register-stale-read.jsonl"), nil)
	}},
	{name: "eventual-partitions", anomalies: true, plots: true, diagram: "li.anomaly figure.witness svg", make: func(t *testing.T) report.Report {
		run := &report.RunSettings{Store: "eventual (simulated)", Workload: "register", Faults: []string{"partition"}, Clients: 8, Seed: 3,
			Started: time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC), Elapsed: "2s"}
		return checked(t, "eventual register under partitions", eventualHistory(t, 3000), run,
			checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites, checker.BoundedStaleness)
	}},
	{name: "txn-cycle", anomalies: true, diagram: "li.anomaly figure.cycle svg", make: func(t *testing.T) report.Report {
		return checked(t, "list-append with cycles", txnHistory(t), nil)
	}},
}

// TestPagesInBrowser opens each kind of report in headless Chromium: it
// loads with no console error, shows its verdict table, anomaly list,
// timeline and plots, selecting an anomaly outlines exactly its drawn
// operations, and hovering an operation shows it in full. A screenshot of
// each is written to $CONSIST_SCREENSHOTS or the test's folder.
func TestPagesInBrowser(t *testing.T) {
	b := browsertest.Start(t)
	shots := screenshotDir(t)
	for _, k := range pageKinds {
		t.Run(k.name, func(t *testing.T) {
			path := render(t, t.TempDir(), k.name, k.make(t))
			p := b.Open(t, path)
			if n := p.Count("table.verdicts tbody tr"); n == 0 {
				t.Error("no verdict table rows")
			}
			if n := p.Count("#timeline .op"); n == 0 {
				t.Error("no operation in the timeline")
			}
			if k.plots {
				if n := p.Count("#plots figure.latency svg.plot"); n != 1 {
					t.Errorf("%d latency plots, want 1", n)
				}
				if n := p.Count("#plots figure.rate svg.plot"); n != 1 {
					t.Errorf("%d rate plots, want 1", n)
				}
			}
			if k.anomalies {
				if p.Count("li.anomaly") == 0 {
					t.Fatal("no anomaly listed")
				}
				if k.diagram != "" && p.Count(k.diagram) == 0 {
					t.Errorf("no %s", k.diagram)
				}
				want := browsertest.Eval[int](p, `(() => { const ops = document.querySelector('li.anomaly[data-ops]').dataset.ops.split(' ');
					return new Set(ops.filter(k => document.querySelector('.op[data-i="' + k + '"]'))).size })()`)
				if want == 0 {
					t.Fatal("the first anomaly's operations are not in the timeline")
				}
				if n := p.Count(".op.hl"); n != 0 {
					t.Fatalf("%d operations outlined before any selection", n)
				}
				p.Click("li.anomaly .anomaly-head .kind", 0)
				got := browsertest.Eval[int](p, `new Set([...document.querySelectorAll('.op.hl')].map(e => e.dataset.i)).size`)
				if got != want {
					t.Errorf("selecting the anomaly outlined %d operations, want its %d", got, want)
				}
				if !browsertest.Eval[bool](p, `document.querySelector('li.anomaly').classList.contains('selected')`) {
					t.Error("the selected anomaly is not marked")
				}
			}
			p.Hover("#timeline .op", 0)
			tip := browsertest.Eval[string](p, `document.getElementById('tip').hidden ? '' : document.getElementById('tip').textContent`)
			if !strings.Contains(tip, "process ") || !strings.Contains(tip, "index ") {
				t.Errorf("hovering an operation shows %q, not the operation in full", tip)
			}
			p.Do(`window.scrollTo(0, 0)`)
			p.Screenshot(filepath.Join(shots, k.name+".png"))
			for _, m := range p.Messages() {
				if m.IsError() || m.Type == "warning" {
					t.Errorf("console: %s", m)
				}
			}
		})
	}
}
