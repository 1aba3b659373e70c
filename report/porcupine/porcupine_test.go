package porcupine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/history"
	"consist/internal/browsertest"
)

// Each payload, run, pushes its number onto window.__consistRan, which the
// browser test's hook defines before the page's own script runs. None has
// a double quote, which history.Describe would escape into a broken
// attribute: each must be able to run where it lands unescaped.
var payloads = []string{
	`<img src=x onerror=__consistRan.push(1)>`,
	`<svg onload=__consistRan.push(2)>`,
	`</script><script>__consistRan.push(3)</script>`,
	`<details open ontoggle=__consistRan.push(4)>`,
	`<img src=x onerror=__consistRan.push(5)>`, // the key
	`<img src=x onerror=__consistRan.push(6)>`, // a node
	`<img src=x onerror=__consistRan.push(7)>`, // an error
	`<iframe srcdoc=<script>parent.__consistRan.push(8)</script>>`,
}

// hostile is a nonlinearizable register history whose key, values, node
// names and error are the payloads: process 2 reads the first value after
// four later writes (one of them unknown) replaced it, so the partial
// linearizations pass through every value as a state.
func hostile(t testing.TB) *history.History {
	t.Helper()
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	k := q(payloads[4])
	lines := []string{
		`{"type":"invoke","process":0,"f":"write","key":K,"value":P0,"time":1000}`,
		`{"type":"ok","process":0,"f":"write","key":K,"value":P0,"time":2000,"node":P5}`,
		`{"type":"invoke","process":1,"f":"read","key":K,"value":null,"time":2500}`,
		`{"type":"ok","process":1,"f":"read","key":K,"value":P0,"time":3000,"node":"n2"}`,
		`{"type":"invoke","process":3,"f":"write","key":K,"value":P2,"time":3100}`,
		`{"type":"info","process":3,"f":"write","key":K,"value":P2,"time":3200,"error":P6}`,
		`{"type":"invoke","process":4,"f":"write","key":K,"value":P3,"time":3300}`,
		`{"type":"ok","process":4,"f":"write","key":K,"value":P3,"time":3400,"node":"n1"}`,
		`{"type":"invoke","process":4,"f":"cas","key":K,"value":[P3,P7],"time":3500}`,
		`{"type":"ok","process":4,"f":"cas","key":K,"value":[P3,P7],"time":3600,"node":"n1"}`,
		`{"type":"invoke","process":0,"f":"write","key":K,"value":P1,"time":3700}`,
		`{"type":"ok","process":0,"f":"write","key":K,"value":P1,"time":4500,"node":"n1"}`,
		`{"type":"invoke","process":2,"f":"read","key":K,"value":null,"time":5000}`,
		`{"type":"ok","process":2,"f":"read","key":K,"value":P0,"time":5400,"node":"n3"}`,
	}
	r := strings.NewReplacer("K", k, "P0", q(payloads[0]), "P1", q(payloads[1]), "P2", q(payloads[2]),
		"P3", q(payloads[3]), "P5", q(payloads[5]), "P6", q(payloads[6]), "P7", q(payloads[7]))
	src := r.Replace(strings.Join(lines, "\n")) + "\n"
	h, err := history.Parse([]byte(src), t.Name(), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// nOps is how many operations hostile holds, each drawn once.
const nOps = 7

func hostilePage(t testing.TB, safety pageSafety) []byte {
	t.Helper()
	var buf bytes.Buffer
	ctx, opts := context.Background(), checker.Options{Timeout: 10 * time.Second}
	var err error
	if safety == (pageSafety{escape: true, policy: true}) {
		err = WriteHTML(ctx, &buf, hostile(t), opts, payloads[4]) // the page consist writes
	} else {
		err = writeHTML(ctx, &buf, hostile(t), opts, payloads[4], safety)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pageData decodes the data Porcupine's script draws from.
func pageData(t testing.TB, page []byte) (descriptions, states []string) {
	t.Helper()
	const marker = "const data = "
	i := bytes.Index(page, []byte(marker))
	if i < 0 {
		t.Fatalf("no %q in the page", marker)
	}
	var data struct {
		Partitions []struct {
			History []struct {
				Description, Metadata string
			}
			PartialLinearizations [][]struct{ StateDescription string }
		}
	}
	if err := json.NewDecoder(bytes.NewReader(page[i+len(marker):])).Decode(&data); err != nil {
		t.Fatalf("decode the page's data: %v", err)
	}
	for _, p := range data.Partitions {
		for _, h := range p.History {
			descriptions = append(descriptions, h.Description)
			if h.Metadata != "" {
				t.Errorf("metadata %q: consist writes none", h.Metadata)
			}
		}
		for _, l := range p.PartialLinearizations {
			for _, s := range l {
				states = append(states, s.StateDescription)
			}
		}
	}
	return descriptions, states
}

// TestHTMLEscapesForEachContext reads the page as bytes: the states, which
// Porcupine sets as innerHTML, are escaped and still say the values; the
// descriptions, set as textContent, are the text itself; the data cannot
// end the script; and the policy's hash is the script's.
func TestHTMLEscapesForEachContext(t *testing.T) {
	page := hostilePage(t, pageSafety{escape: true, policy: true})
	descriptions, states := pageData(t, page)
	if len(states) == 0 || len(descriptions) != nOps {
		t.Fatalf("%d descriptions and %d states, want %d and some", len(descriptions), len(states), nOps)
	}
	var shown []string
	for _, s := range states {
		if strings.ContainsAny(s, `<>"'`) {
			t.Errorf("state %q reaches innerHTML unescaped", s)
		}
		shown = append(shown, html.UnescapeString(s))
	}
	for _, p := range []string{payloads[0], payloads[1], payloads[2], payloads[3], payloads[7]} {
		if !strings.Contains(strings.Join(shown, "\n"), history.Describe(p)) {
			t.Errorf("no state shows %s; states %q", history.Describe(p), states)
		}
	}
	all := strings.Join(descriptions, "\n")
	for _, p := range []string{payloads[0], payloads[4], payloads[5]} {
		if !strings.Contains(all, p) {
			t.Errorf("the descriptions do not hold %s as text:\n%s", p, all)
		}
	}
	if n := bytes.Count(bytes.ToLower(page), []byte("</script")); n != 1 {
		t.Errorf("the page holds %d </script, want the script's own only", n)
	}
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no Content-Security-Policy in the page")
	}
	i, j := bytes.Index(page, []byte("<script>")), bytes.Index(page, []byte("</script>"))
	sum := sha256.Sum256(page[i+len("<script>") : j])
	if want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(string(m[1]), want) {
		t.Errorf("policy %s does not allow the script by its hash (%s)", m[1], want)
	}
	if !strings.HasPrefix(string(m[1]), "default-src 'none';") {
		t.Errorf("policy %s does not start from nothing allowed", m[1])
	}
}

// watch runs in every page before the page's own script: the payloads
// record that they ran in __consistRan, and the policy's refusals are
// counted in __consistBlocked.
const watch = `window.__consistRan = [];
window.__consistBlocked = [];
document.addEventListener('securitypolicyviolation', e => __consistBlocked.push(e.effectiveDirective));`

// tooltip is the text of Porcupine's tooltip and the elements inside it
// other than the <br> and <strong> it writes itself.
const tooltip = `({
	Text: document.querySelector('.tooltip').textContent,
	Markup: [...document.querySelectorAll('.tooltip *')].map(e => e.tagName.toLowerCase()).filter(n => n !== 'br' && n !== 'strong'),
})`

// settle resolves once a load of the payloads' image URL, started now,
// has failed: the payloads' own loads started earlier and have had their
// error events by then.
const settle = `new Promise(done => { const i = new Image(); i.onerror = i.onload = () => setTimeout(done, 0); i.src = 'x' })`

// TestHTMLRunsNothingFromTheHistory opens the page in headless Chromium,
// hovers and clicks every operation, and checks that no payload ran. It
// checks each defence alone too, and, as the control that shows the test
// can fail, that Porcupine's page without them does run a payload. With
// CONSIST_SCREENSHOTS=DIR it leaves a screenshot of each page in DIR.
func TestHTMLRunsNothingFromTheHistory(t *testing.T) {
	b := browsertest.Start(t)
	for _, c := range []struct {
		name    string
		safety  pageSafety
		ran     bool // a payload runs (the control)
		markup  bool // the payloads' elements reach the tooltip
		blocked bool // the policy refuses them
	}{
		{"escaped and policy", pageSafety{escape: true, policy: true}, false, false, false},
		{"escaped only", pageSafety{escape: true}, false, false, false},
		{"policy only", pageSafety{policy: true}, false, true, true},
		{"neither (control)", pageSafety{}, true, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each in its own tab
			file := filepath.Join(t.TempDir(), "page.html")
			if err := os.WriteFile(file, hostilePage(t, c.safety), 0o644); err != nil {
				t.Fatal(err)
			}
			p := b.Open(t, file, watch)
			if ran := browsertest.Eval[[]int](p, `__consistRan`); len(ran) != 0 {
				t.Fatalf("payloads %v ran as the page loaded", ran)
			}
			if n := p.Count(".history-text"); n != nOps {
				t.Fatalf("the page drew %d operations, want %d: %v", n, nOps, p.Messages())
			}
			// Every hover and click must show a tooltip; gather what each
			// shows and what markup it holds.
			var texts []string
			markup := map[string]bool{}
			look := func(int) {
				tip := browsertest.Eval[struct {
					Text   string
					Markup []string
				}](p, tooltip)
				texts = append(texts, tip.Text)
				for _, m := range tip.Markup {
					markup[m] = true
				}
			}
			if n := p.HoverAll(".target-rect", look); n != nOps {
				t.Fatalf("hovered %d operations, want %d", n, nOps)
			}
			for i := range nOps {
				p.Click(".target-rect", i)
				look(i)
			}
			if c.ran {
				p.WaitFor(`__consistRan.length > 0`, 10*time.Second)
				t.Logf("payloads %v ran, as they should here", browsertest.Eval[[]int](p, `__consistRan`))
			} else {
				errs := p.Errors()
				if c.blocked {
					p.WaitFor(`__consistBlocked.length > 0`, 10*time.Second)
				} else if len(errs) > 0 {
					t.Errorf("console errors: %v", errs)
				}
				p.Do(settle)
				if ran := browsertest.Eval[[]int](p, `__consistRan`); len(ran) != 0 {
					t.Errorf("payloads %v ran", ran)
				}
			}
			if title := browsertest.Eval[string](p, `document.title`); title != "Porcupine" {
				t.Errorf("title %q", title)
			}
			if got := len(markup) > 0; got != c.markup {
				t.Errorf("markup in the tooltip: %v, want some: %v", keys(markup), c.markup)
			}
			all := strings.Join(texts, "\n")
			if strings.Count(all, "New state") < 3 {
				t.Errorf("the tooltips showed too few states:\n%s", all)
			}
			if !c.markup && !strings.Contains(all, history.Describe(payloads[0])) {
				t.Errorf("no tooltip shows the value %s as text:\n%s", history.Describe(payloads[0]), all)
			}
			labels := browsertest.Eval[[]string](p, `[...document.querySelectorAll('.history-text')].map(e => e.textContent)`)
			if !slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(l, payloads[5]) }) {
				t.Errorf("no operation's label shows the node %s as text: %q", payloads[5], labels)
			}
			if os.Getenv("CONSIST_SCREENSHOTS") != "" {
				p.Hover(".target-rect", 0)
				p.Screenshot(filepath.Join(os.Getenv("CONSIST_SCREENSHOTS"), strings.ReplaceAll(c.name, " ", "-")+".png"))
			}
		})
	}
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
