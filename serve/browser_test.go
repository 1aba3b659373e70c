package serve

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/browsertest"
	"consist/report"
	reporthtml "consist/report/html"
	"consist/report/porcupine"
	"consist/run/folder"
)

// watch runs in every page before the page's own scripts: a payload that
// runs records itself in __consistRan.
const watch = `window.__consistRan = [];`

// injected lists the elements a payload would add to a page of the
// server, which has none of these of its own.
const injected = `[...document.querySelectorAll('script, img, svg, iframe, object, embed, link, meta[http-equiv=refresh]')].map(e => e.outerHTML.slice(0, 80))`

// TestBrowserRunsNothingFromARun opens the listing and the results page
// of a run whose store, workload, faults, verdict reason and history hold
// script in every HTML context, and its history and an HTML file that
// calls alert, in headless Chromium: no payload runs, no dialog opens, no
// element is injected, and the listing shows the values as text. With
// CONSIST_SCREENSHOTS=DIR it leaves screenshots in DIR. In the same
// browser, a served HTML report still works (servedReportWorks).
func TestBrowserRunsNothingFromARun(t *testing.T) {
	b := browsertest.Start(t)
	t.Run("served report works", func(t *testing.T) { servedReportWorks(t, b) })
	store := t.TempDir()
	run := writeRun(t, store, "t", "r", hostile, hostile, hostile, time.Now(), results(t, "invalid", hostile))
	write(t, filepath.Join(run, "history.jsonl"), `{"type":"invoke","process":0,"f":"write","key":"x","value":"`+strings.ReplaceAll(hostile, `"`, `\"`)+`"}`+"\n")
	// An HTML file of the run folder (a report) runs its scripts, but
	// sandboxed: alert opens no dialog, and no request leaves the page.
	write(t, filepath.Join(run, "evil.html"), `<!doctype html><script>window.alerted = true; alert('evil'); fetch('/').then(() => { window.fetched = 'yes' }, () => { window.fetched = 'refused' })</script>`)
	writeRun(t, store, "t", "s", "paxos", "register", "partition", time.Now().Add(-time.Hour), results(t, "valid", ""))
	ts := start(t, store)
	for _, c := range []struct {
		path string
		kind string // page: the server's; file: a file served as text; html: an HTML file of the run
		text bool   // the page shows the hostile store as text
	}{
		{"/", "page", true},
		{"/runs/t/r", "page", false},
		{"/files/t/r/history.jsonl", "file", false},
		{"/files/t/r/run.json", "file", false},
		{"/files/t/r/evil.html", "html", false},
	} {
		t.Run(strings.ReplaceAll(c.path, "/", "_"), func(t *testing.T) {
			p := b.OpenURL(t, ts.URL+c.path, watch)
			switch c.kind {
			case "page":
				if ran := browsertest.Eval[[]int](p, `window.__consistRan`); len(ran) != 0 {
					t.Errorf("payloads %v ran", ran)
				}
				if els := browsertest.Eval[[]string](p, injected); len(els) != 0 {
					t.Errorf("elements injected: %q", els)
				}
			case "file":
				// Sandboxed without scripts: not even the watch runs; the
				// file is shown as text, holding the payload as text.
				if got := browsertest.Eval[string](p, `document.contentType`); got != "text/plain" && got != "application/json" {
					t.Errorf("the file is shown as %s, want text", got)
				}
				if els := browsertest.Eval[[]string](p, injected); len(els) != 0 {
					t.Errorf("elements injected: %q", els)
				}
				if text := browsertest.Eval[string](p, `document.body.innerText`); !strings.Contains(text, "__consistRan.push(1)") {
					t.Errorf("the file does not show the payload as text:\n%s", text)
				}
			case "html":
				p.WaitFor(`window.fetched !== undefined`, 10*time.Second)
				if got := browsertest.Eval[string](p, `window.fetched`); got != "refused" || !browsertest.Eval[bool](p, `window.alerted === true`) {
					t.Errorf("the HTML file's request: %s, want refused", got)
				}
			}
			if d := p.Dialogs(); len(d) != 0 {
				t.Errorf("dialogs opened: %v", d)
			}
			if c.text {
				text := browsertest.Eval[string](p, `document.body.innerText`)
				if !strings.Contains(text, "<script>__consistRan.push(1);alert(1)</script>") || !strings.Contains(text, "paxos") {
					t.Errorf("the page does not show the run's values as text:\n%s", text)
				}
				if errs := p.Errors(); len(errs) != 0 {
					t.Errorf("console errors: %v", errs)
				}
			}
			if dir := os.Getenv("CONSIST_SCREENSHOTS"); dir != "" {
				p.Screenshot(filepath.Join(dir, "serve"+strings.ReplaceAll(c.path, "/", "_")+".png"))
			}
		})
	}
}

// servedReportWorks serves a run's HTML report (report/html) and
// Porcupine's page (what check --html writes) from a run folder: under
// the server's sandboxing policy their scripts still run and draw, with
// no console error.
func servedReportWorks(t *testing.T, b *browsertest.Browser) {
	store := t.TempDir()
	run := writeRun(t, store, "t", "r", "paxos", "register", "none", time.Now(), "")
	h, err := history.Parse([]byte(`{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":null}
`), "h.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(run, "porcupine.html"))
	if err != nil {
		t.Fatal(err)
	}
	if err := porcupine.WriteHTML(context.Background(), f, h, checker.Options{Timeout: 10 * time.Second}, "x"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	fr := report.FileResult{File: "h.jsonl", Format: "jsonl", Ops: len(h.Ops), Processes: h.Processes(),
		Results: suite.Check(context.Background(), h, checker.Options{}, checker.Linearizable)}
	var page bytes.Buffer
	if err := reporthtml.Write(&page, report.Report{Title: "h.jsonl", Files: []report.FileResult{fr}, History: h}); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(run, folder.ReportFile), page.String())
	ts := start(t, store)
	p := b.OpenURL(t, ts.URL+"/", watch)
	if n := p.Count(`a[href="/files/t/r/report.html"]`); n != 1 {
		t.Fatalf("%d links to the report, want 1", n)
	}
	p = b.OpenURL(t, ts.URL+"/files/t/r/report.html")
	if rows, ops := p.Count("table.verdicts tbody tr"), p.Count("#timeline .op"); rows != 1 || ops != 2 {
		t.Errorf("the served report shows %d verdicts and %d operations, want 1 and 2: %v", rows, ops, p.Messages())
	}
	if errs := p.Errors(); len(errs) != 0 {
		t.Errorf("console errors in the served report: %v", errs)
	}
	p = b.OpenURL(t, ts.URL+"/files/t/r/porcupine.html")
	if n := p.Count(".history-text"); n != 2 {
		t.Errorf("the served page drew %d operations, want 2: %v", n, p.Messages())
	}
	if errs := p.Errors(); len(errs) != 0 {
		t.Errorf("console errors: %v", errs)
	}
}
