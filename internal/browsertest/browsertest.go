// Package browsertest drives a headless Chromium for tests of the pages
// consist writes and serves: open a file:// page or a URL, hover or click
// its elements by CSS selector as a mouse would, evaluate JavaScript in
// it, wait for a condition, and read what it wrote to the console
// (exceptions and Content-Security-Policy violations included) and the
// dialogs it opened (alert, confirm, prompt: each is dismissed).
//
// The browser is Debian's chromium (/usr/bin/chromium, or
// $CONSIST_CHROMIUM), which scripts/chromium.sh installs; `make test` runs
// that and sets CONSIST_REQUIRE_SERVERS=1, so there a missing browser
// fails the test instead of skipping it. It is driven through the
// DevTools protocol by github.com/chromedp/chromedp.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"consist/internal/servertest"
)

// DefaultPath is where Debian's chromium package installs the browser.
const DefaultPath = "/usr/bin/chromium"

// PathEnv, when set, names the Chromium binary to use instead.
const PathEnv = "CONSIST_CHROMIUM"

// Timeout bounds each step a Page takes (an open, a hover, an evaluation),
// and StartTimeout the browser's start: a browser or page that hangs fails
// its test rather than the whole run. Both are far above what a step takes
// (milliseconds; a start, about a second) so that a machine busy with
// other tests does not fail them.
const (
	Timeout      = 30 * time.Second
	StartTimeout = 60 * time.Second
)

// Path returns the Chromium binary the tests use.
func Path() string {
	if p := os.Getenv(PathEnv); p != "" {
		return p
	}
	return DefaultPath
}

// Flags are the command-line switches Chromium starts with beside
// chromedp's defaults: headless, no sandbox (the tests run as root), no
// GPU, and none of the background connections that this machine's closed
// network refuses or answers slowly. Each browser also gets a fresh
// --user-data-dir.
var Flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
}

// Browser is one headless Chromium, stopped when its test ends.
type Browser struct {
	ctx context.Context // the browser's chromedp context
}

// Start starts a headless Chromium for t and stops it, deleting its
// profile, when t ends. It skips t when Chromium is not installed, or
// fails it when CONSIST_REQUIRE_SERVERS=1.
func Start(t testing.TB) *Browser {
	t.Helper()
	path := Path()
	if _, err := os.Stat(path); err != nil {
		servertest.Missing(t, path+" is not installed: run scripts/chromium.sh install (as root), or set "+PathEnv+" to a Chromium binary")
	}
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser, under no deadline: a deadline on
	// that context would stop the whole browser when it passes.
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(ctx) }()
	select {
	case err := <-start:
		if err != nil {
			t.Fatalf("start %s: %v", path, err)
		}
	case <-time.After(StartTimeout):
		t.Fatalf("start %s: no answer within %s: check that it runs with --%s", path, StartTimeout, strings.Join(Flags, " --"))
	}
	return &Browser{ctx: ctx}
}

// Message is one line of a page's console: a call of the console API, an
// uncaught exception, or an entry of the browser's log (such as a
// Content-Security-Policy violation or a resource that failed to load).
type Message struct {
	// Type is "log", "info", "warning", "error", "debug", "exception" or
	// "dialog".
	Type string
	// Source names the part of the browser that logged it ("security",
	// "network", ...); empty for the console API and exceptions.
	Source string
	// Text is what the DevTools console shows.
	Text string
}

// IsError reports whether the message is an error or an exception.
func (m Message) IsError() bool { return m.Type == "error" || m.Type == "exception" }

func (m Message) String() string {
	if m.Source != "" {
		return m.Type + " (" + m.Source + "): " + m.Text
	}
	return m.Type + ": " + m.Text
}

// Page is one tab of a Browser, showing one page.
type Page struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	messages []Message
}

