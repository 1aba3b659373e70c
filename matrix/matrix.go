// Package matrix verifies the bundled stores against their profiles: it
// runs every store with the workloads and faults its profile names, checks
// every model that applies, and lays the verdicts out as tables — rows
// stores, columns models; single-object models, transactional models and
// invariants apart — marking every verdict that disagrees with the
// profile: a guaranteed model found broken, or a model expected to break
// found holding in the run meant to break it.
package matrix

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"consist/adapters/builtin"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/nemesis"
	"consist/run"
	"consist/run/clock"
	"consist/run/sim"
	"consist/workloads"
)

// Config describes a matrix. Zero fields take their defaults.
type Config struct {
	// Stores are the stores to run (default every bundled store).
	Stores []builtin.Store
	// Duration is how long each run lasts (default 5 s).
	Duration time.Duration
	// Interval is how long each fault lasts, and the calm between them
	// (default a fifth of Duration).
	Interval time.Duration
	// Clients, Rate and Keys shape each run's workload (defaults 10,
	// 1000 operations per second, 5 keys).
	Clients int
	Rate    float64
	Keys    int
	// Seed seeds every run; with Seeds, the runs take the seeds Seed,
	// Seed+1, ..., Seed+Seeds-1.
	Seed uint64
	// Seeds is how many seeds each run of a profile is tried under
	// (default 1), besides the seed each of the profile's breaks names
	// (in simulation, where a seed replays a run): each mark says under
	// which seeds its model broke.
	Seeds int
	// Parallel is how many runs go at once (default 1).
	Parallel int
	// RealTime runs the stores on the wall clock, as before simulation;
	// by default each run is a deterministic simulation (package
	// run/sim) that its seed replays.
	RealTime bool
	// Done, if set, is called after each run, from the goroutine that
	// ran it.
	Done func(Cell)
}

