package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"consist/adapters/builtin"
	"consist/checker"
	"consist/history"
	"consist/nemesis"
	"consist/report"
	consistrun "consist/run"
	"consist/run/databases"
	"consist/run/folder"
	"consist/workloads"
)

type runFlags struct {
	store, workload, storeDir, distribution, faults, mix string
	// planFile is --nemesis-plan; plan, the plan it holds once read (or
	// the plan shrink found, with planFile naming where run puts it).
	planFile                                     string
	plan                                         *nemesis.Plan
	clients, keys, maxTxnLength, maxWritesPerKey int
	ops                                          int64
	duration, opTimeout, interval, quiesce       time.Duration
	rate                                         float64
	seed                                         uint64
	json, realTime                               bool
	reports                                      reportFlags
	// shrink the run once it found an anomaly, within shrinkBudget.
	shrink       bool
	shrinkBudget time.Duration
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
  consist run --workload list-append --max-txn-length 6 --max-writes-per-key 16
  consist run --store paxos-local-read --workload on-call --keys 2
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
	addRunFlags(cmd.Flags(), &fl)
	cmd.Flags().BoolVar(&fl.shrink, "shrink", false, "once the run found an anomaly, shrink it as consist shrink does and write the smallest run found (a bundled store in simulation only)")
	cmd.Flags().DurationVar(&fl.shrinkBudget, "shrink-budget", 60*time.Second, "with --shrink: how long the search may take, in real time")
	return cmd
}

// addRunFlags declares consist run's flags on f, into fl.
func addRunFlags(f *pflag.FlagSet, fl *runFlags) {
	f.StringVar(&fl.store, "store", defaultStore, "the bundled store to test: "+strings.Join(builtin.Names(), ", "))
	f.StringVar(&fl.workload, "workload", "register", "the workload: "+strings.Join(workloads.Names(), ", "))
	f.StringVar(&fl.faults, "nemesis", "partition,kill", "faults to inject, comma-separated: "+joinFaults()+"; or none (with --target the default is none)")
	f.DurationVar(&fl.interval, "nemesis-interval", time.Second, "how long each fault lasts, and the calm between faults")
	f.StringVar(&fl.planFile, "nemesis-plan", "", "inject exactly the faults of this plan file (JSON: when each starts, how long it lasts, what it hits; a shrunk run's nemesis-plan.json) instead of drawing them at random")
	f.IntVar(&fl.clients, "clients", 10, "concurrent clients, each one process at a time")
	f.DurationVar(&fl.duration, "duration", 10*time.Second, "how long to run (0: until --ops or Ctrl-C)")
	f.Int64Var(&fl.ops, "ops", 0, "stop after this many operations (0: no limit)")
	f.Float64Var(&fl.rate, "rate", 1000, "most operations per second across all clients (0: as fast as the store answers; long unthrottled runs make histories too big to check quickly)")
	f.IntVar(&fl.keys, "keys", 5, "keys (or accounts) the operations spread over")
	f.StringVar(&fl.distribution, "key-distribution", "uniform", "how keys are picked: uniform or zipf")
	f.IntVar(&fl.maxTxnLength, "max-txn-length", workloads.DefaultMaxTxnLength, "list-append, rw-register: the most micro-ops in a transaction (each draws 1 to this many)")
	f.IntVar(&fl.maxWritesPerKey, "max-writes-per-key", workloads.DefaultMaxWritesPerKey, "list-append, rw-register: appends or writes a key takes before it is retired for a fresh one")
	f.StringVar(&fl.mix, "mix", "", "weights of reads:writes:cas (register; default 2:1:1) or reads:updates (the others; default per workload)")
	f.DurationVar(&fl.opTimeout, "op-timeout", 2*time.Second, "an operation unanswered this long is recorded as unknown (info)")
	f.DurationVar(&fl.quiesce, "quiesce", 500*time.Millisecond, "how long the healed store settles before the final reads")
	f.Uint64Var(&fl.seed, "seed", 1, "seed of every random choice: operations, faults, the simulated network")
	f.BoolVar(&fl.realTime, "real-time", false, "run a bundled store on the wall clock, its nodes on goroutines, instead of a deterministic simulation the seed replays")
	f.StringVar(&fl.storeDir, "store-dir", "store", "folder the runs are written under")
	f.BoolVar(&fl.json, "json", false, "print the results as JSON on standard output")
	addReportFlags(f, &fl.reports)
	addTargetFlags(f, &fl.targetFlags)
}

