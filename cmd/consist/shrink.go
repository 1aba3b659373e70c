package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"consist/checker"
	"consist/nemesis"
	consistrun "consist/run"
	"consist/run/folder"
	"consist/run/shrink"
	"consist/workloads"
)

type shrinkFlags struct {
	kind, storeDir string
	budget         time.Duration
}

func newShrinkCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl shrinkFlags
	cmd := &cobra.Command{
		Use:   "shrink RUN-FOLDER [flags]",
		Short: "Replay a failing simulated run smaller and smaller while it still shows the same anomaly",
		Long: `Shrink reads a failing run's run.json and results.json and replays it
(the same bundled store, workload, seed, faults and models, a
deterministic simulation), its faults read back from the history as an
explicit plan, with fewer faults (none, either half, one left out at a
time), shorter and sooner faults, fewer clients, keys and operations and
a shorter duration, keeping each smaller run that still shows the
anomaly kind: the first anomaly's kind, or --kind. It tries each setting
halved, then smaller steps, until none shrinks or --budget is spent,
writes the smallest run found as a run folder of its own (run.json with
the command that repeats it, nemesis-plan.json with the faults kept,
history.jsonl, results.json, report.html) and prints the sizes before
and after. consist run --shrink does the same after a run.

A run against a real database, or on the wall clock (--real-time), does
not replay and is refused; so is a run with no anomaly.

Exit codes: 0 shrunk, 3 bad input or a run that cannot be shrunk.`,
		Example: `  consist run --store eventual; consist shrink store/latest
  consist shrink store/latest --kind stale-read --budget 2m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runShrink(cmd.Context(), stdout, stderr, args[0], fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.kind, "kind", "", "the anomaly kind to keep (default: the first anomaly's)")
	f.DurationVar(&fl.budget, "budget", 60*time.Second, "how long the search may take, in real time")
	f.StringVar(&fl.storeDir, "store-dir", "", "folder the smallest run is written under (default: the store folder the run is in)")
	return cmd
}

func runShrink(ctx context.Context, stdout, stderr io.Writer, dir string, fl shrinkFlags) error {
	bad := func(err error) error { return &exitError{code: exitBad, err: err} }
	if fl.budget <= 0 {
		return usageError("--budget %v: give how long the search may take, e.g. 60s", fl.budget)
	}
	if resolved, err := filepath.EvalSymlinks(dir); err == nil {
		dir = resolved // store/latest: the run it points at
	}
	runPath := filepath.Join(dir, folder.RunFile)
	data, err := os.ReadFile(runPath)
	if err != nil {
		return bad(fmt.Errorf("read the run: %w (give the folder of a run consist run made)", err))
	}
	rec, err := folder.ParseRunRecord(data, runPath)
	if err != nil {
		return bad(err)
	}
	switch {
	case rec.Target:
		return bad(fmt.Errorf("%s tested the real database %s: it is not a simulation, so it does not replay; shrink a run against a bundled store", dir, rec.Store))
	case rec.Simulation == nil:
		return bad(fmt.Errorf("%s was not a deterministic simulation (run on the wall clock, or by a consist before simulation): its seed does not replay it", dir))
	case len(rec.Command) < 2 || rec.Command[0] != "consist" || rec.Command[1] != "run":
		return bad(fmt.Errorf("%s holds no consist run command to replay: give a run consist run made", runPath))
	}
	resultsPath := filepath.Join(dir, folder.ResultsFile)
	kinds, err := anomalyKinds(resultsPath)
	if err != nil {
		return bad(err)
	}
	if len(kinds) == 0 {
		return bad(fmt.Errorf("%s shows no anomaly: there is nothing to keep while shrinking", dir))
	}
	kind := kinds[0]
	if fl.kind != "" {
		kind = checker.Kind(fl.kind)
		if !slices.Contains(kinds, kind) {
			return bad(fmt.Errorf("--kind %s: %s shows no %s; it shows %v", fl.kind, dir, fl.kind, kinds))
		}
	}

	// The run, as consist run built it from the same flags.
	var rf runFlags
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addRunFlags(fs, &rf)
	if err := fs.Parse(rec.Command[2:]); err != nil {
		return bad(fmt.Errorf("%s: its command does not parse: %w", runPath, err))
	}
	rf.flags, rf.storeSet, rf.faultsSet = fs, fs.Changed("store"), fs.Changed("nemesis")
	if rf.target != "" || rf.realTime {
		return bad(fmt.Errorf("%s: the command tests a real database or runs on the wall clock: it does not replay", runPath))
	}
	if rec.NemesisPlan != "" {
		// The plan the folder holds, wherever the folder is now.
		rf.planFile = filepath.Join(dir, filepath.Base(rec.NemesisPlan))
	}
	base, opts, err := runConfig(rf)
	if err != nil {
		return err
	}
	base.Dir, base.Models = "", rec.Models
	newWorkload := func(keys int) (workloads.Workload, error) {
		o := opts
		o.Keys = keys
		return workloads.New(rf.workload, o)
	}

	fmt.Fprintf(stderr, "consist: shrinking %s while it shows %s (budget %v)\n", dir, kind, fl.budget)
	began := time.Now()
	kept := func(s shrink.Size, ok bool) {
		if ok {
			fmt.Fprintf(stderr, "consist: still %s at %s\n", kind, s)
		}
	}
	res, err := shrink.Shrink(ctx, shrink.Config{Base: base, Keys: rf.keys, Workload: newWorkload, Kind: kind, Budget: fl.budget, Tried: kept})
	if err != nil {
		return bad(err)
	}
	took := time.Since(began)

	// The smallest run, written as a run folder with the command that
	// repeats it: its faults as a plan, kept in the folder.
	after := res.After
	set := map[string]string{"clients": strconv.Itoa(after.Clients), "ops": strconv.FormatInt(after.Ops, 10),
		"duration": after.Duration.String(), "keys": strconv.Itoa(after.Keys)}
	if after.Plan.Len() > 0 { // the plan that replays the smallest run
		rf.plan = after.Plan
		set["nemesis-plan"] = folder.PlanFile // run names the folder's copy
	} else {
		rf.plan = nil
		set["nemesis-plan"] = ""
		set["nemesis"], set["nemesis-interval"] = nemesis.Flag(after.Faults), after.Interval.String()
	}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		if err := fs.Set(name, set[name]); err != nil {
			return bad(fmt.Errorf("shrink: set --%s: %w", name, err))
		}
	}
	storeDir := fl.storeDir
	if storeDir == "" {
		storeDir = filepath.Dir(filepath.Dir(dir))
	}
	if err := fs.Set("store-dir", storeDir); err != nil {
		return bad(err)
	}
	final, _, err := runConfig(rf)
	if err != nil {
		return err
	}
	final.Models = rec.Models
	final.Record.ShrunkFrom = dir
	// The smallest run is written even after Ctrl-C ended the search: it
	// is short, and a second Ctrl-C kills consist.
	out, err := consistrun.Run(context.WithoutCancel(ctx), final)
	if err != nil {
		return bad(err)
	}
	if !shrink.Shows(out.Results(), kind) {
		return bad(fmt.Errorf("shrink: the smallest run, replayed into %s, no longer shows %s: the simulation did not replay it exactly (a bug: please report it with both run folders)", out.Dir, kind))
	}

	before := res.Before
	beforeBytes, afterBytes := fileSize(filepath.Join(dir, folder.HistoryFile)), fileSize(out.HistoryPath())
	spent := ""
	if res.BudgetSpent {
		spent = "; the budget ended the search, a larger --budget may shrink further"
	}
	fmt.Fprintf(stdout, "shrank %s with %s, keeping %s, in %d replays (%v)%s:\n", rec.Store, rec.Workload, kind, res.Replays, took.Round(time.Millisecond), spent)
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "\tbefore\tafter\n")
	fmt.Fprintf(tw, "operations\t%d\t%d\n", before.Operations, after.Operations)
	fmt.Fprintf(tw, "clients\t%d\t%d\n", before.Clients, after.Clients)
	fmt.Fprintf(tw, "keys\t%d\t%d\n", before.Keys, after.Keys)
	fmt.Fprintf(tw, "faults injected\t%d (%s)\t%d (%s)\n", before.Injected, nemesis.Flag(before.Faults), after.Injected, nemesis.Flag(after.Faults))
	if after.Plan == nil {
		fmt.Fprintf(tw, "--nemesis-interval\t%v\t%v\n", before.Interval, after.Interval)
	}
	fmt.Fprintf(tw, "--ops, --duration\t%d, %v\t%d, %v\n", before.Ops, before.Duration, after.Ops, after.Duration)
	fmt.Fprintf(tw, "history\t%d events, %d bytes\t%d events, %d bytes\n", before.Events, beforeBytes, after.Events, afterBytes)
	if err := tw.Flush(); err != nil {
		return bad(err)
	}
	if after.Plan != nil {
		fmt.Fprintf(stdout, "faults kept: %s\n", after.Plan)
	}
	fmt.Fprintf(stdout, "smallest run: %s\nrepeat it: %s\n", out.Dir, shellJoin(out.Record.Command))
	return nil
}

// anomalyKinds reads the kinds of the anomalies a run's results.json
// holds, in order, each once.
func anomalyKinds(path string) ([]checker.Kind, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the run's results: %w (a run killed before its check has none: check it with consist check, or run it again)", err)
	}
	if _, err := folder.ParseResults(data, path); err != nil {
		return nil, err
	}
	var files []struct {
		Results []struct {
			Anomalies []struct {
				Kind checker.Kind `json:"kind"`
			} `json:"anomalies"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &files); err != nil {
		return nil, fmt.Errorf("%s: %w (give the results.json consist run wrote)", path, err)
	}
	var kinds []checker.Kind
	for _, f := range files {
		for _, r := range f.Results {
			for _, a := range r.Anomalies {
				if a.Kind != "" && !slices.Contains(kinds, a.Kind) {
					kinds = append(kinds, a.Kind)
				}
			}
		}
	}
	return kinds, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// shellJoin writes a command for a shell, quoting what needs it.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`;&|<>()*?[]#~{}!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted[i] = a
	}
	return strings.Join(quoted, " ")
}