// Open opens the file at path in a new tab and waits until it has loaded
// (its scripts have run and its load event has fired). Each of the init
// scripts runs in the page before any of the page's own, as the page's
// Content-Security-Policy does not apply to them: a test uses them to
// install hooks that watch what the page does. The tab closes when t
// ends.
func (b *Browser) Open(t testing.TB, path string, init ...string) *Page {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	u := url.URL{Scheme: "file", Path: abs}
	return b.OpenURL(t, u.String(), init...)
}

// OpenURL opens the address u (a test server's, on loopback) in a new
// tab, as Open opens a file.
func (b *Browser) OpenURL(t testing.TB, u string, init ...string) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	p := &Page{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, p.record); err != nil {
		t.Fatalf("open a tab for %s: %v", u, err)
	}
	// Durations in the page's metrics are CPU time of its thread (see
	// Metrics), so that a busy machine does not inflate them.
	steps := []chromedp.Action[chromedp.Void]{chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, performance.Enable, performance.EnableParams{TimeDomain: performance.EnableTimeDomainThreadTicks})
		return err
	})}
	for _, src := range init {
		steps = append(steps, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
			return err
		}))
	}
	steps = append(steps, chromedp.Navigate(u))
	p.do("open "+u, chromedp.Steps(steps...))
	return p
}

// record keeps a console message. It runs on chromedp's reader, before
// the reply to any command sent after the message, so a Messages call
// after an action sees what the action caused synchronously.
func (p *Page) record(ev any) {
	var m Message
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			switch {
			case a.Type == "string":
				var s string
				if json.Unmarshal(a.Value, &s) == nil {
					parts = append(parts, s)
					continue
				}
			case a.Value != nil:
				parts = append(parts, string(a.Value))
				continue
			}
			parts = append(parts, a.Description)
		}
		m = Message{Type: string(e.Type), Text: strings.Join(parts, " ")}
		if m.Type == "warn" {
			m.Type = "warning"
		}
	case *runtime.EventExceptionThrown:
		text := e.ExceptionDetails.Text
		if ex := e.ExceptionDetails.Exception; ex != nil && ex.Description != "" {
			text += " " + ex.Description
		}
		m = Message{Type: "exception", Text: text}
	case *page.EventJavascriptDialogOpening:
		m = Message{Type: "dialog", Source: string(e.Type), Text: e.Message}
		// The page waits until the dialog is answered: dismiss it, from
		// another goroutine, as this one reads the browser's messages.
		go func() {
			_, _ = chromedp.Run(p.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
				return err
			}))
		}()
	case *log.EventEntryAdded:
		level := string(e.Entry.Level)
		if level == "verbose" {
			level = "debug"
		}
		m = Message{Type: level, Source: string(e.Entry.Source), Text: e.Entry.Text}
	default:
		return
	}
	p.mu.Lock()
	p.messages = append(p.messages, m)
	p.mu.Unlock()
}

// Messages returns every console message the page has written so far.
func (p *Page) Messages() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Message(nil), p.messages...)
}

// Dialogs returns the dialogs (alert, confirm, prompt) the page opened so
// far, each a Message of Type "dialog" whose Source is the kind and Text
// the message; each was dismissed.
func (p *Page) Dialogs() []Message {
	var out []Message
	for _, m := range p.Messages() {
		if m.Type == "dialog" {
			out = append(out, m)
		}
	}
	return out
}

// Errors returns the console's errors and exceptions so far.
func (p *Page) Errors() []Message {
	var errs []Message
	for _, m := range p.Messages() {
		if m.IsError() {
			errs = append(errs, m)
		}
	}
	return errs
}

func (p *Page) do(what string, a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, a); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates the JavaScript expression in the page, awaiting it when
// it is a promise, and decodes its value (as JSON) into T; it fails the
// test when the expression throws or the value does not decode.
func Eval[T any](p *Page, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// Do evaluates the JavaScript expression for its effect, as Eval does.
func (p *Page) Do(js string) { p.t.Helper(); Eval[chromedp.Void](p, js) }

// WaitFor waits until the JavaScript expression is truthy, checking at
// every animation frame, and fails the test when it is not within
// timeout.
func (p *Page) WaitFor(js string, timeout time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout+time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(timeout))); err != nil {
		p.t.Fatalf("wait %s for %s: %v", timeout, js, err)
	}
}