func storeList() string {
	var b strings.Builder
	for _, s := range builtin.Stores() {
		switch {
		case s.Family != "" && s.Name != s.Family:
			continue // listed as its family, with --isolation
		case s.Family != "":
			fmt.Fprintf(&b, "  %-9s %s; --isolation %s (default %s)\n", s.Name, s.Summary, strings.Join(builtin.Levels(s.Family), "|"), s.Isolation)
		default:
			fmt.Fprintf(&b, "  %-9s %s\n", s.Name, s.Summary)
		}
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
	if err := fl.reports.validate(fl.json); err != nil {
		return err
	}
	if fl.flags != nil && fl.flags.Changed("shrink-budget") && !fl.shrink {
		return usageError("--shrink-budget bounds --shrink: add --shrink, or leave it out")
	}
	if fl.shrink {
		switch {
		case fl.target != "":
			return usageError("--shrink replays a simulated run: --target %s tests a real database, which does not replay; leave out --shrink", fl.target)
		case fl.realTime:
			return usageError("--shrink replays a simulated run: --real-time runs on the wall clock, which its seed does not replay; leave out one of them")
		case fl.shrinkBudget <= 0:
			return usageError("--shrink-budget %v: give how long the search may take, e.g. 60s", fl.shrinkBudget)
		case fl.storeDir == "":
			return usageError("--shrink writes the smallest run beside the run: give a --store-dir")
		}
	}
	cfg, _, err := runConfig(fl)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return &exitError{code: exitBad, err: err}
	}
	if fl.duration == 0 && fl.ops == 0 {
		fmt.Fprintln(stderr, "consist: no --duration or --ops: running until Ctrl-C")
	}
	cfg.Notify = func(msg string) { fmt.Fprintf(stderr, "consist: %s\n", msg) }
	cfg.Started = func(l consistrun.Live) func() { return startStatus(stderr, l.Counts, l.Nemesis, l.Start).stop }
	cfg.Recorded = func(r consistrun.Result) {
		interrupted := ""
		if r.Interrupted {
			interrupted = " (interrupted: faults healed, no final reads)"
		}
		total := r.OK + r.Fail + r.Info
		took := r.Elapsed.Round(time.Millisecond).String()
		if r.Record.Simulation != nil {
			took += fmt.Sprintf(" of simulated time (%v of real time; --seed %d replays it)", r.Wall.Round(time.Millisecond), fl.seed)
		}
		fmt.Fprintf(stderr, "ran %s with %s for %s%s: %d ok, %d fail, %d info (%.0f ops/s); history in %s\n", r.Record.Store, fl.workload, took, interrupted,
			r.OK, r.Fail, r.Info, float64(total)/r.Elapsed.Seconds(), r.HistoryPath())
	}
	cfg.CheckFile = func(ctx context.Context, path string, models []checker.Model, opts checker.Options) (report.FileResult, *history.History) {
		return checkFile(ctx, stderr, path, history.JSONL, models, opts)
	}
	res, err := consistrun.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, nemesis.ErrPlan) {
			err = fmt.Errorf("%w (fix the plan in %s)", err, fl.planFile)
		}
		return &exitError{code: exitBad, err: err}
	}
	fr := res.Check
	rep := res.Report()
	switch {
	case fl.json:
		err = report.WriteJSON(stdout, rep)
	case !fl.reports.toStdout():
		err = report.WriteText(stdout, rep)
	}
	if err == nil {
		err = fl.reports.write(stdout, []report.Report{rep}, report.JUnitOptions{Name: "consist run"}, nil)
	}
	if err != nil {
		return &exitError{code: exitBad, err: err}
	}
	if fl.shrink {
		if err := shrinkAfterRun(ctx, stdout, stderr, res, fl); err != nil {
			return err
		}
	}
	if code := exitFor(fr); code != exitValid {
		return &exitError{code: code}
	}
	return nil
}

