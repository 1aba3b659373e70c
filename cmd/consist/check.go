package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/membudget"
	"consist/report"
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
	scope     string
	staleVers int
	staleTime time.Duration
}

func newCheckCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl checkFlags
	cmd := &cobra.Command{
		Use:   "check [flags] FILE...",
		Short: "Check history files against consistency models",
		Long: `Check reads each history file (consist's JSON Lines, Jepsen EDN, or a
Porcupine log; the format is detected unless --format names it), checks it
against the consistency models, prints a table per file and every anomaly
with the operations that show it, and exits with the worst verdict:
0 valid, 1 invalid, 2 unknown, 3 bad input.`,
		Example: `  consist check examples/register-stale-read.jsonl
  consist check --model linearizable --initial 0 history.edn
  consist check --json --timeout 10s run1.jsonl run2.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), stdout, stderr, fl, args)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&fl.models, "model", "m", nil, "models to check (default: every model that applies to the history)")
	f.StringVar(&fl.scope, "session-scope", "store", "judge the session guarantees across the whole store (store, as Terry et al. define them) or on each key alone (key)")
	f.IntVar(&fl.staleVers, "max-staleness-versions", 0, "bounded-staleness fails when a read lags more than this many versions (0: no bound, only report)")
	f.DurationVar(&fl.staleTime, "max-staleness-time", 0, "bounded-staleness fails when a read lags more than this long (0: no bound, only report)")
	f.StringVar(&fl.format, "format", "auto", "history format: jsonl, edn, porcupine, or auto to detect it")
	f.StringVar(&fl.initial, "initial", "null", "initial value of every register, as JSON (null: never written)")
	f.DurationVar(&fl.timeout, "timeout", 60*time.Second, "give up after this long per file and model; the verdict is then unknown")
	f.StringVar(&fl.maxMemory, "max-memory", "4GiB", "memory a search may use before giving up with unknown (e.g. 512MiB, 8GiB)")
	f.StringVar(&fl.nilRead, "nil-read", "auto", "what a read of null means: unwritten (the initial value), unknown (constrains nothing, Knossos' convention), or auto: unknown for EDN, unwritten otherwise")
	f.BoolVar(&fl.json, "json", false, "print the results as JSON on standard output")
	f.StringVar(&fl.html, "html", "", "write Porcupine's visualization of the first nonlinearizable key to this HTML file")
	return cmd
}

func usageError(format string, args ...any) error {
	return &exitError{code: exitBad, err: fmt.Errorf(format, args...)}
}

func runCheck(ctx context.Context, stdout, stderr io.Writer, fl checkFlags, files []string) error {
	format, err := history.ParseFormat(fl.format)
	if err != nil {
		return usageError("--format: %w", err)
	}
	models, err := selectModels(fl.models)
	if err != nil {
		return err
	}
	opts := checker.Options{Timeout: fl.timeout, MaxStalenessVersions: fl.staleVers, MaxStalenessTime: fl.staleTime}
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

	ctx, watch := membudget.Start(ctx, opts.MemoryBudget())
	defer watch.Stop()
	code := exitValid
	var results []report.FileResult
	htmlDone := fl.html == ""
	for _, file := range files {
		fr, h := checkFile(ctx, file, format, models, opts, watch)
		code = worseExit(code, exitFor(fr))
		if !htmlDone {
			if key, ok := firstNonlinearizableKey(fr); ok {
				if err := writeHTML(ctx, fl.html, h, opts, key); err != nil {
					return &exitError{code: exitBad, err: err}
				}
				htmlDone = true
			}
		}
		if fl.json {
			results = append(results, fr)
			continue
		}
		out := stdout
		if fr.Error != "" {
			out = stderr
		}
		if err := report.WriteText(out, fr); err != nil {
			return &exitError{code: exitBad, err: err}
		}
	}
	if fl.json {
		if err := report.WriteJSON(stdout, results); err != nil {
			return &exitError{code: exitBad, err: err}
		}
	}
	if code != exitValid {
		return &exitError{code: code}
	}
	return nil
}

// selectModels resolves --model; with none given, nil: every model that
// applies to each history.
func selectModels(names []string) ([]checker.Model, error) {
	all := suite.Checkers()
	var models []checker.Model
	for _, name := range names {
		m, err := checker.ParseModel(strings.TrimSpace(name))
		if err != nil {
			return nil, usageError("--model: %w", err)
		}
		if all[m] == nil {
			var have []string
			for _, m := range checker.Models() {
				if all[m] != nil {
					have = append(have, string(m))
				}
			}
			return nil, usageError("--model: consist cannot check %s yet; it checks %s", m, strings.Join(have, ", "))
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
	if d.More() {
		return nil, usageError("--initial %q holds more than one JSON value", s)
	}
	return history.Normalize(v), nil
}

// parseBytes reads a size such as 4GiB, 512MiB, 1GB or 1048576.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		scale  int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	scale := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(num), strings.ToUpper(u.suffix)) {
			num, scale = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.scale
			break
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size: write e.g. 512MiB or 4GiB", s)
	}
	return int64(n * float64(scale)), nil
}

// checkFile reads one history and runs the checkers of models on it.
func checkFile(ctx context.Context, file string, format history.Format, models []checker.Model, opts checker.Options, watch *membudget.Watch) (report.FileResult, *history.History) {
	fr := report.FileResult{File: file}
	if need, size, ok := readCost(file); ok && need > opts.MemoryBudget() {
		fr.Results = overBudget(models, fmt.Sprintf("reading this %s history takes about %s, more than the --max-memory budget of %s: raise --max-memory to at least %s",
			membudget.Size(size), membudget.Size(need), membudget.Size(opts.MemoryBudget()), membudget.Size(need*5/4)))
		return fr, nil
	}
	h, err := history.ReadFile(file, format)
	if err != nil {
		fr.Error = err.Error()
		return fr, nil
	}
	fr.Format, fr.Ops, fr.Processes, fr.TornLine = h.Format.String(), len(h.Ops), h.Processes(), h.TornLine
	fr.Results = suite.Check(ctx, h, opts, models...)
	blameBudget(&fr, watch)
	return fr, h
}

// exitFor is one file's exit code: bad input, else its worst verdict's. A
// measurement (checker.Measured: a measure given nothing to judge
// against) is no verdict, and never turns the code to unknown.
func exitFor(fr report.FileResult) int {
	if fr.Error != "" {
		return exitBad
	}
	worst := checker.Valid
	for _, r := range fr.Results {
		if r.Verdict.Judged() && r.Verdict.Worse(worst) {
			worst = r.Verdict
		}
	}
	switch worst {
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
	if err := linearizable.WriteHTML(ctx, &buf, h, opts, key); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write --html file: %w", err)
	}
	return nil
}

// readBytesFactor is the memory that reading a history takes, per byte of
// its file: the file's bytes and the events parsed from them, about 5.5
// times the file on JSON Lines and EDN register histories
// (`/usr/bin/time -v consist check --model read-your-writes FILE`, 63 MB
// file, 386 MB peak). A history whose reading alone would pass the budget
// is refused before it is read.
const readBytesFactor = 6

// readCost estimates the memory reading file takes, from its size; ok is
// false when the size is not known in advance (standard input, a pipe).
func readCost(file string) (need, size int64, ok bool) {
	st, err := os.Stat(file)
	if err != nil || !st.Mode().IsRegular() {
		return 0, 0, false
	}
	return st.Size() * readBytesFactor, st.Size(), true
}

// overBudget answers every asked model (linearizability when none was
// asked) unknown for want of memory.
func overBudget(models []checker.Model, reason string) []checker.Result {
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
