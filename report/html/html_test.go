package html

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"consist/checker"
	"consist/history"
	"consist/report"
)

// payloads are the strings the injection tests hide in a history: each
// would run or add an element if any renderer wrote it as markup.
var payloads = []string{
	`<script>window.__pwned=1</script>`,
	`"><img src=x onerror="window.__pwned=2" id="injected-img">`,
	`</style><script>alert('style')</script><style>`,
	"'; alert(1); '\n<b id=\"injected\">bold</b>",
	`</script><script>window.__pwned=3</script>`,
	`]]><svg onload="window.__pwned=4"><text>x</text></svg>`,
	`</title><iframe srcdoc="<script>parent.__pwned=5</script>">`,
}

// hostileHistory is a register history whose keys, values, errors, node
// names and nemesis values hold the payloads, with a stale read on the
// first key and a failed and a crashed operation carrying errors, so that
// the sentences, steps, hover texts and fault titles all carry them.
func hostileHistory(t testing.TB) *history.History {
	t.Helper()
	key, val0, val1 := payloads[0], payloads[1], payloads[2]
	node, errText, nem := payloads[3], payloads[4], payloads[5]
	type ev map[string]any
	events := []ev{
		{"type": "invoke", "process": 0, "f": "write", "key": key, "value": val0, "time": 0},
		{"type": "ok", "process": 0, "f": "write", "key": key, "value": val0, "time": 1_000_000, "node": node},
		{"type": "invoke", "process": "nemesis", "f": "start-partition", "value": nem, "time": 1_500_000},
		{"type": "info", "process": "nemesis", "f": "start-partition", "value": nem, "time": 1_600_000, "error": payloads[6]},
		{"type": "invoke", "process": 0, "f": "write", "key": key, "value": val1, "time": 2_000_000},
		{"type": "ok", "process": 0, "f": "write", "key": key, "value": val1, "time": 3_000_000, "node": node},
		{"type": "invoke", "process": 1, "f": "read", "key": key, "value": nil, "time": 4_000_000},
		{"type": "ok", "process": 1, "f": "read", "key": key, "value": val0, "time": 5_000_000, "node": node},
		{"type": "invoke", "process": 2, "f": "write", "key": payloads[6], "value": payloads[3], "time": 5_500_000},
		{"type": "fail", "process": 2, "f": "write", "key": payloads[6], "value": payloads[3], "time": 6_000_000, "error": errText, "node": node},
		{"type": "invoke", "process": 3, "f": "write", "key": payloads[6], "value": payloads[4], "time": 6_500_000},
		{"type": "info", "process": 3, "f": "write", "key": payloads[6], "value": payloads[4], "time": 7_000_000, "error": errText},
		{"type": "invoke", "process": "nemesis", "f": "stop-partition", "value": nem, "time": 8_000_000},
	}
	var b bytes.Buffer
	for _, e := range events {
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	h, err := history.Read(&b, payloads[1]+".jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func hostileReport(t testing.TB) report.Report {
	r := checked(t, payloads[2], hostileHistory(t), &report.RunSettings{Store: payloads[0], Workload: payloads[3], Faults: []string{payloads[5]},
		Command: []string{"consist", "run", payloads[4]}, Version: payloads[6]})
	r.Files[0].Warnings = []string{payloads[1]}
	return r
}

func renderString(t testing.TB, r report.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestPolicyHashes checks that the Content-Security-Policy names the
// page's one script and one style sheet by the hashes of the text the page
// holds, and allows nothing else to load.
func TestPolicyHashes(t *testing.T) {
	page := renderString(t, hostileReport(t))
	if n := strings.Count(page, "<script"); n != 1 {
		t.Fatalf("%d <script in the page, want 1", n)
	}
	if n := strings.Count(page, "<style"); n != 1 {
		t.Fatalf("%d <style in the page, want 1", n)
	}
	between := func(open, end string) string {
		i := strings.Index(page, open) + len(open)
		j := strings.Index(page[i:], end)
		return page[i : i+j]
	}
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	csp := html.UnescapeString(between(`<meta http-equiv="Content-Security-Policy" content="`, `"`))
	for _, want := range []string{"default-src 'none'", "script-src " + sum(between("<script>", "</script>")), "style-src " + sum(between("<style>", "</style>")), "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy %q lacks %q", csp, want)
		}
	}
	// Nothing is fetched: no URL but the page's own fragments and the
	// SVG namespaces.
	for _, m := range regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"([^"#][^"]*)"`).FindAllStringSubmatch(page, -1) {
		t.Errorf("the page refers to %q", m[1])
	}
}