// shrinkAfterRun shrinks the run just made, as consist shrink does, when
// it found an anomaly. The sizes go to stdout unless stdout carries the
// run's JSON or reports.
func shrinkAfterRun(ctx context.Context, stdout, stderr io.Writer, res consistrun.Result, fl runFlags) error {
	found := false
	for _, r := range res.Results() {
		found = found || len(r.Anomalies) > 0
	}
	switch {
	case res.Interrupted || ctx.Err() != nil:
		fmt.Fprintln(stderr, "consist: the run was interrupted: not shrinking it")
		return nil
	case !found:
		fmt.Fprintln(stderr, "consist: the run found no anomaly: nothing to shrink")
		return nil
	}
	out := stdout
	if fl.json || fl.reports.toStdout() {
		out = stderr
	}
	return runShrink(ctx, out, stderr, res.Dir, shrinkFlags{budget: fl.shrinkBudget, storeDir: fl.storeDir})
}

// runConfig builds the run fl describes, and the options its workload
// was made with.
func runConfig(fl runFlags) (consistrun.Config, workloads.Options, error) {
	var opts workloads.Options
	kinds, err := nemesis.ParseKinds(fl.faults)
	if err != nil {
		return consistrun.Config{}, opts, usageError("--nemesis: %w", err)
	}
	if fl.plan == nil && fl.planFile != "" {
		if fl.plan, err = readPlan(fl.planFile); err != nil {
			return consistrun.Config{}, opts, &exitError{code: exitBad, err: err}
		}
	}
	if fl.plan != nil {
		kinds = nil // the plan's
	}
	opts = workloads.Options{Keys: fl.keys, Distribution: fl.distribution, MaxTxnLength: fl.maxTxnLength, MaxWritesPerKey: fl.maxWritesPerKey}
	if err := parseMix(fl.mix, &opts); err != nil {
		return consistrun.Config{}, opts, usageError("--mix: %w", err)
	}
	wl, err := workloads.New(fl.workload, opts)
	if err != nil {
		return consistrun.Config{}, opts, usageError("--workload: %w", err)
	}
	cfg := consistrun.Config{Workload: wl, Faults: kinds, Interval: fl.interval, Clients: fl.clients, Duration: fl.duration,
		Ops: fl.ops, Rate: fl.rate, OpTimeout: fl.opTimeout, Quiesce: fl.quiesce, Seed: fl.seed, RealTime: fl.realTime,
		CheckTimeout: runCheckTimeout, Dir: fl.storeDir, Record: runRecord(fl), Plan: fl.plan}
	if err := targetConfig(fl, &cfg); err != nil {
		return consistrun.Config{}, opts, err
	}
	return cfg, opts, nil
}

// readPlan reads a --nemesis-plan file.
func readPlan(path string) (*nemesis.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--nemesis-plan: %w (give a plan file, such as the nemesis-plan.json of a shrunk run's folder)", err)
	}
	p, err := nemesis.ParsePlan(data, path)
	if err != nil {
		return nil, fmt.Errorf("--nemesis-plan: %w", err)
	}
	return p, nil
}

// runCheckTimeout bounds the check at the end of a run.
const runCheckTimeout = 60 * time.Second

// targetOnly are the flags that only a --target run uses, and the
// targets each belongs to (none: every target): a database's own settings
// are its flags.
var targetOnly = func() map[string][]string {
	only := map[string][]string{"endpoints": nil, "cluster": nil, "cluster-dir": nil}
	for _, d := range databases.All() {
		for _, s := range d.Settings {
			only[s.Name] = append(only[s.Name], d.Name)
		}
	}
	return only
}()

