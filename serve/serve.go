// Package serve is consist's small web server for a store folder (`consist
// serve`, as Jepsen's `lein run serve`): a page listing the runs newest
// first — store, workload, faults and verdict, from each run folder's
// run.json and results.json — each linking to its report (report.html
// when the run folder has one, else its results shown as text, and its
// history), and the files of the run folders.
//
// It serves nothing outside the store folder: every file is opened
// through an os.Root of the folder, which refuses a name that climbs out
// (.., an absolute path) and a symbolic link that points out; a path
// with a .. segment is refused before it is opened, and only regular
// files are served (no directory listing, no device or FIFO). Every
// string of its own pages is escaped by html/template, and each response
// carries a Content-Security-Policy: its own pages run no script and load
// nothing; a run's HTML report runs its inline scripts sandboxed (an
// opaque origin, no network); any other file runs nothing.
package serve

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"consist/checker"
	"consist/report"
	"consist/run/folder"
)

// The Content-Security-Policies of the responses.
var (
	// pagePolicy is that of the server's own pages: no script, no
	// request of any kind, only the page's own style (by its hash).
	pagePolicy = "default-src 'none'; style-src '" + styleHash + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	// reportPolicy is that of an HTML file of a run folder (its report,
	// Porcupine's page): its inline scripts and styles run, sandboxed in
	// an opaque origin, with no request anywhere; the page's own policy,
	// when it has one, restricts it further.
	reportPolicy = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	// filePolicy is that of every other file (an SVG drawing, a history):
	// no script at all.
	filePolicy = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)

// style is the server's pages' style sheet; styleHash, its hash for the
// policy.
const style = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.valid{color:#176317}.invalid{color:#b00020;font-weight:bold}.unknown{color:#8a6d00}.none{color:#777}
pre{background:#f6f6f6;padding:1em;overflow:auto;white-space:pre-wrap}`

var styleHash = func() string {
	sum := sha256.Sum256([]byte(style))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}()

// Server serves one store folder.
type Server struct {
	root *os.Root
	dir  string
	mux  *http.ServeMux
}

// New returns a server of the store folder dir. Close it when done.
func New(dir string) (*Server, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w (give the folder consist run writes runs under, --store-dir)", dir, err)
	}
	s := &Server{root: root, dir: dir, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET /runs/{path...}", s.run)
	s.mux.HandleFunc("GET /files/{path...}", s.file)
	return s, nil
}

// Close releases the store folder.
func (s *Server) Close() error { return s.root.Close() }

// ServeHTTP serves a request, with the headers every response carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", pagePolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	s.mux.ServeHTTP(w, r)
}

// Run is one run folder as the listing shows it.
type Run struct {
	// Dir is the folder, relative to the store folder, with slashes.
	Dir      string
	Started  time.Time
	Store    string
	Workload string
	Faults   string
	// Verdict is the worst verdict of the run's results (valid, invalid,
	// unknown), or "none" when it has none yet (the run is going on, or
	// was killed before it was checked).
	Verdict checker.Verdict
	// Broken names the models found broken, weakest first by their
	// order in the results.
	Broken []checker.Model
	// Report tells whether the folder has a report.html.
	Report bool
	// Problem says what is wrong with the folder's files, if anything.
	Problem string
}

// Runs lists the runs of the store folder, newest first: every folder
// TEST/TIME/ beneath it holding a run.json. The latest link is not
// followed (its run is listed under its own name).
func (s *Server) Runs() ([]Run, error) {
	fsys := s.root.FS()
	tests, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.dir, err)
	}
	var runs []Run
	for _, t := range tests {
		if !t.IsDir() { // also skips the latest symbolic link
			continue
		}
		entries, err := fs.ReadDir(fsys, t.Name())
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := t.Name() + "/" + e.Name()
			data, err := fs.ReadFile(fsys, dir+"/"+folder.RunFile)
			if err != nil {
				continue // not a run folder
			}
			runs = append(runs, s.describe(fsys, dir, data))
		}
	}
	slices.SortFunc(runs, func(a, b Run) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return cmp.Compare(b.Dir, a.Dir)
	})
	return runs, nil
}

// describe reads what the listing shows of the run folder dir, whose
// run.json holds data.
func (s *Server) describe(fsys fs.FS, dir string, data []byte) Run {
	run := Run{Dir: dir, Verdict: "none"}
	rec, err := folder.ParseRunRecord(data, dir+"/"+folder.RunFile)
	if err != nil {
		run.Problem = err.Error()
		return run
	}
	run.Started, run.Store, run.Workload, run.Faults = rec.Started, rec.Store, rec.Workload, rec.Nemesis
	if st, err := fs.Stat(fsys, dir+"/"+folder.ReportFile); err == nil && st.Mode().IsRegular() {
		run.Report = true
	}
	data, err = fs.ReadFile(fsys, dir+"/"+folder.ResultsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return run
	}
	if err != nil {
		run.Problem = err.Error()
		return run
	}
	results, err := folder.ParseResults(data, dir+"/"+folder.ResultsFile)
	if err != nil {
		run.Problem = err.Error()
		return run
	}
	run.Verdict = checker.Valid
	for _, r := range results {
		if !r.Verdict.Judged() {
			continue
		}
		if r.Verdict.Worse(run.Verdict) {
			run.Verdict = r.Verdict
		}
		if r.Verdict == checker.Invalid && r.ImpliedBy == "" {
			run.Broken = append(run.Broken, r.Model)
		}
	}
	return run
}

