// Package run runs a test end to end, as Jepsen's core does: it opens the
// system under test (a bundled store on its simulated network, a real
// database at given addresses, or its local cluster), records every
// operation of the workload's concurrent clients while the nemesis
// injects faults, heals, lets the clients do their final reads, checks
// the history against every model that applies, and keeps the run folder
// (see package folder): run.json when the run starts and again when it
// ends, history.jsonl flushed as it goes, results.json, and store/latest.
//
// consist run, consist matrix and the stores' tests all run through Run.
// The clients' loop is workloads/runner's; the time of the schedule is
// the Config's Clock (see package clock), the seam a deterministic
// simulation replaces. Errors name settings by consist run's flags.
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"consist/adapters"
	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/nemesis"
	"consist/report"
	reporthtml "consist/report/html"
	"consist/run/clock"
	"consist/run/folder"
	"consist/run/sim"
	"consist/run/target"
	"consist/workloads"
	"consist/workloads/runner"
)

// Config describes a run. What it tests is one of System, Database and
// Store.
type Config struct {
	// Store names the bundled store to test (see adapters/builtin).
	Store string
	// Database is the real database to test (see package databases),
	// reached through Conn, or on its local cluster when Local.
	Database *target.Database
	Conn     target.Conn
	// Local tests the database's local cluster: the one up in
	// ClusterDir (default cluster.DefaultDir), or one started for the
	// run and stopped after it. Faults need it.
	Local      bool
	ClusterDir string
	// System, if set, is the system to test, already open; the run
	// neither opens nor closes it. Without Faults, the nemesis acts on
	// its Store.
	System *System

	// Workload is what the clients do.
	Workload workloads.Workload
	// Faults are the faults the nemesis injects, each lasting Interval
	// after a calm of Interval (default 1 s), picked in Order.
	Faults   []nemesis.Kind
	Interval time.Duration
	Order    nemesis.Order
	// Plan, if set, is the exact faults to inject (see nemesis.Plan), in
	// place of faults drawn from Faults: Faults must then be the plan's
	// kinds, or nil (Validate fills them in), and Interval and Order are
	// unused.
	Plan *nemesis.Plan
	// Clients is the number of concurrent clients (default 10).
	Clients int
	// Duration and Ops end the main phase, whichever comes first; with
	// neither, only ctx ends it.
	Duration time.Duration
	Ops      int64
	// Rate is the most operations per second across all clients (0: as
	// fast as the system answers).
	Rate float64
	// OpTimeout makes an unanswered operation unknown (default 5 s);
	// Quiesce is how long the healed system settles before the final
	// reads.
	OpTimeout, Quiesce time.Duration
	// Seed seeds every random choice: the operations, the faults, the
	// simulated network.
	Seed uint64

	// Models are the models to check (default the workload's).
	Models []checker.Model
	// CheckTimeout bounds the check (default 60 s). NoCheck leaves the
	// history unchecked, for callers that check it themselves.
	CheckTimeout time.Duration
	NoCheck      bool

	// Dir is the folder runs are written under (store): the run's folder
	// is Dir/<system>-<workload>/<start time>/. Empty: the history is
	// kept in memory and nothing is written.
	Dir string
	// Record holds what run.json says beyond the run's settings: the
	// version, the command and its flags, the nemesis as given, the
	// keys, the cluster. Run fills in the rest.
	Record folder.RunRecord
	// Name labels the history in the results (default: the history
	// file, or "<system>-<workload>").
	Name string

	// Clock is the time the schedule keeps (nil: a new deterministic
	// simulation, package sim, for a bundled Store; the wall clock
	// otherwise). A System on a simulated network takes the simulation
	// its network runs on (clock.Of its Store; see OpenStore).
	Clock clock.Clock
	// RealTime runs a bundled Store on the wall clock, its nodes on
	// goroutines of their own, as before simulation: a seed then does not
	// reproduce the run.
	RealTime bool

	// Notify, if set, receives what the run has to say on its way: which
	// cluster it tests or starts.
	Notify func(msg string)
	// Started, if set, is called as the clients start; the function it
	// returns, once they have stopped.
	Started func(Live) (stop func())
	// Recorded, if set, is called once the history is complete, before
	// it is checked.
	Recorded func(Result)
	// CheckFile, if set, checks the history file of a run folder in
	// place of Run's own check (parse, then suite.Check); the CLI's
	// keeps within its memory budget and shows progress.
	CheckFile func(ctx context.Context, path string, models []checker.Model, opts checker.Options) (report.FileResult, *history.History)
}