// TestEscapesHistory checks that no payload reaches the page as markup:
// each is there only escaped.
func TestEscapesHistory(t *testing.T) {
	page := renderString(t, hostileReport(t))
	for _, p := range payloads {
		if strings.Contains(page, p) {
			t.Errorf("the page holds %q unescaped", p)
		}
	}
	for _, bad := range []string{"<img", "<iframe", `id="injected"`, "<b id"} {
		if strings.Contains(strings.ToLower(page), strings.ToLower(bad)) {
			t.Errorf("the page holds %q", bad)
		}
	}
	// Parsed as a browser parses it: one script, no element a payload
	// names, no event handler attribute.
	z := xhtml.NewTokenizer(strings.NewReader(page))
	scripts := 0
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			break
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch tok.Data {
		case "script":
			scripts++
		case "img", "iframe":
			t.Errorf("the page holds an element %s", tok)
		}
		for _, a := range tok.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") || (a.Key == "id" && strings.HasPrefix(a.Val, "injected")) {
				t.Errorf("the page holds %s", tok)
			}
		}
	}
	if scripts != 1 {
		t.Errorf("%d script elements, want 1", scripts)
	}
	if !strings.Contains(page, "&lt;script&gt;window.__pwned=1&lt;/script&gt;") {
		t.Error("the key is missing from the page (escaped)")
	}
}

// TestNoHistory renders a report without a history: the verdicts and
// anomalies, and a note in place of the drawings.
func TestNoHistory(t *testing.T) {
	r := hostileReport(t)
	r.History = nil
	page := renderString(t, r)
	for _, want := range []string{`class="verdicts"`, `class="anomaly"`, "The history was not kept"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestWindows checks the timeline of a history too large to draw whole:
// it is drawn in windows that hold every listed anomaly's operations and
// each fault's start, within the budget.
func TestWindows(t *testing.T) {
	h := eventualHistory(t, 40_000)
	r := checked(t, "windows", h, nil, checker.MonotonicReads, checker.ReadYourWrites)
	p := build(r)
	tl := p.Timeline
	if tl.Whole || tl.Drawn > MaxDrawnOps+len(tl.Windows)*lookBack || tl.Drawn == 0 {
		t.Fatalf("whole %v, %d of %d operations drawn in %d windows", tl.Whole, tl.Drawn, tl.Total, len(tl.Windows))
	}
	if len(p.Files[0].Anomalies) == 0 {
		t.Fatal("no anomaly to draw")
	}
	for i, a := range p.Files[0].Anomalies {
		if i < MaxAnomalyWindows && !a.InTimeline {
			t.Errorf("anomaly %s (%s) is not in the timeline", a.ID, a.Kind)
		}
	}
	labels := ""
	for _, w := range tl.Windows {
		labels += w.Label + "; "
	}
	for _, want := range []string{"start of partition", "end of partition", "start of the history", "anomaly 1 "} {
		if !strings.Contains(labels, want) {
			t.Errorf("no window for %q among %s", want, labels)
		}
	}
	if len(tl.Marks) != len(tl.Windows) || len(tl.Faults) != 2 || len(tl.Density) == 0 {
		t.Errorf("the map has %d marks for %d windows, %d faults (want 2), %d density cells", len(tl.Marks), len(tl.Windows), len(tl.Faults), len(tl.Density))
	}
}

// TestFaults pairs the nemesis's events into intervals.
func TestFaults(t *testing.T) {
	h := hostileHistory(t)
	fs := findFaults(h)
	if len(fs) != 1 {
		t.Fatalf("%d faults, want 1: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.Kind != "partition" || f.From != 1_500_000 || f.To != 8_000_000 || f.Open {
		t.Errorf("fault %+v, want a partition from 1.5ms to 8ms", f)
	}
}

// TestSentenceLinks checks that an anomaly's sentence, split into text
// and the operations it names, reads as its explanation does, and that
// each named operation links to one of the anomaly's steps.
func TestSentenceLinks(t *testing.T) {
	r := checked(t, "stale", readFile(t, "../../examples/register-stale-read.jsonl"), nil)
	n := 0
	for _, res := range r.Files[0].Results {
		for _, a := range res.Anomalies {
			parts := sentence(a)
			var text strings.Builder
			links := 0
			for _, p := range parts {
				text.WriteString(p.Text)
				if p.Op == "" {
					continue
				}
				links++
				found := false
				for _, s := range a.Steps {
					found = found || strconv.FormatInt(s.Index, 10) == p.Op
				}
				if !found {
					t.Errorf("%s: the sentence links %s, which is none of its steps", a.Kind, p.Op)
				}
			}
			if text.String() != a.Explanation() {
				t.Errorf("%s: the split sentence reads\n%s\nnot\n%s", a.Kind, text.String(), a.Explanation())
			}
			if links == 0 {
				t.Errorf("%s: the sentence links no operation", a.Kind)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no anomaly")
	}
}