var pages = template.Must(template.New("index").Funcs(template.FuncMap{"fileURL": fileURL, "runURL": runURL}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>consist: {{.Dir}}</title>
<style>{{.Style}}</style></head><body>
<h1>Runs in {{.Dir}}</h1>
{{if not .Runs}}<p>No runs yet: <code>consist run --store-dir {{.Dir}}</code> makes one.</p>{{else}}
<table><thead><tr><th>Started (UTC)</th><th>Store</th><th>Workload</th><th>Faults</th><th>Verdict</th><th>Report</th></tr></thead><tbody>
{{range .Runs}}<tr>
<td>{{if .Started.IsZero}}?{{else}}{{.Started.UTC.Format "2006-01-02 15:04:05"}}{{end}}</td>
<td>{{.Store}}</td><td>{{.Workload}}</td><td>{{.Faults}}</td>
<td class="{{.Verdict}}">{{.Verdict}}{{if .Broken}}: {{range $i, $m := .Broken}}{{if $i}}, {{end}}{{$m}}{{end}} broken{{end}}{{if .Problem}}<br><span class="unknown">{{.Problem}}</span>{{end}}</td>
<td>{{if .Report}}<a href="{{fileURL .Dir "report.html"}}">report</a>{{else}}<a href="{{runURL .Dir}}">results</a>{{end}}
 · <a href="{{fileURL .Dir "history.jsonl"}}">history</a> · <a href="{{fileURL .Dir "run.json"}}">run.json</a></td>
</tr>{{end}}</tbody></table>{{end}}
</body></html>
{{define "run"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>consist: {{.Dir}}</title>
<style>{{.Style}}</style></head><body>
<p><a href="/">All runs</a></p>
<h1>{{.Dir}}</h1>
{{with .Run}}<p>Store <b>{{.Store}}</b> · workload <b>{{.Workload}}</b> · faults <b>{{.Faults}}</b>{{if not .Started.IsZero}} · started {{.Started.UTC.Format "2006-01-02 15:04:05"}} UTC{{end}}</p>{{end}}
<p><a href="{{fileURL .Dir "results.json"}}">results.json</a> · <a href="{{fileURL .Dir "history.jsonl"}}">history.jsonl</a> · <a href="{{fileURL .Dir "run.json"}}">run.json</a></p>
{{if .Problem}}<p class="unknown">{{.Problem}}</p>{{end}}
<pre>{{.Text}}</pre>
</body></html>{{end}}`))

// fileURL is the address of the file name of the run folder dir.
func fileURL(dir, name string) string { return "/files/" + escapePath(dir) + "/" + escapePath(name) }

// runURL is the address of the run folder dir's results page.
func runURL(dir string) string { return "/runs/" + escapePath(dir) }

// escapePath escapes each segment of a slash-separated path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	runs, err := s.Runs()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.render(w, "index", map[string]any{"Dir": s.dir, "Runs": runs, "Style": template.CSS(style)})
}

// run shows a run's results as consist check prints them, for a run
// folder without a report.html.
func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	dir, ok := cleanPath(r.PathValue("path"))
	if !ok || strings.Count(dir, "/") != 1 {
		http.NotFound(w, r)
		return
	}
	fsys := s.root.FS()
	rec, err := fs.ReadFile(fsys, dir+"/"+folder.RunFile)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	run := s.describe(fsys, dir, rec)
	data := map[string]any{"Dir": dir, "Style": template.CSS(style), "Run": run, "Problem": run.Problem}
	raw, err := fs.ReadFile(fsys, dir+"/"+folder.ResultsFile)
	var files []report.FileResult
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data["Problem"] = "no results.json: the run is going on, or was stopped before its history was checked (consist check " + dir + " checks it)"
	case err != nil:
		data["Problem"] = err.Error()
	default:
		if err := json.Unmarshal(raw, &files); err != nil {
			data["Problem"] = fmt.Sprintf("%s/%s does not hold results: %v", dir, folder.ResultsFile, err)
		}
	}
	var text bytes.Buffer
	if err := report.WriteText(&text, report.Report{Files: files}); err != nil {
		data["Problem"] = err.Error()
	}
	data["Text"] = text.String()
	s.render(w, "run", data)
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "render the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// file serves a regular file of the store folder.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	name, ok := cleanPath(r.PathValue("path"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := s.root.Open(name) // refuses what climbs out, symbolic links included
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".html", ".htm":
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", reportPolicy)
	case ".json":
		h.Set("Content-Type", "application/json")
		h.Set("Content-Security-Policy", filePolicy)
	case ".svg", ".png":
		h.Set("Content-Type", mime.TypeByExtension(ext))
		h.Set("Content-Security-Policy", filePolicy)
	default: // histories (.jsonl, .edn), DOT files, logs
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Security-Policy", filePolicy)
	}
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// cleanPath checks a path taken from a URL: relative, no empty, . or ..
// segment, no NUL. It returns the path with slashes.
func cleanPath(p string) (string, bool) {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) || strings.Contains(p, "\\") {
		return "", false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
	}
	return p, true
}
