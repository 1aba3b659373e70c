package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"consist/adapters/builtin"
	"consist/matrix"
)

type matrixFlags struct {
	duration time.Duration
	stores   string
	seed     uint64
	seeds    int
	parallel int
	json     bool
	realTime bool
	reports  reportFlags
}

func newMatrixCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl matrixFlags
	cmd := &cobra.Command{
		Use:   "matrix [flags]",
		Short: "Run every bundled store under faults and check it against its documented profile",
		Long: `Matrix runs every bundled store with the workloads and faults its profile
names, checks every model that applies, and prints three tables — the
single-object models, the transactional models (for the stores that take
transactions) and the invariants; rows stores, columns models strongest
first, abbreviated with a legend — with ✓ (holds), ✗ n (broken, n
anomalies), ? (unknown) or · (not checked), marking with ! every verdict
that disagrees with the store's profile: a guaranteed model found broken,
or a model the store is expected to break found holding in the run meant
to break it.

Exit codes: 0 every store behaved as its profile says · 1 some verdict
disagrees · 3 bad usage or a run that could not be made.`,
		Example: `  consist matrix
  consist matrix --duration 2s --store paxos,eventual --markdown -
  consist matrix --junit matrix.xml --markdown matrix.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMatrix(cmd.Context(), stdout, stderr, fl)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&fl.duration, "duration", 5*time.Second, "how long each run of each store lasts")
	f.StringVar(&fl.stores, "store", "", "the stores to run, comma-separated (default all: "+strings.Join(builtin.Names(), ", ")+")")
	f.Uint64Var(&fl.seed, "seed", 1, "seed of every run")
	f.IntVar(&fl.seeds, "seeds", 4, "how many seeds each run is tried under (--seed, --seed+1, ...): a break shows if any seed shows it")
	f.IntVar(&fl.parallel, "parallel", 2, "how many runs go at once")
	f.BoolVar(&fl.realTime, "real-time", false, "run the stores on the wall clock instead of deterministic simulations")
	f.BoolVar(&fl.json, "json", false, "print the matrix as JSON")
	addReportFlags(f, &fl.reports)
	return cmd
}

func runMatrix(ctx context.Context, stdout, stderr io.Writer, fl matrixFlags) error {
	if err := fl.reports.validate(fl.json); err != nil {
		return err
	}
	if fl.seeds < 1 {
		return usageError("--seeds %d: try each run under at least 1 seed", fl.seeds)
	}
	cfg := matrix.Config{Duration: fl.duration, Seed: fl.seed, Seeds: fl.seeds, Parallel: fl.parallel, RealTime: fl.realTime}
	if fl.stores != "" {
		for _, name := range strings.Split(fl.stores, ",") {
			s, err := builtin.Lookup(strings.TrimSpace(name))
			if err != nil {
				return usageError("--store: %w", err)
			}
			cfg.Stores = append(cfg.Stores, s)
		}
	}
	start := time.Now()
	cfg.Done = func(c matrix.Cell) {
		status := fmt.Sprintf("%d ok, %d fail, %d info", c.OK, c.Fail, c.Info)
		if c.Err != "" {
			status = "error: " + c.Err
		}
		fmt.Fprintf(stderr, "%6.1fs  %-16s %-34s seed %-3d %s\n", time.Since(start).Seconds(), c.Store, c.Name, c.Seed, status)
	}
	m, err := matrix.Run(ctx, cfg)
	if err != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("the matrix stopped: %w", err)}
	}
	switch {
	case fl.json:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(m)
	case !fl.reports.toStdout():
		err = m.WriteText(stdout)
	}
	if err == nil {
		err = writeMatrixReports(stdout, fl.reports, m, cfg.Stores)
	}
	if err != nil {
		return &exitError{code: exitBad, err: err}
	}
	if d := m.Disagreements(); len(d) > 0 {
		return &exitError{code: exitInvalid}
	}
	return nil
}
