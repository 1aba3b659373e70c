package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"consist/adapters"
	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/single"
	"consist/checker"
	"consist/history"
	"consist/report"
	"consist/workloads"
	"consist/workloads/runner"
)

type runFlags struct {
	store, workload, storeDir, distribution string
	clients, keys                           int
	ops                                     int64
	duration, opTimeout                     time.Duration
	rate                                    float64
	seed                                    uint64
	json                                    bool
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl runFlags
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "Drive a store with concurrent clients, record the history and check it",
		Long: `Run drives a store with concurrent clients for a while, recording every
operation to store/<test>/<start time>/history.jsonl as it happens (flushed
every 100 ms, so a killed run keeps what was acknowledged), then checks the
history against every model that applies, prints the verdict table, writes
results.json beside the history, and points store/latest at the run.
Ctrl-C stops the clients and still checks what was recorded.

Exit codes as for check: 0 valid, 1 invalid, 2 unknown, 3 bad input.`,
		Example: `  consist run --store single --duration 5s
  consist run --store single --clients 16 --ops 100000 --keys 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRun(cmd.Context(), stdout, stderr, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.store, "store", "single", "the bundled store to test: single (one node, linearizable)")
	f.StringVar(&fl.workload, "workload", "register", "the workload: register (read, write, cas; values unique per key)")
	f.IntVar(&fl.clients, "clients", 10, "concurrent clients, each one process at a time")
	f.DurationVar(&fl.duration, "duration", 10*time.Second, "how long to run (0: until --ops or Ctrl-C)")
	f.Int64Var(&fl.ops, "ops", 0, "stop after this many operations (0: no limit)")
	f.Float64Var(&fl.rate, "rate", 1000, "most operations per second across all clients (0: as fast as the store answers; long unthrottled runs make histories too big to check quickly)")
	f.IntVar(&fl.keys, "keys", 5, "keys the operations spread over")
	f.StringVar(&fl.distribution, "key-distribution", "uniform", "how keys are picked: uniform or zipf")
	f.DurationVar(&fl.opTimeout, "op-timeout", 5*time.Second, "an operation unanswered this long is recorded as unknown (info)")
	f.Uint64Var(&fl.seed, "seed", 1, "seed of the clients' choice of operations")
	f.StringVar(&fl.storeDir, "store-dir", "store", "folder the runs are written under")
	f.BoolVar(&fl.json, "json", false, "print the results as JSON on standard output")
	return cmd
}

func openStore(name string) (adapters.Store, error) {
	switch name {
	case "single":
		return single.New(simnet.Config{Seed: 1}), nil
	}
	return nil, usageError("--store %q: use single", name)
}

func runRun(ctx context.Context, stdout, stderr io.Writer, fl runFlags) error {
	if fl.duration == 0 && fl.ops == 0 {
		fmt.Fprintln(stderr, "consist: no --duration or --ops: running until Ctrl-C")
	}
	store, err := openStore(fl.store)
	if err != nil {
		return err
	}
	defer store.Close()
	wl, err := workloads.New(fl.workload, workloads.Options{Keys: fl.keys, Distribution: fl.distribution})
	if err != nil {
		return usageError("--workload: %w", err)
	}
	start := time.Now()
	dir, err := newRunDir(fl.storeDir, fl.store+"-"+fl.workload, start)
	if err != nil {
		return &exitError{code: exitBad, err: err}
	}
	path := filepath.Join(dir, "history.jsonl")
	file, err := os.Create(path)
	if err != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("create the history file: %w", err)}
	}
	defer file.Close()
	rec := history.NewRecorder(file, history.DefaultFlushInterval)
	var counts runner.Counts
	runErr := runner.Run(ctx, runner.Config{Store: store, Workload: wl, Recorder: rec, Clients: fl.clients,
		Duration: fl.duration, Ops: fl.ops, Rate: fl.rate, OpTimeout: fl.opTimeout, Seed: fl.seed}, &counts)
	if err := rec.Close(); err != nil {
		return &exitError{code: exitBad, err: err}
	}
	if runErr != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("the run stopped: %w (what was recorded is in %s)", runErr, path)}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stderr, "ran %s for %v: %d ok, %d fail, %d info (%.0f ops/s); history in %s\n", fl.store, elapsed.Round(time.Millisecond),
		counts.OK.Load(), counts.Fail.Load(), counts.Info.Load(), float64(counts.Total())/elapsed.Seconds(), path)

	// Check what was recorded, even after Ctrl-C.
	fr, _ := checkFile(context.WithoutCancel(ctx), path, history.JSONL, wl.Models(), checker.Options{Timeout: 60 * time.Second})
	if err := writeResults(filepath.Join(dir, "results.json"), fr); err != nil {
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
