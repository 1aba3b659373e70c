package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/membudget"
	"consist/report"
	reporthtml "consist/report/html"
	"consist/report/porcupine"
	"consist/run/folder"
)

type checkFlags struct {
	models    []string
	format    string
	initial   string
	timeout   time.Duration
	maxMemory string
	nilRead   string
	json      bool
	html      string
	report    string
	graphs    string
	scope     string
	staleVers int
	staleTime time.Duration
	// Elle's rw-register assumptions (checker.Options).
	linearizableKeys, sequentialKeys, wfrKeys bool
	// modelsSet and initialSet: the flags were given, so they override a
	// run folder's settings.
	modelsSet, initialSet bool
	reports               reportFlags
}

func newCheckCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	var fl checkFlags
	cmd := &cobra.Command{
		Use:   "check [flags] FILE|RUN-FOLDER|-...",
		Short: "Check history files against consistency models",
		Long: `Check reads each history (consist's JSON Lines, Jepsen EDN, or a
Porcupine log; the format is detected unless --format names it), checks it
against the consistency models, prints a table per history and every
anomaly with the operations that show it, and exits with the worst verdict:
0 valid, 1 invalid, 2 unknown, 3 bad input.

A history is a file; - (standard input); or the folder of a run
(store/latest, say), whose history.jsonl is checked with the run's
settings from its run.json (the models its workload names, the initial
value), unless --model or --initial say otherwise.

--timeout bounds the whole check of each history, every model together;
a model it stops is unknown. On a terminal a check that takes more than a
second shows its progress on standard error.

--junit FILE writes JUnit XML for CI (a test case per file and model:
invalid fails with the anomalies, unknown is skipped with its reason),
--markdown FILE the verdict tables and anomalies for a pull-request
comment; - writes either to standard output instead of the tables.

--report DIR writes DIR/report.html: one self-contained page with the
verdicts, every anomaly with its operations drawn, a timeline of the
operations per process, and latency and throughput plots with the faults
shaded (of the first history).

--html writes Porcupine's drawing of the first nonlinearizable key; when
no key is nonlinearizable it writes nothing, says why on standard error,
and the exit code is the verdicts' as ever.`,
		Example: `  consist check examples/register-stale-read.jsonl
  consist check --model linearizable --initial 0 history.edn
  consist check store/latest
  some-recorder | consist check -
  consist check --json --timeout 10s run1.jsonl run2.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl.modelsSet, fl.initialSet = cmd.Flags().Changed("model"), cmd.Flags().Changed("initial")
			return runCheck(cmd.Context(), stdin, stdout, stderr, fl, args)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&fl.models, "model", "m", nil, "models to check: "+strings.Join(implementedModels(), ", ")+" (default: every model that applies to the history)")
	f.StringVar(&fl.scope, "session-scope", "store", "judge the session guarantees across the whole store (store, as Terry et al. define them) or on each key alone (key)")
	f.IntVar(&fl.staleVers, "max-staleness-versions", 0, "bounded-staleness fails when a read lags more than this many versions (0: no bound, only report)")
	f.DurationVar(&fl.staleTime, "max-staleness-time", 0, "bounded-staleness fails when a read lags more than this long (0: no bound, only report)")
	f.StringVar(&fl.format, "format", "auto", "history format: jsonl, edn, porcupine, or auto to detect it")
	f.StringVar(&fl.initial, "initial", "null", "initial value of every register, as JSON (null: never written)")
	f.DurationVar(&fl.timeout, "timeout", 60*time.Second, "give up on a history after this long, every model together; what is left undecided is unknown (0: no limit)")
	f.StringVar(&fl.maxMemory, "max-memory", "4GiB", "memory a search may use before giving up with unknown (e.g. 512MiB, 8GiB)")
	f.StringVar(&fl.nilRead, "nil-read", "auto", "what a read of null means: unwritten (the initial value), unknown (constrains nothing, Knossos' convention), or auto: unknown for EDN, unwritten otherwise")
	f.BoolVar(&fl.json, "json", false, "print the results as JSON on standard output")
	f.BoolVar(&fl.linearizableKeys, "linearizable-keys", false, "rw-register transactions: assume each key is linearizable, so real time orders its versions (Elle's option of that name)")
	f.BoolVar(&fl.sequentialKeys, "sequential-keys", false, "rw-register transactions: assume each key is sequentially consistent, so each process's order orders its versions")
	f.BoolVar(&fl.wfrKeys, "wfr-keys", false, "rw-register transactions: assume writes follow reads on each key, so a transaction's write follows the version it read")
	f.StringVar(&fl.html, "html", "", "write Porcupine's visualization of the first nonlinearizable key to this HTML file")
	addReportFlags(f, &fl.reports)
	f.StringVar(&fl.report, "report", "", "write an HTML report of every history checked (verdicts, anomalies, timeline, latency and rate plots) as report.html in this directory")
	f.StringVar(&fl.graphs, "graphs", "", "write each transactional dependency cycle found as a Graphviz DOT file in this directory (and SVG when dot is installed)")
	return cmd
}

// implementedModels names the models suite has a checker for, measures
// included, strongest first.
func implementedModels() []string {
	all := suite.Checkers()
	var have []string
	for _, m := range checker.Models() {
		if all[m] != nil {
			have = append(have, string(m))
		}
	}
	return have
}

func usageError(format string, args ...any) error {
	return &exitError{code: exitBad, err: fmt.Errorf(format, args...)}
}

func runCheck(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, fl checkFlags, args []string) error {
	format, err := history.ParseFormat(fl.format)
	if err != nil {
		return usageError("--format: %w", err)
	}
	models, err := selectModels(fl.models)
	if err != nil {
		return err
	}
	if fl.timeout < 0 {
		return usageError("--timeout %v: give a duration of 0 (no limit) or more, e.g. 30s", fl.timeout)
	}
	opts := checker.Options{Timeout: fl.timeout, MaxStalenessVersions: fl.staleVers, MaxStalenessTime: fl.staleTime,
		LinearizableKeys: fl.linearizableKeys, SequentialKeys: fl.sequentialKeys, WFRKeys: fl.wfrKeys}
	if opts.SessionScope, err = checker.ParseScope(fl.scope); err != nil {
		return usageError("--session-scope: %w", err)
	}
	if fl.staleVers < 0 || fl.staleTime < 0 {
		return usageError("--max-staleness-versions and --max-staleness-time must not be negative")
	}
	if opts.Initial, err = parseInitial(fl.initial); err != nil {
		return err
	}
	switch fl.nilRead {
	case "auto":
	case "unwritten":
		opts.NilRead = checker.NilReadUnwritten
	case "unknown":
		opts.NilRead = checker.NilReadUnknown
	default:
		return usageError("--nil-read %q: use unwritten, unknown or auto", fl.nilRead)
	}
	if opts.MaxMemory, err = parseBytes(fl.maxMemory); err != nil {
		return usageError("--max-memory: %w", err)
	}
	if err := fl.reports.validate(fl.json); err != nil {
		return err
	}
	if n := slices.Index(args, "-"); n >= 0 && slices.Index(args[n+1:], "-") >= 0 {
		return usageError("- (standard input) can be read once: give it once")
	}

	ctx, watch := membudget.Start(ctx, opts.MemoryBudget())
	defer watch.Stop()
	code := exitValid
	var results []report.FileResult
	var reports []report.Report
	htmlDone := fl.html == ""
	var nothingToDraw []string
	// For --report: every file's results, the first file's history and run.
	var all []report.FileResult
	var firstH *history.History
	var firstRun *folder.RunRecord
	for _, arg := range args {
		src := resolveSource(arg)
		fileModels, fileOpts := models, opts
		if src.run != nil {
			if !fl.modelsSet {
				fileModels = src.run.Models
			}
			if !fl.initialSet {
				fileOpts.Initial = src.run.Initial
			}
			fileOpts.WFRKeys = fileOpts.WFRKeys || src.run.WFRKeys
		}
		fr, h := checkSource(ctx, stdin, stderr, src, format, fileModels, fileOpts, watch)
		code = worseExit(code, exitFor(fr))
		if fl.report != "" {
			if len(all) == 0 {
				firstH, firstRun = h, src.run
			}
			all = append(all, fr)
		}
		if fl.graphs != "" && fr.Error == "" {
			if err := writeGraphs(ctx, stderr, fl.graphs, fr); err != nil {
				return &exitError{code: exitBad, err: err}
			}
		}
		if !htmlDone && fr.Error == "" {
			if key, ok := firstNonlinearizableKey(fr); ok {
				if err := writeHTML(ctx, fl.html, h, fileOpts, key); err != nil {
					return &exitError{code: exitBad, err: err}
				}
				htmlDone = true
			} else {
				nothingToDraw = append(nothingToDraw, fr.File+": "+whyNothingToDraw(fr))
			}
		}
		rep := report.Report{Title: fr.File, Files: []report.FileResult{fr}}
		if src.run != nil {
			rep.Title, rep.Run = runTitle(*src.run), report.SettingsOf(*src.run)
		}
		reports = append(reports, rep)
		if fl.json || fl.reports.toStdout() && fr.Error == "" {
			results = append(results, fr)
			continue
		}
		out := stdout
		if fr.Error != "" {
			out = stderr
		}
		if err := report.WriteText(out, report.Report{Files: []report.FileResult{fr}}); err != nil {
			return &exitError{code: exitBad, err: err}
		}
	}
	if fl.json {
		if err := report.WriteJSON(stdout, report.Report{Title: checkTitle(args), Files: results}); err != nil {
			return &exitError{code: exitBad, err: err}
		}
	}
	if err := fl.reports.write(stdout, reports, report.JUnitOptions{Name: "consist check"}, nil); err != nil {
		return &exitError{code: exitBad, err: err}
	}
	if fl.report != "" {
		path, err := reporthtml.WriteFile(fl.report, report.New(all, firstH, firstRun))
		if err != nil {
			return &exitError{code: exitBad, err: fmt.Errorf("--report: %w", err)}
		}
		fmt.Fprintf(stderr, "consist: report written to %s\n", path)
	}
	if !htmlDone {
		if len(nothingToDraw) == 0 {
			nothingToDraw = []string{"no history could be read"}
		}
		fmt.Fprintf(stderr, "consist: --html: nothing to draw, so %s was not written: Porcupine draws a nonlinearizable key, and there is none (%s)\n", fl.html, strings.Join(nothingToDraw, "; "))
	}
	if code != exitValid {
		return &exitError{code: code}
	}
	return nil
}

// whyNothingToDraw says why fr has no nonlinearizable key to draw.
func whyNothingToDraw(fr report.FileResult) string {
	for _, r := range fr.Results {
		if r.Model != checker.Linearizable {
			continue
		}
		switch {
		case r.Verdict == checker.Valid:
			return "every key is linearizable"
		case r.Verdict == checker.Unknown:
			return "linearizability was not decided: " + r.Reason
		case r.ImpliedBy != "":
			return fmt.Sprintf("not linearizable only because %s broke; no key's search failed", r.ImpliedBy)
		}
		return "linearizable is invalid without a key to show"
	}
	return "linearizable was not checked: add it to --model"
}

// selectModels resolves --model; with none given, nil: every model that
// applies to each history.
func selectModels(names []string) ([]checker.Model, error) {
	all := suite.Checkers()
	var models []checker.Model
	for _, name := range names {
		m, err := checker.ParseModel(strings.TrimSpace(name))
		if err != nil {
			return nil, usageError("--model: unknown consistency model %q: consist checks %s", strings.TrimSpace(name), strings.Join(implementedModels(), ", "))
		}
		if all[m] == nil {
			return nil, usageError("--model: consist cannot check %s yet; it checks %s", m, strings.Join(implementedModels(), ", "))
		}
		models = append(models, m)
	}
	return models, nil
}

func parseInitial(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, usageError("--initial %q is not JSON: %v (write e.g. --initial 0, --initial '\"a\"' or --initial null)", s, err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, usageError("--initial %q holds more than one JSON value: give one, e.g. --initial 0", s)
	}
	v = history.Normalize(v)
	if _, err := json.Marshal(v); err != nil {
		return nil, usageError("--initial %q is out of range (%v): give a finite number, a string, a list, an object or null", s, err)
	}
	return v, nil
}

// parseBytes reads a size such as 4GiB, 512MiB, 1.5GB or 1048576: a
// finite, positive number of whole bytes that fits in an int64. NaN,
// infinities, 1e30GiB and 0.1B are refused, never replaced by a default.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		scale  int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	scale := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if len(num) >= len(u.suffix) && strings.EqualFold(num[len(num)-len(u.suffix):], u.suffix) {
			num, scale = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.scale
			break
		}
	}
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%q is not a size: %s; write e.g. 512MiB or 4GiB", s, why)
	}
	if num == "" || strings.ContainsAny(num, "xXpP_") { // no hex floats, no 1_000
		return bad("write a decimal number and a unit")
	}
	if whole, err := strconv.ParseInt(num, 10, 64); err == nil && whole > 0 {
		if whole > math.MaxInt64/scale {
			return bad("it is more than any machine holds")
		}
		return whole * scale, nil // exact, however large
	}
	n, err := strconv.ParseFloat(num, 64)
	switch {
	case err != nil || math.IsNaN(n) || math.IsInf(n, 0):
		return bad("write a decimal number and a unit")
	case n <= 0:
		return bad("it must be more than 0")
	}
	bytes := n * float64(scale)
	switch {
	case bytes >= math.MaxInt64:
		return bad("it is more than any machine holds")
	case bytes > 1<<53:
		return bad("a fraction this large is not exact; write it as a whole number of a unit")
	case bytes < 1:
		return bad("it is less than one byte")
	case bytes != math.Trunc(bytes):
		return bad(fmt.Sprintf("%v bytes is not a whole number of bytes", bytes))
	}
	return int64(bytes), nil
}

// source is one history to check: a file, standard input, or the
// history of a run folder, checked with the run's settings.
type source struct {
	// name labels the history in reports; path is its file ("" for
	// standard input).
	name, path string
	// run is the run folder's record, when the history is a run's.
	run *folder.RunRecord
	// err says why the argument names no history.
	err error
}

// resolveSource says what the argument arg of check names.
func resolveSource(arg string) source {
	if arg == "-" {
		return source{name: "standard input"}
	}
	info, err := os.Stat(arg)
	if err != nil || !info.IsDir() {
		return source{name: arg, path: arg} // the reader says what is wrong with it
	}
	path := filepath.Join(arg, folder.HistoryFile)
	data, err := os.ReadFile(filepath.Join(arg, folder.RunFile))
	if err != nil {
		if _, herr := os.Stat(path); herr == nil {
			return source{name: path, path: path} // a folder with a history but no record
		}
		return source{name: arg, err: fmt.Errorf("%s is a directory, not a history: give a history file, - for standard input, or the folder of a run (holding %s and %s, e.g. store/latest)", arg, folder.RunFile, folder.HistoryFile)}
	}
	rec, err := folder.ParseRunRecord(data, filepath.Join(arg, folder.RunFile))
	if err != nil {
		return source{name: arg, err: err}
	}
	return source{name: path, path: path, run: &rec}
}

// readSource reads the history src names within ctx (so --timeout bounds
// reading too: a pipe nobody writes ends at the deadline) and limits.
func readSource(ctx context.Context, stdin io.Reader, src source, format history.Format, limits history.Limits) (*history.History, error) {
	if src.err != nil {
		return nil, src.err
	}
	if src.path == "" {
		h, err := history.ReadContext(ctx, porcupineGuard(stdin, src.name, format), src.name, format, limits)
		if err != nil {
			return nil, err
		}
		return h, nil
	}
	if format == history.Porcupine {
		if err := sniffPorcupine(src.path, format); err != nil {
			return nil, err
		}
	}
	return history.ReadFileContext(ctx, src.path, format, limits)
}

// porcupineGuard, when --format porcupine was asked, reads the start of r
// to refuse what is not a Porcupine log before the rest is read; the
// returned reader yields all of r.
func porcupineGuard(r io.Reader, name string, format history.Format) io.Reader {
	if format != history.Porcupine {
		return r
	}
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	if perr := notPorcupine(head, name, format); perr != nil {
		return &failingReader{err: perr}
	}
	if err != nil {
		return bytes.NewReader(head)
	}
	return io.MultiReader(bytes.NewReader(head), r)
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

// sniffPorcupine reads the start of the file at path to refuse, before
// reading the whole, one that is not a Porcupine log.
func sniffPorcupine(path string, format history.Format) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read history %s: %w", path, err)
	}
	return notPorcupine(head[:n], path, format)
}

// notPorcupine refuses, when --format porcupine was asked, data whose
// first line shows another format: consist's JSON Lines, or EDN opening
// a collection of op maps.
func notPorcupine(data []byte, name string, format history.Format) error {
	if format != history.Porcupine {
		return nil
	}
	var first []byte
	for line := range bytes.Lines(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != ';' {
			first = t
			break
		}
	}
	detected := history.Detect(data)
	looks := ""
	switch {
	case detected == history.JSONL:
		looks = "consist's JSON Lines"
	case detected == history.EDN && len(first) > 0 && strings.ContainsRune("[({", rune(first[0])):
		looks = "Jepsen EDN"
	default:
		return nil // the Porcupine reader says what is wrong
	}
	return fmt.Errorf("%s is not a Porcupine log: its first line reads as %s, and a Porcupine log holds \"INFO  jepsen.util\" lines or kv op maps such as {:process 0, :type :invoke, :f :get, :key \"1\", :value nil}; leave out --format, or use --format %s", name, looks, detected)
}

// checkFile reads the history file at path and runs the checkers of
// models on it.
func checkFile(ctx context.Context, stderr io.Writer, path string, format history.Format, models []checker.Model, opts checker.Options) (report.FileResult, *history.History) {
	return checkSource(ctx, nil, stderr, source{name: path, path: path}, format, models, opts, nil)
}

// checkSource reads one history and runs the checkers of models on it,
// within opts.Timeout for everything, showing progress on a terminal. A
// history whose reading alone would pass the memory budget is answered
// unknown unread; watch, when not nil, is the process's memory watch.
func checkSource(ctx context.Context, stdin io.Reader, stderr io.Writer, src source, format history.Format, models []checker.Model, opts checker.Options, watch *membudget.Watch) (report.FileResult, *history.History) {
	fr := report.FileResult{File: src.name}
	if need, size, ok := readCost(src.path); ok && need > opts.MemoryBudget() {
		fr.Results = unread(models, fmt.Sprintf("reading this %s history takes about %s, more than the --max-memory budget of %s: raise --max-memory to at least %s",
			membudget.Size(size), membudget.Size(need), membudget.Size(opts.MemoryBudget()), membudget.Size(need*5/4)))
		return fr, nil
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	h, err := readSource(ctx, stdin, src, format, history.Limits{MaxBytes: opts.MemoryBudget() / readBytesFactor})
	switch {
	case errors.Is(err, history.ErrTooBig):
		fr.Results = unread(models, fmt.Sprintf("%v: it would take more than the --max-memory budget of %s to check; raise --max-memory", err, membudget.Size(opts.MemoryBudget())))
		return fr, nil
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		fr.Results = unread(models, fmt.Sprintf("reading the history did not finish within --timeout (%v): %v", opts.Timeout, err))
		return fr, nil
	case err != nil && ctx.Err() != nil:
		fr.Results = unread(models, fmt.Sprintf("reading the history was stopped: %v", context.Cause(ctx)))
		return fr, nil
	}
	if err != nil {
		fr.Error = err.Error()
		return fr, nil
	}
	fr.Format, fr.Ops, fr.Processes, fr.TornLine, fr.Warnings = h.Format.String(), len(h.Ops), h.Processes(), h.TornLine, h.Warnings
	ctx, stop := startProgress(ctx, stderr, src.name)
	fr.Results = suite.Check(ctx, h, opts, models...)
	stop()
	blameBudget(&fr, watch)
	return fr, h
}

func exitFor(fr report.FileResult) int {
	if fr.Error != "" {
		return exitBad
	}
	switch fr.Worst() {
	case checker.Invalid:
		return exitInvalid
	case checker.Unknown:
		return exitUnknown
	}
	return exitValid
}

// worseExit combines exit codes: bad input, then invalid, then unknown.
func worseExit(a, b int) int {
	rank := map[int]int{exitValid: 0, exitUnknown: 1, exitInvalid: 2, exitBad: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func firstNonlinearizableKey(fr report.FileResult) (any, bool) {
	for _, r := range fr.Results {
		if r.Model == checker.Linearizable && len(r.Anomalies) > 0 {
			return r.Anomalies[0].Key, true
		}
	}
	return nil, false
}

func writeHTML(ctx context.Context, path string, h *history.History, opts checker.Options, key any) error {
	var buf bytes.Buffer
	if err := porcupine.WriteHTML(ctx, &buf, h, opts, key); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write --html file: %w", err)
	}
	return nil
}

// readBytesFactor is the memory that reading a history takes, per byte of
// its file: the file's bytes and the history parsed from them. A parsed
// history keeps 1.8 times its JSON Lines file on register histories and
// 3.1 times on list-append ones, 3.2 times its EDN file on list-append
// ones (`go test ./history -run '^$' -bench RetainedMemory -benchtime
// 1x`: 367, 789 and 792 bytes per operation), so reading takes 2.8 to 4.2
// times the file with the file held; the collector's headroom makes the
// rest. End to end, `/usr/bin/time -v consist check --model
// read-your-writes FILE` peaks at 940 MB on a 1,000,000-operation
// register history of 207 MB (4.5 times), and `--model linearizable
// --max-memory 16GiB --timeout 0` at 7.8 GB on a 10,000,000-operation
// one of 2.15 GB (3.6 times). A history whose reading alone would pass the
// budget is refused before it is read.
const readBytesFactor = 5

// readCost estimates the memory reading the file at path takes, from its
// size; ok is false when the size is not known in advance (standard
// input, a pipe).
func readCost(path string) (need, size int64, ok bool) {
	if path == "" {
		return 0, 0, false
	}
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return 0, 0, false
	}
	return st.Size() * readBytesFactor, st.Size(), true
}

// unread answers every asked model (linearizability when none was
// asked) unknown, for a history that could not be read within the budget
// or the timeout: reason says which.
func unread(models []checker.Model, reason string) []checker.Result {
	if len(models) == 0 {
		models = []checker.Model{checker.Linearizable}
	}
	out := make([]checker.Result, len(models))
	for i, m := range models {
		out[i] = checker.Result{Model: m, Verdict: checker.Unknown, Reason: reason}
	}
	return out
}

// blameBudget gives the unknown verdicts of a check that the memory watch
// stopped the reason that stopped them; watch may be nil (no watch).
func blameBudget(fr *report.FileResult, watch *membudget.Watch) {
	if watch == nil || !watch.Exceeded() {
		return
	}
	for i := range fr.Results {
		r := &fr.Results[i]
		if r.Verdict == checker.Unknown && r.ImpliedBy == "" {
			r.Reason = fmt.Sprintf("the process reached its memory budget of %s (%s at its peak) and the check was stopped: raise --max-memory", membudget.Size(watch.Budget()), membudget.Size(watch.Peak()))
		}
	}
}
