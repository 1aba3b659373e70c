package html

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"consist/checker"
	"consist/internal/browsertest"
	"consist/internal/corpus"
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
	// faults: the history's nemesis faults are shaded in the timeline.
	faults bool
}

var pageKinds = []pageKind{
	{name: "linearizable-stale-read", anomalies: true, diagram: "li.anomaly figure.witness svg", make: func(t *testing.T) report.Report {
		return checked(t, "register-stale-read.jsonl", readFile(t, "../../examples/register-stale-read.jsonl"), nil)
	}},
	{name: "eventual-partitions", anomalies: true, plots: true, faults: true, diagram: "li.anomaly figure.witness svg", make: func(t *testing.T) report.Report {
		run := &report.RunSettings{Store: "eventual (simulated)", Workload: "register", Faults: []string{"partition"}, Clients: 8, Seed: 3,
			Started: time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC), Elapsed: "2s"}
		return checked(t, "eventual register under partitions", eventualHistory(t, 3000), run,
			checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites, checker.BoundedStaleness)
	}},
	// A Jepsen history: EDN, no times (the timeline is by event index), the
	// nemesis's :start and :stop shaded.
	{name: "jepsen-cas-failure", anomalies: true, faults: true, make: func(t *testing.T) report.Report {
		h := readFile(t, corpus.Require(t, "jepsen/knossos/data/cas-register/bad/cas-failure.edn"))
		return checked(t, "knossos cas-failure.edn", h, nil, checker.Linearizable)
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
			if k.faults && (p.Count("#timeline .lanes .fault") == 0 || p.Count("#map .fault") == 0) {
				t.Errorf("%d faults shaded in the timeline's windows, %d on its map", p.Count("#timeline .lanes .fault"), p.Count("#map .fault"))
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
			// Draw what the page leaves undrawn until scrolled to, for the
			// full-page shot.
			p.Do(`document.querySelectorAll('.window, li.anomaly, #plots figure, #staleness').forEach(e => e.style.contentVisibility = 'visible'); window.scrollTo(0, 0)`)
			p.Screenshot(filepath.Join(shots, k.name+".png"))
			for _, m := range p.Messages() {
				if m.IsError() || m.Type == "warning" {
					t.Errorf("console: %s", m)
				}
			}
		})
	}
}

// watch is an init script that counts dialogs and records every element
// added to the page after it loaded, so a test sees whether anything a
// history holds ran or became markup.
const watch = `
window.__dialogs = 0;
for (const f of ['alert', 'confirm', 'prompt', 'print']) window[f] = function () { window.__dialogs++; };
window.__added = [];
new MutationObserver(function (ms) {
  if (document.readyState !== 'complete') return;
  for (const m of ms) for (const n of m.addedNodes) if (n.nodeType === 1) window.__added.push(n.outerHTML.slice(0, 200));
}).observe(document, {childList: true, subtree: true});
`

