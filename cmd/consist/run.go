package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"consist/adapters"
	"consist/adapters/builtin"
	"consist/checker"
	"consist/history"
	"consist/nemesis"
	"consist/recommend"
	"consist/report"
	"consist/workloads"
	"consist/workloads/runner"
)

type runFlags struct {
	store, workload, storeDir, distribution, faults, mix string
	clients, keys                                        int
	ops                                                  int64
	duration, opTimeout, interval, quiesce               time.Duration
	rate                                                 float64
	seed                                                 uint64
	json                                                 bool
	// storeSet and faultsSet: the flags were given, not defaulted.
	storeSet, faultsSet bool
	// flags are every flag of the command, for run.json.
	flags *pflag.FlagSet
	targetFlags
}

// defaultStore is the store consist run tests with no flags.
const defaultStore = "paxos"

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl runFlags
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "Drive a store with concurrent clients while faults happen, record the history and check it",
		Long: `Run drives a store with concurrent clients for a while, a nemesis
injecting faults beside them, recording every operation to
store/<test>/<start time>/history.jsonl as it happens (flushed every
100 ms, so a killed run keeps what was acknowledged). It then heals the
faults, lets the store settle, has every client perform the workload's
final reads, checks the history against every model that applies, prints
the verdict table, writes results.json and report.html (the HTML
report: verdicts, anomalies, timeline, plots) beside the history, and points
store/latest at the run. Ctrl-C stops the clients, heals every fault and
still checks what was recorded; a second Ctrl-C kills consist.

Stores bundled with consist, on a simulated network:
` + storeList() + `
Real databases: --target etcd, redis or mysql tests a database you run,
at --endpoints (or --dsn), without faults unless --nemesis asks; with
--cluster local it tests the local cluster consist cluster up started,
or starts one for the run, and can kill, pause and partition it.
Credentials come from the DSN or $CONSIST_PASSWORD and are never printed
or written into the results.

Exit codes as for check: 0 valid, 1 invalid, 2 unknown, 3 bad input.`,
		Example: `  consist run
  consist run --store single --nemesis none --clients 16 --ops 100000 --rate 0
  consist run --workload bank --nemesis partition,pause,clock --duration 30s
  consist run --target etcd --endpoints 127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379
  consist run --target etcd --cluster local --nemesis kill,pause,partition
  consist run --target redis --endpoints 127.0.0.1:6379,127.0.0.1:6380 --read-from-replica
  consist run --target mysql --dsn 'consist:secret@tcp(127.0.0.1:3306)/test' --isolation read-committed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl.storeSet, fl.faultsSet = cmd.Flags().Changed("store"), cmd.Flags().Changed("nemesis")
			fl.flags = cmd.Flags()
			return runRun(cmd.Context(), stdout, stderr, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.store, "store", defaultStore, "the bundled store to test: "+strings.Join(builtin.Names(), ", "))
	f.StringVar(&fl.workload, "workload", "register", "the workload: "+strings.Join(workloads.Names(), ", "))
	f.StringVar(&fl.faults, "nemesis", "partition,kill", "faults to inject, comma-separated: "+joinFaults()+"; or none (with --target the default is none)")
	f.DurationVar(&fl.interval, "nemesis-interval", time.Second, "how long each fault lasts, and the calm between faults")
	f.IntVar(&fl.clients, "clients", 10, "concurrent clients, each one process at a time")
	f.DurationVar(&fl.duration, "duration", 10*time.Second, "how long to run (0: until --ops or Ctrl-C)")
	f.Int64Var(&fl.ops, "ops", 0, "stop after this many operations (0: no limit)")
	f.Float64Var(&fl.rate, "rate", 1000, "most operations per second across all clients (0: as fast as the store answers; long unthrottled runs make histories too big to check quickly)")
	f.IntVar(&fl.keys, "keys", 5, "keys (or accounts) the operations spread over")
	f.StringVar(&fl.distribution, "key-distribution", "uniform", "how keys are picked: uniform or zipf")
	f.StringVar(&fl.mix, "mix", "", "weights of reads:writes:cas (register; default 2:1:1) or reads:updates (the others; default per workload)")
	f.DurationVar(&fl.opTimeout, "op-timeout", 2*time.Second, "an operation unanswered this long is recorded as unknown (info)")
	f.DurationVar(&fl.quiesce, "quiesce", 500*time.Millisecond, "how long the healed store settles before the final reads")
	f.Uint64Var(&fl.seed, "seed", 1, "seed of every random choice: operations, faults, the simulated network")
	f.StringVar(&fl.storeDir, "store-dir", "store", "folder the runs are written under")
	f.BoolVar(&fl.json, "json", false, "print the results as JSON on standard output")
	addTargetFlags(f, &fl.targetFlags)
	return cmd
}

func storeList() string {
	var b strings.Builder
	for _, s := range builtin.Stores() {
		fmt.Fprintf(&b, "  %-9s %s\n", s.Name, s.Summary)
	}
	return b.String()
}

func joinFaults() string {
	var names []string
	for _, k := range nemesis.Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

func runRun(ctx context.Context, stdout, stderr io.Writer, fl runFlags) error {
	if fl.target != "" && !fl.faultsSet {
		fl.faults = "none" // a database the user runs is not broken unless asked
	}
	// Everything is checked before anything is started or written.
	if err := validateRun(fl); err != nil {
		return err
	}
	kinds, err := nemesis.ParseKinds(fl.faults)
	if err != nil {
		return usageError("--nemesis: %w", err)
	}
	opts := workloads.Options{Keys: fl.keys, Distribution: fl.distribution}
	if err := parseMix(fl.mix, &opts); err != nil {
		return usageError("--mix: %w", err)
	}
	wl, err := workloads.New(fl.workload, opts)
	if err != nil {
		return usageError("--workload: %w", err)
	}
	if err := storeHolds(fl, wl); err != nil {
		return err
	}
	if fl.duration == 0 && fl.ops == 0 {
		fmt.Fprintln(stderr, "consist: no --duration or --ops: running until Ctrl-C")
	}
	sys, err := openSystem(ctx, stderr, fl, kinds)
	if err != nil {
		return err
	}
	defer sys.close()
	store := sys.store
	start := time.Now()
	dir, err := newRunDir(fl.storeDir, sys.name+"-"+fl.workload, start)
	if err != nil {
		return &exitError{code: exitBad, err: err}
	}
	// run.json first, so that a run killed at any point can be checked,
	// recommended on and repeated.
	record := runRecord(fl, sys, wl, start)
	runFile := filepath.Join(dir, recommend.RunFile)
	if err := writeJSONFile(runFile, record); err != nil {
		return &exitError{code: exitBad, err: err}
	}
	path := filepath.Join(dir, recommend.HistoryFile)
	file, err := os.Create(path)
	if err != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("create the history file: %w", err)}
	}
	defer file.Close()
	rec := history.NewRecorder(file, history.DefaultFlushInterval)
	nem, err := nemesis.New(sys.target, nemesis.Schedule{Kinds: kinds, Interval: fl.interval, Seed: fl.seed}, rec)
	if err != nil {
		return usageError("--nemesis: %w", err)
	}
	var counts runner.Counts
	status := startStatus(stderr, &counts, nem, start)
	runErr := runner.Run(ctx, runner.Config{Store: store, Workload: wl, Recorder: rec, Clients: fl.clients,
		Duration: fl.duration, Ops: fl.ops, Rate: fl.rate, OpTimeout: fl.opTimeout, Seed: fl.seed,
		Nemesis: nem, Quiesce: fl.quiesce}, &counts)
	status.stop()
	if err := rec.Close(); err != nil {
		return &exitError{code: exitBad, err: err}
	}
	if runErr != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("the run stopped: %w (what was recorded is in %s)", runErr, path)}
	}
	elapsed := time.Since(start)
	interrupted := ""
	if ctx.Err() != nil {
		interrupted = " (interrupted: faults healed, no final reads)"
	}
	fmt.Fprintf(stderr, "ran %s with %s for %v%s: %d ok, %d fail, %d info (%.0f ops/s); history in %s\n", sys.name, fl.workload, elapsed.Round(time.Millisecond), interrupted,
		counts.OK.Load(), counts.Fail.Load(), counts.Info.Load(), float64(counts.Total())/elapsed.Seconds(), path)

	ended := start.Add(elapsed).UTC()
	record.Ended, record.Elapsed, record.Interrupted = &ended, elapsed.Round(time.Millisecond).String(), ctx.Err() != nil
	record.OK, record.Fail, record.Info = counts.OK.Load(), counts.Fail.Load(), counts.Info.Load()
	if err := writeJSONFile(runFile, record); err != nil {
		return &exitError{code: exitBad, err: err}
	}

	// Check what was recorded, even after Ctrl-C.
	fr, h := checkFile(context.WithoutCancel(ctx), stderr, path, history.JSONL, record.Models, checker.Options{Timeout: runCheckTimeout, Initial: record.Initial})
	if err := writeResults(filepath.Join(dir, recommend.ResultsFile), fr); err != nil {
		return &exitError{code: exitBad, err: err}
	}
	if _, err := writeHTMLReport(dir, checkReport([]report.FileResult{fr}, h, &record)); err != nil {
		return &exitError{code: exitBad, err: err}
	}
	if fl.json {
		err = report.WriteJSON(stdout, []report.FileResult{fr})
	} else {
		err = report.WriteText(stdout, fr)
	}
	if err != nil {
		return &exitError{code: exitBad, err: err}
	}
	if code := exitFor(fr); code != exitValid {
		return &exitError{code: code}
	}
	return nil
}

// runCheckTimeout bounds the check at the end of a run.
const runCheckTimeout = 60 * time.Second

// targetOnly are the flags that only a --target run uses, and the target
// each belongs to ("" for every target).
var targetOnly = map[string]string{"endpoints": "", "dsn": "mysql", "isolation": "mysql", "serializable-reads": "etcd", "read-from-replica": "redis", "cluster": "", "cluster-dir": ""}

// validateRun refuses every flag of a run that makes no sense, before
// anything is started or written.
func validateRun(fl runFlags) error {
	switch {
	case fl.clients < 1:
		return usageError("--clients %d: run at least 1 client", fl.clients)
	case fl.keys < 1:
		return usageError("--keys %d: spread the operations over at least 1 key", fl.keys)
	case fl.ops < 0:
		return usageError("--ops %d: give a number of operations, or 0 for no limit", fl.ops)
	case fl.duration < 0:
		return usageError("--duration %v: give a duration, or 0 to run until --ops or Ctrl-C", fl.duration)
	case math.IsNaN(fl.rate) || math.IsInf(fl.rate, 0) || fl.rate < 0:
		return usageError("--rate %v: give operations per second, or 0 for as fast as the store answers", fl.rate)
	case fl.opTimeout <= 0:
		return usageError("--op-timeout %v: give how long an operation may take, e.g. 2s", fl.opTimeout)
	case fl.interval <= 0:
		return usageError("--nemesis-interval %v: give how long each fault lasts, e.g. 1s", fl.interval)
	case fl.quiesce < 0:
		return usageError("--quiesce %v: give how long the store settles, or 0", fl.quiesce)
	}
	changed := func(name string) bool { return fl.flags != nil && fl.flags.Changed(name) }
	for _, name := range slices.Sorted(maps.Keys(targetOnly)) {
		if !changed(name) {
			continue
		}
		switch only := targetOnly[name]; {
		case fl.target == "" && name == "cluster":
			return usageError("--cluster %s tests a real database's cluster: add --target etcd, redis or mysql", fl.cluster)
		case fl.target == "":
			return usageError("--%s is for a real database: add --target, or leave it out to test the bundled store", name)
		case only != "" && only != fl.target:
			return usageError("--%s is for --target %s, not %s: leave it out", name, only, fl.target)
		}
	}
	if changed("cluster-dir") && fl.cluster != "local" {
		return usageError("--cluster-dir names a local cluster's folder: add --cluster local")
	}
	return nil
}

// storeHolds refuses a bundled store that cannot keep the objects the
// workload acts on.
func storeHolds(fl runFlags, wl workloads.Workload) error {
	if fl.target != "" {
		return nil // openSystem says which workloads a real database runs
	}
	s, err := builtin.Lookup(fl.store)
	if err != nil {
		return usageError("--store: %w", err)
	}
	kind := workloadKind(wl)
	if s.CanHold(kind) {
		return nil
	}
	var holds, fits []string
	for _, k := range s.Holds {
		holds = append(holds, k.String()+"s")
	}
	for _, name := range workloads.Names() {
		if w, err := workloads.New(name, workloads.Options{}); err == nil && s.CanHold(workloadKind(w)) {
			fits = append(fits, name)
		}
	}
	return usageError("--store %s cannot hold the %s workload's %ss: it keeps %s only; run it with --workload %s, or pick another store", s.Name, wl.Name(), kind, strings.Join(holds, ", "), strings.Join(fits, ", "))
}

// workloadKind is the kind of object wl acts on: that of its setup
// operations, or else of the first operation a generator draws (drawing
// from a throwaway generator changes nothing).
func workloadKind(wl workloads.Workload) adapters.Kind {
	if s, ok := wl.(workloads.Setup); ok {
		if ops := s.Setup(); len(ops) > 0 {
			return ops[0].Kind
		}
	}
	return wl.Generator(0, rand.New(rand.NewPCG(0, 0))).Next().Kind
}

// runRecord describes the run that starts: every setting, for run.json.
func runRecord(fl runFlags, sys *system, wl workloads.Workload, start time.Time) recommend.RunRecord {
	rec := recommend.RunRecord{Version: version(), Store: sys.name, Target: fl.target != "", Nodes: sys.nodes, Cluster: fl.cluster,
		Workload: fl.workload, Nemesis: fl.faults, Clients: fl.clients, Keys: fl.keys, Rate: fl.rate, Seed: fl.seed,
		Models: wl.Models(), Started: start.UTC(), Flags: map[string]string{}, Command: []string{"consist", "run"}}
	if fl.flags == nil {
		return rec
	}
	fl.flags.VisitAll(func(f *pflag.Flag) {
		value := f.Value.String()
		if f.Name == "dsn" {
			value = withoutPassword(value)
		}
		if f.Name == "help" {
			return
		}
		rec.Flags[f.Name] = value
		_, targetFlag := targetOnly[f.Name]
		switch {
		case f.Name == "target" && value == "":
		case fl.target == "" && targetFlag: // refused without --target
		case fl.target != "" && f.Name == "store": // refused with --target
		case f.Name == "dsn" && value == "":
		default:
			rec.Command = append(rec.Command, "--"+f.Name+"="+value)
		}
	})
	return rec
}

// withoutPassword is a MySQL data source name with its password removed;
// a DSN it cannot parse is left out altogether.
func withoutPassword(dsn string) string {
	if dsn == "" {
		return ""
	}
	cfg, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		return ""
	}
	cfg.Passwd = ""
	return cfg.FormatDSN()
}

// parseMix reads "reads:writes[:cas]" weights into opts; "" leaves the
// workload's default.
func parseMix(s string, opts *workloads.Options) error {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("%q: write weights as reads:writes:cas, e.g. 2:1:1, or reads:updates", s)
	}
	weights := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return fmt.Errorf("%q: %q is not a weight; use whole numbers of 0 or more, e.g. 2:1:1", s, p)
		}
		weights[i] = n
	}
	opts.Reads, opts.Writes, opts.CAS = weights[0], weights[1], weights[2]
	return nil
}

// newRunDir creates storeDir/<test>/<start time>/ and points
// storeDir/latest at it.
func newRunDir(storeDir, test string, start time.Time) (string, error) {
	dir := filepath.Join(storeDir, test, start.UTC().Format("20060102T150405.000Z"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create the run folder: %w", err)
	}
	latest := filepath.Join(storeDir, "latest")
	rel, err := filepath.Rel(storeDir, dir)
	if err != nil {
		return "", fmt.Errorf("point %s at the run: %w", latest, err)
	}
	_ = os.Remove(latest)
	if err := os.Symlink(rel, latest); err != nil {
		return "", fmt.Errorf("point %s at the run: %w", latest, err)
	}
	return dir, nil
}

func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeResults(path string, fr report.FileResult) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if err := report.WriteJSON(f, []report.FileResult{fr}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