// validateRun refuses every flag of a run that makes no sense, before
// anything is started or written.
func validateRun(fl runFlags) error {
	switch {
	case fl.clients < 1:
		return usageError("--clients %d: run at least 1 client", fl.clients)
	case fl.keys < 1:
		return usageError("--keys %d: spread the operations over at least 1 key", fl.keys)
	case fl.maxTxnLength < 1:
		return usageError("--max-txn-length %d: a transaction needs at least 1 micro-op", fl.maxTxnLength)
	case fl.maxWritesPerKey < 1:
		return usageError("--max-writes-per-key %d: a key takes at least 1 write", fl.maxWritesPerKey)
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
	if fl.planFile != "" {
		for _, name := range []string{"nemesis", "nemesis-interval"} {
			if changed(name) {
				return usageError("--%s: --nemesis-plan %s gives the faults and their times: leave out --%s, or --nemesis-plan", name, fl.planFile, name)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(targetOnly)) {
		if !changed(name) {
			continue
		}
		switch only := targetOnly[name]; {
		case fl.target == "" && name == "isolation":
			// The bundled transactional stores take a level too.
			if _, err := builtin.LookupIsolation(fl.store, isolationFlag(fl)); err != nil {
				return usageError("--isolation: %w", err)
			}
		case fl.target == "" && name == "cluster":
			return usageError("--cluster %s tests a real database's cluster: add --target etcd, redis or mysql", fl.cluster)
		case fl.target == "":
			return usageError("--%s is for a real database: add --target, or leave it out to test the bundled store", name)
		case only != nil && !slices.Contains(only, fl.target):
			return usageError("--%s is for --target %s, not %s: leave it out", name, strings.Join(only, " or "), fl.target)
		}
	}
	if fl.target != "" && fl.realTime {
		return usageError("--real-time is for a bundled store, simulated unless it is given; a real database always runs on the wall clock: leave it out")
	}
	if changed("cluster-dir") && fl.cluster != "local" {
		return usageError("--cluster-dir names a local cluster's folder: add --cluster local")
	}
	return nil
}

// runRecord describes the run for run.json beyond what package run
// fills in: the version, every flag, and the command that repeats it.
func runRecord(fl runFlags) folder.RunRecord {
	rec := folder.RunRecord{Version: version(), Cluster: fl.cluster, Nemesis: fl.faults, Keys: fl.keys,
		Flags: map[string]string{}, Command: []string{"consist", "run"}}
	if fl.plan != nil {
		rec.Nemesis = "none"
		if kinds := fl.plan.Kinds(); len(kinds) > 0 {
			rec.Nemesis = nemesis.Flag(kinds)
		}
	}
	if fl.flags == nil {
		return rec
	}
	fl.flags.VisitAll(func(f *pflag.Flag) {
		value := f.Value.String()
		if redact := redactor(f.Name); redact != nil {
			value = redact(value)
		}
		if f.Name == "help" {
			return
		}
		rec.Flags[f.Name] = value
		_, targetFlag := targetOnly[f.Name]
		switch {
		case f.Name == "target" && value == "":
		case fl.target == "" && f.Name == "isolation":
			if s, err := builtin.LookupIsolation(fl.store, isolationFlag(fl)); err == nil && s.Isolation != "" {
				rec.Flags[f.Name] = s.Isolation // the level the bundled store runs at
				rec.Command = append(rec.Command, "--isolation="+s.Isolation)
			}
		case fl.target == "" && targetFlag: // refused without --target
		case fl.planFile != "" && (f.Name == "nemesis" || f.Name == "nemesis-interval"): // the plan's
		case f.Name == "shrink" || f.Name == "shrink-budget": // after the run, not part of it
		case fl.planFile == "" && f.Name == "nemesis-plan":
		case fl.target != "" && f.Name == "store": // refused with --target
		case redactor(f.Name) != nil && value == "":
		default:
			rec.Command = append(rec.Command, "--"+f.Name+"="+value)
		}
	})
	return rec
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