// TestInjectionInBrowser opens a report whose history's keys, values,
// errors, node names and nemesis values hold script tags, quotes,
// </style>, </script> and newlines: nothing runs (no dialog, no
// variable set, no element added, one script element), with the page as
// written and with its Content-Security-Policy removed (the escaping
// alone suffices), while every payload is shown as text.
func TestInjectionInBrowser(t *testing.T) {
	b := browsertest.Start(t)
	dir := t.TempDir()
	path := render(t, dir, "hostile", hostileReport(t))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`)
	if !meta.Match(data) {
		t.Fatal("the page has no Content-Security-Policy")
	}
	open := filepath.Join(dir, "no-policy.html")
	if err := os.WriteFile(open, meta.ReplaceAll(data, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{{"with-policy", path}, {"escaping-alone", open}} {
		t.Run(c.name, func(t *testing.T) {
			p := b.Open(t, c.path, watch)
			p.HoverAll("#timeline .op", func(int) {})
			p.Click("li.anomaly .anomaly-head .kind", 0)
			p.Click("a.opref", 0)
			type state struct {
				Dialogs, Scripts, Injected int
				Pwned                      bool
				Added                      []string
				Text                       string
			}
			s := browsertest.Eval[state](p, `({Dialogs: window.__dialogs, Scripts: document.scripts.length, Pwned: window.__pwned !== undefined,
				Injected: document.querySelectorAll('img, iframe, [id^=injected], [onload], [onerror]').length, Added: window.__added,
				Text: document.body.textContent})`)
			if s.Dialogs != 0 || s.Pwned || s.Scripts != 1 || s.Injected != 0 || len(s.Added) != 0 {
				t.Errorf("something ran: %d dialogs, pwned %v, %d scripts, %d injected elements, added %q", s.Dialogs, s.Pwned, s.Scripts, s.Injected, s.Added)
			}
			for _, want := range []string{payloads[0], payloads[2], "window.__pwned=3"} {
				if !strings.Contains(s.Text, want) {
					t.Errorf("the page does not show %q as text", want)
				}
			}
			p.Hover("#timeline .op", 0)
			tip := browsertest.Eval[string](p, `document.getElementById('tip').textContent`)
			if !strings.Contains(tip, payloads[0]) {
				t.Errorf("the hover text %q does not show the key as text", tip)
			}
			for _, m := range p.Messages() {
				if m.IsError() {
					t.Errorf("console: %s", m)
				}
			}
		})
	}
}

// BenchmarkReportScale measures the report of an eventual store's history
// under partitions at 10k, 100k and 1M operations: the time to render it
// (ns/op; render-cpu-ms, the CPU time, all threads), its size (bytes), and the time headless Chromium takes to load
// it (load-ms: navigation start to the end of the load event) and to show
// it (paint-ms: first contentful paint). The targets: under 20 MB, loaded
// in under 3 s at 1M operations.
//
//	go test -run '^$' -bench ReportScale -benchtime 1x ./report/html
func BenchmarkReportScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			h := eventualHistory(b, n)
			r := checked(b, "scale", h, nil, checker.MonotonicReads, checker.ReadYourWrites, checker.MonotonicWrites)
			var page []byte
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for b.Loop() {
				var buf bytes.Buffer
				if err := Write(&buf, r); err != nil {
					b.Fatal(err)
				}
				page = buf.Bytes()
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/1e6/float64(b.N), "render-cpu-ms")
			b.ReportMetric(float64(len(page)), "bytes")
			if len(page) > 20<<20 {
				b.Errorf("the report of %d operations is %d bytes, over 20 MB", n, len(page))
			}
			path := filepath.Join(b.TempDir(), "report.html")
			if err := os.WriteFile(path, page, 0o644); err != nil {
				b.Fatal(err)
			}
			br := browsertest.Start(b)
			// The median of three loads, each in a new tab.
			type timing struct{ Load, Paint float64 }
			var loads, paints, cpus []float64
			for range 3 {
				p := br.Open(b, path)
				p.WaitFor(`performance.getEntriesByType('paint').some(e => e.name === 'first-contentful-paint')`, 30*time.Second)
				tm := browsertest.Eval[timing](p, `({Load: performance.getEntriesByType('navigation')[0].loadEventEnd,
					Paint: performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint').startTime})`)
				loads, paints = append(loads, tm.Load), append(paints, tm.Paint)
				m := p.Metrics()
				cpus = append(cpus, m["TaskDuration"]*1000)
				for _, m := range p.Errors() {
					b.Errorf("console: %s", m)
				}
				if d := os.Getenv("CONSIST_SCREENSHOTS"); d != "" && len(loads) == 1 {
					// The page is long: shoot its start, two windows and three anomalies.
					p.Do(`document.querySelectorAll('.window, li.anomaly, #plots figure, #staleness').forEach(e => e.style.contentVisibility = 'visible');
						document.querySelectorAll('.window:nth-of-type(n+4), li.anomaly:nth-of-type(n+4)').forEach(e => e.style.display = 'none')`)
					p.Screenshot(filepath.Join(d, fmt.Sprintf("scale-%d.png", n)))
				}
			}
			slices.Sort(loads)
			slices.Sort(paints)
			b.ReportMetric(loads[1], "load-ms")
			b.ReportMetric(paints[1], "paint-ms")
			slices.Sort(cpus)
			b.ReportMetric(cpus[1], "cpu-ms")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
