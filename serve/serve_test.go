package serve

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consist/run/folder"
)

// hostile is what a run folder's files can hold that a page must show as
// text: markup that runs script in every HTML context (element, attribute
// in either quotes, style), and a line break.
const hostile = `<script>__consistRan.push(1);alert(1)</script>"'><img src=x onerror=__consistRan.push(2)></style><svg onload=alert(3)>` + "\n" + `'"><iframe srcdoc="<script>alert(4)</script>">`

// writeRun writes a run folder store/test/stamp with a run.json (store,
// workload and faults as given, started at started), and, when results is
// not "", a results.json holding it; it returns the folder.
func writeRun(t *testing.T, store, test, stamp, name, workload, faults string, started time.Time, results string) string {
	t.Helper()
	dir := filepath.Join(store, test, stamp)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := folder.RunRecord{Store: name, Workload: workload, Nemesis: faults, Clients: 2, Seed: 1, Started: started}
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, folder.RunFile), string(data))
	write(t, filepath.Join(dir, folder.HistoryFile), `{"type":"invoke","process":0,"f":"write","key":"x","value":1}`+"\n")
	if results != "" {
		write(t, filepath.Join(dir, folder.ResultsFile), results)
	}
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// results is a results.json of one history whose model broke, reason and
// anomaly sentence as given.
func results(t *testing.T, verdict, reason string) string {
	t.Helper()
	data, err := json.Marshal([]map[string]any{{"file": "history.jsonl", "ops": 1, "processes": 1, "results": []map[string]any{
		{"model": "linearizable", "verdict": verdict, "reason": reason},
		{"model": "sequential", "verdict": "valid"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func start(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return ts
}

// get fetches path from the server as sent (the client does not clean
// it) without following redirects.
func get(t *testing.T, ts *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = path // sent verbatim: %2e stays %2e, .. stays ..
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestListsRunsNewestFirst lists three runs: newest first, each with its
// store, workload, faults and verdict, linking to report.html when the
// folder has one and to its results page otherwise; the results page
// shows the verdicts as consist check prints them.
func TestListsRunsNewestFirst(t *testing.T) {
	store := t.TempDir()
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	writeRun(t, store, "paxos-register", "20261205T100000.000Z", "paxos", "register", "partition,kill", t0, results(t, "valid", ""))
	withReport := writeRun(t, store, "eventual-register", "20261205T110000.000Z", "eventual", "register", "partition", t0.Add(time.Hour), results(t, "invalid", "stale reads"))
	write(t, filepath.Join(withReport, folder.ReportFile), "<!doctype html><title>report</title>")
	writeRun(t, store, "paxos-register", "20261205T120000.000Z", "paxos", "register", "none", t0.Add(2*time.Hour), "")
	if err := os.Symlink("paxos-register/20261205T120000.000Z", filepath.Join(store, "latest")); err != nil {
		t.Fatal(err)
	}
	ts := start(t, store)
	resp, body := get(t, ts, "/")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	i, j, k := strings.Index(body, "20261205T120000"), strings.Index(body, "20261205T110000"), strings.Index(body, "20261205T100000")
	if i < 0 || j < i || k < j {
		t.Fatalf("runs not newest first (%d, %d, %d):\n%s", i, j, k, body)
	}
	for _, want := range []string{
		`<td>2026-12-05 11:00:00</td>`, `<td>eventual</td><td>register</td><td>partition</td>`,
		`<td class="invalid">invalid: linearizable broken`, `<td class="valid">valid`, `<td class="none">none`,
		`<a href="/files/eventual-register/20261205T110000.000Z/report.html">report</a>`,
		`<a href="/runs/paxos-register/20261205T100000.000Z">results</a>`,
		`<a href="/files/paxos-register/20261205T100000.000Z/history.jsonl">history</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the listing lacks %s:\n%s", want, body)
		}
	}
	if strings.Count(body, "<tr>") != 4 {
		t.Errorf("%d rows, want a header and 3 runs (latest is not listed again):\n%s", strings.Count(body, "<tr>"), body)
	}
	resp, body = get(t, ts, "/runs/eventual-register/20261205T110000.000Z")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "linearizable invalid: stale reads") || !strings.Contains(body, "│ linearizable │ invalid") {
		t.Errorf("results page: %s\n%s", resp.Status, body)
	}
	resp, body = get(t, ts, "/runs/paxos-register/20261205T120000.000Z")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "no results.json") {
		t.Errorf("results page of an unchecked run: %s\n%s", resp.Status, body)
	}
	for path, want := range map[string]string{
		"/files/eventual-register/20261205T110000.000Z/report.html": "text/html; charset=utf-8",
		"/files/latest/history.jsonl":                               "text/plain; charset=utf-8",
		"/files/latest/run.json":                                    "application/json",
	} {
		resp, _ := get(t, ts, path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != want {
			t.Errorf("GET %s: %s %s, want 200 %s", path, resp.Status, resp.Header.Get("Content-Type"), want)
		}
	}
}

// TestServesNothingOutside asks for a secret beside the store folder in
// every way a path can climb out: .., encoded %2e%2e and %2f, absolute
// paths, symbolic links pointing out (absolute, relative, to a folder),
// and for a folder, a FIFO and a missing file: none is served.
func TestServesNothingOutside(t *testing.T) {
	top := t.TempDir()
	store := filepath.Join(top, "store")
	secret := filepath.Join(top, "secret.txt")
	write(t, secret, "SECRET")
	if err := os.Mkdir(filepath.Join(top, "outside"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(top, "outside", "secret.txt"), "SECRET")
	run := writeRun(t, store, "t", "r", "s", "w", "none", time.Now(), "")
	for name, target := range map[string]string{"abs": secret, "rel": "../../../secret.txt", "dir": filepath.Join(top, "outside"), "reldir": "../../../outside"} {
		if err := os.Symlink(target, filepath.Join(run, name)); err != nil {
			t.Fatal(err)
		}
	}
	ts := start(t, store)
	for _, path := range []string{
		"/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/%2E%2E/secret.txt", "/files/t/r/../../../secret.txt",
		"/files/t/r/%2e%2e/%2e%2e/%2e%2e/secret.txt", "/files/t%2fr%2f..%2f..%2f..%2fsecret.txt", "/files/..%2fsecret.txt",
		"/files/" + secret, "/files/%2F" + strings.TrimPrefix(secret, "/"), "/files//" + strings.TrimPrefix(secret, "/"),
		"/files/t/r/abs", "/files/t/r/rel", "/files/t/r/dir/secret.txt", "/files/t/r/reldir/secret.txt",
		"/files/t", "/files/t/r", "/files/t/r/", "/files/", "/files/t/r/missing", "/runs/../..", "/runs/t/r/../../..",
		"/../secret.txt", "/%2e%2e/secret.txt", "/secret.txt", "/runs/t/r/abs",
	} {
		resp, body := get(t, ts, path)
		if resp.StatusCode == http.StatusOK || strings.Contains(body, "SECRET") {
			t.Errorf("GET %s: %s, body %.80q", path, resp.Status, body)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			resp, body := get(t, ts, loc)
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(loc, "/files/") || strings.Contains(body, "SECRET") {
				t.Errorf("GET %s, redirected to %s: %s, body %.80q", path, loc, resp.Status, body)
			}
		}
	}
	if resp, _ := get(t, ts, "/files/t/r/run.json"); resp.StatusCode != http.StatusOK {
		t.Errorf("a file inside is not served: %s", resp.Status)
	}
}

// TestEscapesAndPolicies lists a run whose run.json and results hold
// markup: the page holds it escaped, every response carries its
// Content-Security-Policy and nosniff, and HTML files of a run folder run
// sandboxed.
func TestEscapesAndPolicies(t *testing.T) {
	store := t.TempDir()
	run := writeRun(t, store, "t", "r", hostile, hostile, hostile, time.Now(), results(t, "unknown", hostile))
	write(t, filepath.Join(run, "evil.html"), "<script>alert(1)</script>")
	ts := start(t, store)
	for _, path := range []string{"/", "/runs/t/r"} {
		resp, body := get(t, ts, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		if strings.Count(body, "<script") != 0 || strings.Contains(body, "<img") || strings.Contains(body, "<svg") || strings.Contains(body, "<iframe") || strings.Count(body, "</style>") != 1 {
			t.Errorf("GET %s: markup from the run reached the page:\n%s", path, body)
		}
		if !strings.Contains(body, "&lt;script&gt;__consistRan.push(1);alert(1)&lt;/script&gt;") {
			t.Errorf("GET %s: the run's store is not shown escaped:\n%s", path, body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); csp != pagePolicy || strings.Contains(csp, "script-src") || !strings.HasPrefix(csp, "default-src 'none'") {
			t.Errorf("GET %s: policy %q", path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
	}
	resp, _ := get(t, ts, "/files/t/r/evil.html")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox allow-scripts;") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("HTML file policy %q", csp)
	}
	resp, _ = get(t, ts, "/files/t/r/history.jsonl")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox;") || strings.Contains(csp, "script") {
		t.Errorf("history policy %q", csp)
	}
}

func TestNewRefusesAMissingFolder(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "--store-dir") {
		t.Fatalf("New of a missing folder: %v", err)
	}
}