// Live is a run in progress, for a status line.
type Live struct {
	// Counts are the operations completed so far, by outcome.
	Counts *runner.Counts
	// Nemesis says which fault is in force (Active).
	Nemesis *nemesis.Nemesis
	// Start is when the run started, on the wall clock.
	Start time.Time
	// Clock is the run's clock: the simulation's, for a bundled store.
	Clock clock.Clock
}

// Result is what a run did and found.
type Result struct {
	// Dir is the run's folder ("" when kept in memory).
	Dir string
	// Record is run.json's content.
	Record folder.RunRecord
	// History is the recorded history, when it was read back.
	History *history.History
	// Check holds the verdicts (empty with NoCheck).
	Check report.FileResult
	// OK, Fail and Info count the operations by outcome.
	OK, Fail, Info int64
	// Elapsed is how long the clients ran, final reads included, on the
	// run's clock (virtual time in a simulation); Wall, in real time.
	Elapsed, Wall time.Duration
	// MainStart is the history time (Event.Time) at which the main phase
	// began, when the nemesis started: the origin of a plan's times.
	MainStart int64
	// Interrupted: ctx ended the run, which healed and skipped the final
	// reads.
	Interrupted bool
}

// Results are the verdicts, one per model checked.
func (r Result) Results() []checker.Result { return r.Check.Results }

// HistoryPath is the run's history file ("" when kept in memory).
func (r Result) HistoryPath() string {
	if r.Dir == "" {
		return ""
	}
	return filepath.Join(r.Dir, folder.HistoryFile)
}

// DefaultCheckTimeout bounds the check at the end of a run.
const DefaultCheckTimeout = 60 * time.Second