// Count returns how many elements match the CSS selector.
func (p *Page) Count(selector string) int {
	p.t.Helper()
	return Eval[int](p, "document.querySelectorAll("+quote(selector)+").length")
}

// point scrolls the i-th element matching selector into view and returns
// the centre of its box, failing the test when there is no such element
// or another element lies on top of that point (a mouse there would not
// reach it).
func (p *Page) point(selector string, i int) (x, y float64) {
	p.t.Helper()
	type spot struct {
		Found, Hit bool
		X, Y       float64
		Top        string
	}
	s := Eval[spot](p, fmt.Sprintf(`(() => {
		const el = document.querySelectorAll(%s)[%d]
		if (!el) return {Found: false}
		el.scrollIntoView({block: 'center', inline: 'center'})
		const r = el.getBoundingClientRect()
		const x = r.left + r.width / 2, y = r.top + r.height / 2
		const top = document.elementFromPoint(x, y)
		return {Found: true, Hit: top === el || el.contains(top), X: x, Y: y, Top: top ? top.outerHTML.slice(0, 200) : 'nothing'}
	})()`, quote(selector), i))
	if !s.Found {
		p.t.Fatalf("no element %d matches %s", i, selector)
	}
	if !s.Hit {
		p.t.Fatalf("element %d of %s is covered at its centre (%.0f, %.0f) by %s", i, selector, s.X, s.Y, s.Top)
	}
	return s.X, s.Y
}

// Hover moves the mouse onto the centre of the i-th element (from 0)
// matching the CSS selector, scrolling it into view first, so that the
// page gets the mouseover and mousemove events a person's mouse would
// cause.
func (p *Page) Hover(selector string, i int) {
	p.t.Helper()
	x, y := p.point(selector, i)
	p.do(fmt.Sprintf("hover %s [%d]", selector, i), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y))
}

// HoverAll hovers every element matching the CSS selector in turn, calling
// after (when not nil) once the page has handled each hover, and returns
// how many it hovered.
func (p *Page) HoverAll(selector string, after func(i int)) int {
	p.t.Helper()
	n := p.Count(selector)
	for i := range n {
		p.Hover(selector, i)
		if after != nil {
			after(i)
		}
	}
	return n
}

// Click clicks the left button on the centre of the i-th element matching
// the CSS selector, as Hover moves there.
func (p *Page) Click(selector string, i int) {
	p.t.Helper()
	x, y := p.point(selector, i)
	p.do(fmt.Sprintf("click %s [%d]", selector, i), chromedp.MouseClickXY(x, y))
}

// Metrics returns the page's run-time metrics, as the DevTools protocol's
// Performance domain names them. The durations (TaskDuration,
// ScriptDuration, LayoutDuration, RecalcStyleDuration, in seconds) are the
// CPU time the page's main thread spent since it opened, which a loaded
// machine does not inflate as it does wall-clock time; Nodes and
// LayoutObjects count what the page holds.
func (p *Page) Metrics() map[string]float64 {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	var res performance.GetMetricsResult
	if _, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		res, err = cdp.Call(ctx, t, performance.GetMetrics, cdp.Empty{})
		return err
	})); err != nil {
		p.t.Fatalf("read the page's metrics: %v", err)
	}
	out := make(map[string]float64, len(res.Metrics))
	for _, m := range res.Metrics {
		out[m.Name] = m.Value
	}
	return out
}

// Screenshot writes a PNG of the whole page to path.
func (p *Page) Screenshot(path string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
}

// quote writes s as a JavaScript string literal.
func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