func (c *Config) defaults() {
	if c.Stores == nil {
		c.Stores = builtin.Stores()
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Interval <= 0 {
		c.Interval = c.Duration / 5
	}
	if c.Clients <= 0 {
		c.Clients = 10
	}
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.Keys <= 0 {
		c.Keys = 5
	}
	if c.Parallel <= 0 {
		c.Parallel = 1
	}
	if c.Seeds <= 0 {
		c.Seeds = 1
	}
}

// Cell is the outcome of one run of one store.
type Cell struct {
	Store string      `json:"store"`
	Run   builtin.Run `json:"-"`
	// Name names the run, as "register under partition".
	Name string `json:"run"`
	// Seed is the run's seed, and Command the consist run that replays
	// it (in simulation, exactly).
	Seed    uint64           `json:"seed"`
	Command []string         `json:"command"`
	OK      int64            `json:"ok"`
	Fail    int64            `json:"fail"`
	Info    int64            `json:"info"`
	Results []checker.Result `json:"results,omitempty"`
	// Err says why the run could not be made or checked.
	Err string `json:"error,omitempty"`
}

// Mark is a store's verdict on one model, over all its runs.
type Mark struct {
	Verdict checker.Verdict `json:"verdict"`
	// Anomalies counts the anomalies of the runs that found it broken.
	Anomalies int `json:"anomalies"`
	// Expected is what the profile says: "holds", "breaks", or "unseen"
	// (neither promised nor shown broken by any seed tried so far).
	Expected string `json:"expected,omitempty"`
	// Unseen says, for a model the profile has not seen break, why.
	Unseen string `json:"unseen,omitempty"`
	// Disagrees says, when the verdict contradicts the profile, how.
	Disagrees string `json:"disagrees,omitempty"`
	// BrokenSeeds are the seeds of the runs that found the model broken
	// (each once, in order), and Seeds how many seeds its runs were tried
	// under: a break that shows under some seeds only is still claimed,
	// with a seed that replays it.
	BrokenSeeds []uint64 `json:"broken_seeds,omitempty"`
	Seeds       int      `json:"seeds"`
	// Seed is the seed the profile names for the model's break, when
	// one of its breaks names the model itself.
	Seed uint64 `json:"profile_seed,omitempty"`
}

// Row is one store's marks.
type Row struct {
	Store string                 `json:"store"`
	Marks map[checker.Model]Mark `json:"marks"`
	Cells []Cell                 `json:"runs"`
}

// Matrix is the table of every store's marks.
type Matrix struct {
	// Models are the columns, strongest first.
	Models []checker.Model `json:"models"`
	Rows   []Row           `json:"rows"`
	// Duration is how long each run lasted.
	Duration time.Duration `json:"run_duration_ns"`
	// RealTime: the runs were on the wall clock, not simulations their
	// seeds replay.
	RealTime bool `json:"real_time,omitempty"`
}

// Disagreements lists, one sentence each, every mark that contradicts its
// store's profile.
func (m *Matrix) Disagreements() []string {
	var out []string
	for _, r := range m.Rows {
		// Every model, those without a column (measured) included.
		for _, model := range checker.Models() {
			if d := r.Marks[model].Disagrees; d != "" {
				out = append(out, fmt.Sprintf("%s: %s", r.Store, d))
			}
		}
		for _, c := range r.Cells {
			if c.Err != "" {
				out = append(out, fmt.Sprintf("%s: %s: %s", r.Store, c.Name, c.Err))
			}
		}
	}
	return out
}

// Run runs every store's runs and judges them against the profiles. It
// stops early, returning what it has, when ctx ends.
func Run(ctx context.Context, cfg Config) (*Matrix, error) {
	cfg.defaults()
	type job struct {
		row, cell int
		store     builtin.Store
		run       builtin.Run
		seed      uint64
	}
	var jobs []job
	rows := make([]Row, len(cfg.Stores))
	for i, s := range cfg.Stores {
		runs := s.Profile.AllRuns()
		if len(runs) == 0 {
			return nil, fmt.Errorf("matrix: store %s has no runs in its profile: give it Runs or Breaks", s.Name)
		}
		rows[i] = Row{Store: s.Name}
		for _, r := range runs {
			for _, seed := range seedsOf(cfg, s.Profile, r) {
				jobs = append(jobs, job{i, len(rows[i].Cells), s, r, seed})
				rows[i].Cells = append(rows[i].Cells, Cell{})
			}
		}
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for range cfg.Parallel {
		wg.Go(func() {
			for j := range work {
				c := runCell(ctx, cfg, j.store, j.run, j.seed)
				rows[j.row].Cells[j.cell] = c
				if cfg.Done != nil {
					cfg.Done(c)
				}
			}
		})
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		work <- j
	}
	close(work)
	wg.Wait()
	m := &Matrix{Duration: cfg.Duration, RealTime: cfg.RealTime}
	seen := map[checker.Model]bool{}
	for i, s := range cfg.Stores {
		rows[i].Marks = judge(s.Profile, rows[i].Cells, !cfg.RealTime)
		for model := range rows[i].Marks {
			seen[model] = true
		}
	}
	for _, model := range checker.Models() {
		// Staleness is measured, not judged, unless given bounds.
		if seen[model] && model != checker.BoundedStaleness {
			m.Models = append(m.Models, model)
		}
	}
	m.Rows = rows
	return m, ctx.Err()
}

// seedsOf returns the seeds run r of a store with profile p is tried
// under: Seed, Seed+1, ..., then, in simulation, the seed each of the
// profile's breaks in r names, so that every claim is replayed.
func seedsOf(cfg Config, p builtin.Profile, r builtin.Run) []uint64 {
	var out []uint64
	for k := range cfg.Seeds {
		out = append(out, cfg.Seed+uint64(k))
	}
	if cfg.RealTime {
		return out
	}
	for _, b := range p.Breaks {
		if b.Run.String() == r.String() && !slices.Contains(out, b.Seed) {
			out = append(out, b.Seed)
		}
	}
	return out
}

// Each run's operation timeout, and how long the healed store settles.
const (
	opTimeout = time.Second
	quiesce   = 300 * time.Millisecond
)

// runCell runs one store under one run and checks the history.
func runCell(ctx context.Context, cfg Config, s builtin.Store, r builtin.Run, seed uint64) Cell {
	duration, interval := cfg.Duration, cfg.Interval
	if d := s.Profile.RunFor; d > 0 && d < duration {
		duration, interval = d, interval*d/cfg.Duration
	}
	c := Cell{Store: s.Name, Run: r, Name: r.String(), Seed: seed}
	c.Command = []string{"consist", "run", "--store", s.Name, "--workload", r.Workload, "--nemesis", nemesis.Flag(r.Faults),
		"--duration", duration.String(), "--nemesis-interval", interval.String(), "--clients", fmt.Sprint(cfg.Clients),
		"--rate", fmt.Sprint(cfg.Rate), "--keys", fmt.Sprint(cfg.Keys), "--op-timeout", opTimeout.String(),
		"--quiesce", quiesce.String(), "--seed", fmt.Sprint(seed)}
	if cfg.RealTime {
		c.Command = append(c.Command, "--real-time")
	}
	wl, err := workloads.New(r.Workload, workloads.Options{Keys: cfg.Keys})
	if err != nil {
		c.Err = err.Error()
		return c
	}
	var clk clock.Clock
	var sched simnet.Scheduler
	if !cfg.RealTime {
		sm := sim.New(sim.Epoch)
		clk, sched = sm, sm
	}
	net := s.OpenOn(seed, sched)
	defer net.Close()
	res, err := run.Run(ctx, run.Config{System: &run.System{Name: s.Name, Store: net, Faults: net}, Workload: wl, Clock: clk, RealTime: cfg.RealTime,
		Faults: r.Faults, Interval: interval, Clients: cfg.Clients, Duration: duration, Rate: cfg.Rate,
		OpTimeout: opTimeout, Quiesce: quiesce, Seed: seed, CheckTimeout: time.Minute,
		Name: s.Name + " " + c.Name})
	c.OK, c.Fail, c.Info = res.OK, res.Fail, res.Info
	switch {
	case err != nil:
		c.Err = fmt.Sprint("the run failed: ", err)
	case res.Check.Error != "":
		c.Err = res.Check.Error
	default:
		c.Results = res.Results()
	}
	return c
}

// judge merges a store's runs into one mark per model and compares each
// with the profile. In simulation (replayed) each break must show under
// the seed the profile names for it; on the wall clock, under any seed.
func judge(p builtin.Profile, cells []Cell, replayed bool) map[checker.Model]Mark {
	marks := map[checker.Model]Mark{}
	tried := map[checker.Model][]uint64{}
	for _, c := range cells {
		for _, r := range c.Results {
			mk, ok := marks[r.Model]
			switch {
			case !ok:
				mk = Mark{Verdict: r.Verdict}
			case r.Verdict.Worse(mk.Verdict):
				mk.Verdict = r.Verdict
			}
			if !slices.Contains(tried[r.Model], c.Seed) {
				tried[r.Model] = append(tried[r.Model], c.Seed)
			}
			if r.Verdict == checker.Invalid {
				mk.Anomalies += len(r.Anomalies)
				if !slices.Contains(mk.BrokenSeeds, c.Seed) {
					mk.BrokenSeeds = append(mk.BrokenSeeds, c.Seed)
					slices.Sort(mk.BrokenSeeds)
				}
			}
			marks[r.Model] = mk
		}
	}
	for _, b := range p.Breaks {
		if _, ok := marks[b.Model]; !ok {
			marks[b.Model] = Mark{Verdict: checker.Unknown}
		}
	}
	for model, mk := range marks {
		mk.Seeds = len(tried[model])
		switch {
		case p.Guaranteed(model):
			mk.Expected = "holds"
			if mk.Verdict == checker.Invalid {
				mk.Disagrees = fmt.Sprintf("%s is guaranteed, but %s", model, brokenIn(cells, model))
			}
		case p.Broken(model):
			mk.Expected = "breaks"
			for _, b := range p.Breaks {
				if b.Model != model {
					continue
				}
				if mk.Seed == 0 {
					mk.Seed = b.Seed
				}
				if !replayed {
					if v := verdictIn(cells, b.Run, model, nil); v != checker.Invalid {
						mk.Disagrees = fmt.Sprintf("%s should break in %s, but was %s there", model, b.Run, v)
					}
				} else if v := verdictIn(cells, b.Run, model, &b.Seed); v != checker.Invalid {
					mk.Disagrees = fmt.Sprintf("%s should break in %s under seed %d, but was %s there", model, b.Run, b.Seed, v)
				}
			}
		case !mk.Verdict.Judged():
			// A measurement (staleness given no bound) claims nothing.
		default:
			if why, ok := p.Unclaimed(model); ok {
				mk.Expected, mk.Unseen = "unseen", why
			} else {
				mk.Disagrees = fmt.Sprintf("the profile says nothing of %s (it was %s): guarantee it, claim its break with a run and a seed, or say why no seed shows it", model, mk.Verdict)
			}
		}
		marks[model] = mk
	}
	return marks
}

// verdictIn returns model's verdict in the cells of run (of seed alone,
// unless nil): Invalid if any seed found it broken, else the first seed's
// verdict, or Unknown.
func verdictIn(cells []Cell, run builtin.Run, model checker.Model, seed *uint64) checker.Verdict {
	v := checker.Unknown
	for _, c := range cells {
		if c.Run.String() != run.String() || seed != nil && c.Seed != *seed {
			continue
		}
		for _, r := range c.Results {
			if r.Model != model {
				continue
			}
			if r.Verdict == checker.Invalid {
				return r.Verdict
			}
			if v == checker.Unknown {
				v = r.Verdict
			}
		}
	}
	return v
}

// brokenIn says where model broke, with the first anomaly's explanation.
func brokenIn(cells []Cell, model checker.Model) string {
	for _, c := range cells {
		for _, r := range c.Results {
			if r.Model != model || r.Verdict != checker.Invalid {
				continue
			}
			if len(r.Anomalies) > 0 {
				return fmt.Sprintf("it broke in %s, seed %d: %s", c.Name, c.Seed, r.Anomalies[0].Explanation())
			}
			return fmt.Sprintf("it broke in %s, seed %d (%s)", c.Name, c.Seed, r.Reason)
		}
	}
	return "it broke"
}