// Validate refuses a config that cannot run, before anything is opened or
// written.
func (cfg *Config) Validate() error {
	switch n := btoi(cfg.Store != "") + btoi(cfg.Database != nil) + btoi(cfg.System != nil); {
	case n == 0:
		return errors.New("run: name what to test: a Store, a Database or a System")
	case n > 1:
		return errors.New("--store names a bundled store; --target tests a real database: give one of them")
	case cfg.Workload == nil:
		return errors.New("run: give a Workload")
	case cfg.Clients < 0:
		return fmt.Errorf("--clients %d: run at least 1 client", cfg.Clients)
	case cfg.Ops < 0:
		return fmt.Errorf("--ops %d: give a number of operations, or 0 for no limit", cfg.Ops)
	case cfg.Duration < 0:
		return fmt.Errorf("--duration %v: give a duration, or 0 to run until --ops or Ctrl-C", cfg.Duration)
	case math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) || cfg.Rate < 0:
		return fmt.Errorf("--rate %v: give operations per second, or 0 for as fast as the store answers", cfg.Rate)
	case cfg.OpTimeout < 0:
		return fmt.Errorf("--op-timeout %v: give how long an operation may take, e.g. 2s", cfg.OpTimeout)
	case cfg.Interval < 0:
		return fmt.Errorf("--nemesis-interval %v: give how long each fault lasts, e.g. 1s", cfg.Interval)
	case cfg.Quiesce < 0:
		return fmt.Errorf("--quiesce %v: give how long the store settles, or 0", cfg.Quiesce)
	case cfg.Database == nil && (cfg.Local || cfg.ClusterDir != ""):
		return errors.New("--cluster tests a real database's cluster: add --target")
	}
	if cfg.Plan != nil {
		if err := cfg.Plan.Check(); err != nil {
			return fmt.Errorf("--nemesis-plan: %w", err)
		}
		kinds := cfg.Plan.Kinds()
		if cfg.Faults != nil && !slices.Equal(cfg.Faults, kinds) {
			return fmt.Errorf("run: Faults %s and the plan's kinds %s differ: leave Faults unset with a plan", kindList(cfg.Faults), kindList(kinds))
		}
		cfg.Faults = kinds
	}
	switch {
	case cfg.Store != "":
		return checkHolds(cfg.Store, cfg.Workload)
	case cfg.Database != nil:
		return checkDatabase(cfg)
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (cfg *Config) defaults() {
	if cfg.Clients == 0 {
		cfg.Clients = 10
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = 5 * time.Second
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.CheckTimeout == 0 {
		cfg.CheckTimeout = DefaultCheckTimeout
	}
	if cfg.Models == nil {
		cfg.Models = cfg.Workload.Models()
	}
	switch {
	case cfg.Clock == nil && cfg.Store != "" && !cfg.RealTime:
		cfg.Clock = sim.New(sim.Epoch)
	case cfg.Clock == nil && cfg.System != nil:
		// A bundled store opened on a simulation runs in it.
		cfg.Clock = clock.Of(cfg.System.Store)
	}
	cfg.Clock = clock.Or(cfg.Clock)
}

func (cfg *Config) notify(format string, args ...any) {
	if cfg.Notify != nil {
		cfg.Notify(fmt.Sprintf(format, args...))
	}
}

// Run runs the test cfg describes: it opens the system, writes run.json
// (when cfg.Dir is set), drives the clients while the nemesis injects
// faults, heals, performs the final reads, writes run.json again with the
// counts, checks the history and writes results.json. ctx ending stops
// the clients; the run still heals, and checks what was recorded.
//
// The error is about the run itself (a setting, the system, the folder,
// recording); the verdicts are in the Result. A run that stopped part
// way returns what it has with the error.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	cfg.defaults()
	sys, err := open(ctx, &cfg)
	if err != nil {
		return Result{}, err
	}
	defer sys.Close()
	if err := adapters.Supports(sys.Store, workloads.KindOf(cfg.Workload)); err != nil {
		return Result{}, fmt.Errorf("--workload %s: %w", cfg.Workload.Name(), err)
	}
	// The nemesis is made before anything is written, so that a fault
	// the system cannot take is refused first; it records into sink once
	// the recorder exists. Without faults it only waits.
	var sink lateSink
	faults := sys.Faults
	if faults == nil {
		faults = sys.Store
	}
	nem, err := nemesis.New(faults, nemesis.Schedule{Kinds: cfg.Faults, Interval: cfg.Interval, Order: cfg.Order, Seed: cfg.Seed, Clock: cfg.Clock, Plan: cfg.Plan}, &sink)
	if err != nil {
		if cfg.Plan != nil {
			return Result{}, fmt.Errorf("--nemesis-plan: %w", err)
		}
		return Result{}, fmt.Errorf("--nemesis: %w", err)
	}

	// run.json's times and the folder's name are the clock's, except in a
	// simulation: they are then the wall clock's (so that two runs get two
	// folders), and Simulation records the virtual time the history's
	// times count from.
	wallStart, start := time.Now(), cfg.Clock.Now()
	simulated, _ := cfg.Clock.(*sim.Sim)
	recordStart := start
	if simulated != nil {
		recordStart = wallStart
	}
	res := Result{Record: cfg.record(sys, recordStart)}
	if simulated != nil {
		res.Record.Simulation = &folder.Simulation{Epoch: simulated.Epoch()}
	}
	var out io.Writer
	var buf bytes.Buffer
	var runFile string
	if cfg.Dir != "" {
		if res.Dir, err = folder.Create(cfg.Dir, sys.Name+"-"+cfg.Workload.Name(), recordStart); err != nil {
			return res, err
		}
		// run.json first, so that a run killed at any point can be
		// checked, recommended on and repeated.
		runFile = filepath.Join(res.Dir, folder.RunFile)
		if cfg.Plan != nil {
			if err := writePlan(res.Dir, cfg.Plan, &res.Record); err != nil {
				return res, err
			}
		}
		if err := folder.WriteJSON(runFile, res.Record); err != nil {
			return res, err
		}
		file, err := os.Create(res.HistoryPath())
		if err != nil {
			return res, fmt.Errorf("create the history file: %w", err)
		}
		defer file.Close()
		out = file
	} else {
		out = &buf
	}
	rec := history.NewRecorderClock(out, history.DefaultFlushInterval, cfg.Clock.Now)
	sink.set(rec)

	var counts runner.Counts
	stop := func() {}
	if cfg.Started != nil {
		stop = cfg.Started(Live{Counts: &counts, Nemesis: nem, Start: wallStart, Clock: cfg.Clock})
	}
	runErr := runner.Run(ctx, runner.Config{Store: sys.Store, Workload: cfg.Workload, Recorder: rec, Clients: cfg.Clients,
		Duration: cfg.Duration, Ops: cfg.Ops, Rate: cfg.Rate, OpTimeout: cfg.OpTimeout, Seed: cfg.Seed,
		Nemesis: nem, Quiesce: cfg.Quiesce, Clock: cfg.Clock}, &counts)
	stop()
	res.OK, res.Fail, res.Info = counts.OK.Load(), counts.Fail.Load(), counts.Info.Load()
	if origin := nem.Origin(); !origin.IsZero() {
		res.MainStart = int64(origin.Sub(rec.Start()))
	}
	if err := rec.Close(); err != nil {
		return res, err
	}
	if runErr != nil {
		if res.Dir != "" {
			return res, fmt.Errorf("the run stopped: %w (what was recorded is in %s)", runErr, res.HistoryPath())
		}
		return res, fmt.Errorf("the run stopped: %w", runErr)
	}
	res.Elapsed, res.Wall = cfg.Clock.Now().Sub(start), time.Since(wallStart)
	res.Interrupted = ctx.Err() != nil
	took := res.Elapsed
	if simulated != nil {
		took = res.Wall
	}
	ended := recordStart.Add(took).UTC()
	r := &res.Record
	r.Ended, r.Elapsed, r.Interrupted = &ended, took.Round(time.Millisecond).String(), res.Interrupted
	r.OK, r.Fail, r.Info = res.OK, res.Fail, res.Info
	if r.Simulation != nil {
		r.Simulation.Elapsed = res.Elapsed.String()
	}
	if runFile != "" {
		if err := folder.WriteJSON(runFile, res.Record); err != nil {
			return res, err
		}
	}
	if cfg.Recorded != nil {
		cfg.Recorded(res)
	}
	if cfg.NoCheck {
		if res.Dir == "" {
			res.History, err = history.Parse(buf.Bytes(), cfg.name(sys), history.JSONL)
		}
		return res, err
	}

	// Check what was recorded, even after ctx ended.
	cctx := context.WithoutCancel(ctx)
	opts := checker.Options{Timeout: cfg.CheckTimeout, Initial: res.Record.Initial, WFRKeys: res.Record.WFRKeys}
	switch {
	case res.Dir != "" && cfg.CheckFile != nil:
		res.Check, res.History = cfg.CheckFile(cctx, res.HistoryPath(), cfg.Models, opts)
	case res.Dir != "":
		res.Check, res.History = check(cctx, res.HistoryPath(), nil, cfg.Models, opts)
	default:
		res.Check, res.History = check(cctx, cfg.name(sys), buf.Bytes(), cfg.Models, opts)
	}
	if res.Dir != "" {
		if err := writeResults(filepath.Join(res.Dir, folder.ResultsFile), res.Check); err != nil {
			return res, err
		}
		if _, err := reporthtml.WriteFile(res.Dir, res.Report()); err != nil {
			return res, err
		}
	}
	return res, nil
}

// PlanFlag is consist run's flag naming a nemesis plan file.
const PlanFlag = "--nemesis-plan"

// writePlan writes the run's plan into its folder, and points run.json
// and the command that repeats the run at it.
func writePlan(dir string, p *nemesis.Plan, r *folder.RunRecord) error {
	path := filepath.Join(dir, folder.PlanFile)
	if err := folder.WriteJSON(path, p); err != nil {
		return err
	}
	r.NemesisPlan = folder.PlanFile
	if len(r.Command) == 0 {
		return nil
	}
	r.Command = slices.Clone(r.Command)
	arg := PlanFlag + "=" + path
	for i, a := range r.Command {
		if strings.HasPrefix(a, PlanFlag+"=") {
			r.Command[i] = arg
			return nil
		}
	}
	r.Command = append(r.Command, arg)
	return nil
}

// Plan reads the faults the run injected back from its history, as a
// plan that replays them (see nemesis.ReadPlan).
func (r Result) Plan() (*nemesis.Plan, error) {
	if r.History == nil {
		return nil, errors.New("run: the history was not kept: its faults cannot be read back")
	}
	p, err := nemesis.ReadPlan(r.History.Events, r.MainStart)
	if err != nil {
		return nil, fmt.Errorf("read the run's faults: %w", err)
	}
	return p, nil
}

// Report is the run's report: its settings, what its check found, and
// its history (for the drawings) when it was kept.
func (r Result) Report() report.Report {
	return report.New([]report.FileResult{r.Check}, r.History, &r.Record)
}

// name labels an in-memory history.
func (cfg *Config) name(sys *System) string {
	if cfg.Name != "" {
		return cfg.Name
	}
	return sys.Name + "-" + cfg.Workload.Name()
}

// record describes the run that starts, for run.json.
func (cfg *Config) record(sys *System, start time.Time) folder.RunRecord {
	r := cfg.Record
	r.Store, r.Target, r.Nodes = sys.Name, sys.Real, sys.Nodes
	r.Workload, r.Clients, r.Rate, r.Seed = cfg.Workload.Name(), cfg.Clients, cfg.Rate, cfg.Seed
	r.Models, r.Started = cfg.Models, start.UTC()
	if a, ok := cfg.Workload.(workloads.Assumer); ok {
		var opts checker.Options
		a.Assume(&opts)
		r.WFRKeys = opts.WFRKeys
	}
	if r.Nemesis == "" {
		r.Nemesis = "none"
		if len(cfg.Faults) > 0 {
			r.Nemesis = kindList(cfg.Faults)
		}
	}
	return r
}

// check reads the history (from path, or data when given) and checks it
// within opts.Timeout.
func check(ctx context.Context, name string, data []byte, models []checker.Model, opts checker.Options) (report.FileResult, *history.History) {
	fr := report.FileResult{File: name}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	var h *history.History
	var err error
	if data != nil {
		h, err = history.Parse(data, name, history.JSONL)
	} else {
		h, err = history.ReadFileContext(ctx, name, history.JSONL, history.Limits{})
	}
	if err != nil {
		fr.Error = err.Error()
		return fr, nil
	}
	fr.Format, fr.Ops, fr.Processes, fr.TornLine, fr.Warnings = h.Format.String(), len(h.Ops), h.Processes(), h.TornLine, h.Warnings
	fr.Results = suite.Check(ctx, h, opts, models...)
	return fr, h
}

func writeResults(path string, fr report.FileResult) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if err := report.WriteJSON(f, report.Report{Files: []report.FileResult{fr}}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lateSink passes events on to a sink set after it was handed out.
type lateSink struct {
	mu   sync.RWMutex
	sink history.Sink
}

func (l *lateSink) set(s history.Sink) {
	l.mu.Lock()
	l.sink = s
	l.mu.Unlock()
}

func (l *lateSink) Record(e history.Event) (history.Event, error) {
	l.mu.RLock()
	s := l.sink
	l.mu.RUnlock()
	if s == nil {
		return e, errors.New("run: the nemesis recorded before the run started")
	}
	return s.Record(e)
}
