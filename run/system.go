package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	"consist/adapters"
	"consist/adapters/builtin"
	"consist/adapters/builtin/simnet"
	"consist/cluster"
	"consist/nemesis"
	"consist/run/clock"
	"consist/run/sim"
	"consist/workloads"
)

// System is what a run drives and breaks.
type System struct {
	// Name names the store or database in the run folder's path and
	// run.json.
	Name string
	// Store is what the clients talk to.
	Store adapters.Store
	// Faults is what the nemesis breaks: the bundled store's simulated
	// network, or the local cluster running the database (nil: the
	// Store, which takes the faults it implements, if any).
	Faults nemesis.Target
	// Real says the system is a real database, at Nodes (never with
	// credentials).
	Real  bool
	Nodes []string
	close func()
}

// Close closes what Open opened.
func (s *System) Close() {
	if s.close != nil {
		s.close()
		s.close = nil
	}
}

// open opens the system cfg names: its System as given, a bundled
// store, or a real database (starting its local cluster if need be).
func open(ctx context.Context, cfg *Config) (*System, error) {
	switch {
	case cfg.System != nil:
		sys := *cfg.System
		sys.close = nil // the caller's to close
		return &sys, nil
	case cfg.Database != nil:
		return openDatabase(ctx, cfg)
	}
	sys, err := OpenStore(cfg.Store, cfg.Seed, cfg.Clock)
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	return sys, nil
}

// OpenStore opens the bundled store called name with seed: in virtual
// time on c when c is a simulation (package sim), in real time
// otherwise. Its Close closes the network.
func OpenStore(name string, seed uint64, c clock.Clock) (*System, error) {
	s, err := builtin.Lookup(name)
	if err != nil {
		return nil, err
	}
	var sched simnet.Scheduler
	if sm, ok := c.(*sim.Sim); ok {
		sched = sm
	}
	net := s.OpenOn(seed, sched)
	return &System{Name: name, Store: net, Faults: net, close: func() { net.Close() }}, nil
}

// checkDatabase refuses a database run that cannot be, before anything
// starts.
func checkDatabase(cfg *Config) error {
	db := cfg.Database
	if err := db.Check(); err != nil {
		return err
	}
	if !db.Runs(cfg.Workload.Name()) {
		return fmt.Errorf("--workload %s: the %s target runs the %s workloads", cfg.Workload.Name(), db.Name, andList(db.Workloads))
	}
	if !cfg.Local {
		if len(cfg.Faults) > 0 {
			return fmt.Errorf("--nemesis %s: consist can break only a cluster it runs: add --cluster local, or --nemesis none", kindList(cfg.Faults))
		}
		return nil
	}
	if _, given := db.Given(cfg.Conn); len(cfg.Conn.Endpoints) > 0 || given {
		leave := "--endpoints"
		for _, s := range db.Settings {
			if s.Address {
				leave += " and --" + s.Name
			}
		}
		return fmt.Errorf("--cluster local gives the addresses itself: leave out %s", leave)
	}
	for _, k := range cfg.Faults {
		if !db.Takes(k) {
			why := db.NoFault
			if why == "" {
				why = fmt.Sprintf("the %s cluster cannot take it", db.Name)
			}
			return fmt.Errorf("--nemesis %s: %s; use %s", k, why, db.FaultList())
		}
	}
	return nil
}

// openDatabase connects to the real database cfg names, on its local
// cluster when cfg.Local.
func openDatabase(ctx context.Context, cfg *Config) (*System, error) {
	if err := checkDatabase(cfg); err != nil {
		return nil, err
	}
	db := cfg.Database
	sys := &System{Name: db.Name, Real: true}
	conn := cfg.Conn
	conn.Settings = db.WithDefaults(conn.Settings)
	if cfg.Local {
		c, err := localCluster(ctx, cfg, db.Cluster, sys)
		if err != nil {
			return nil, err
		}
		conn.Cluster, sys.Faults = c, c
	}
	store, err := db.Open(ctx, conn)
	if err != nil {
		sys.Close()
		return nil, err
	}
	sys.Store, sys.Nodes = store, store.Nodes()
	closeCluster := sys.close
	sys.close = func() {
		store.Close()
		if closeCluster != nil {
			closeCluster()
		}
	}
	return sys, nil
}

// localCluster returns the local cluster of kind that is up, or starts
// one that sys.Close stops. Either way a guardian watches the run (see
// cluster.StartGuard): if consist dies without healing, it heals the
// cluster, and stops it if the run started it.
func localCluster(ctx context.Context, cfg *Config, kind string, sys *System) (*cluster.Cluster, error) {
	dir := cfg.ClusterDir
	if dir == "" {
		dir = cluster.DefaultDir(kind)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	err := cluster.AwaitGuardians(wctx, dir, func() {
		cfg.notify("waiting for the run testing the cluster in %s to end (or its guardian to heal it)", dir)
	})
	cancel()
	if err != nil {
		return nil, err
	}
	if c, err := cluster.Load(dir); err == nil && c.Running() {
		// A run killed mid-fault leaves it partitioned, paused or down
		// if its guardian could not heal it.
		if err := c.Repair(ctx); err != nil {
			return nil, fmt.Errorf("the %s cluster in %s is up but does not serve: %w (start it afresh: consist cluster down %s, then up)", kind, dir, err, kind)
		}
		g, err := cluster.StartGuard(ctx, c, false)
		if err != nil {
			return nil, err
		}
		sys.close = func() {
			if err := g.Release(); err != nil {
				cfg.notify("%v", err)
			}
		}
		cfg.notify("testing the %s cluster in %s", kind, dir)
		return c, nil
	}
	start := time.Now()
	c, err := cluster.Up(ctx, kind, cluster.Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	g, err := cluster.StartGuard(ctx, c, true)
	if err != nil {
		_ = c.Down(context.WithoutCancel(ctx))
		return nil, err
	}
	cfg.notify("started a %s cluster in %s (%v); it stops when the run ends", kind, dir, time.Since(start).Round(time.Millisecond))
	sys.close = func() {
		if err := c.Down(context.WithoutCancel(ctx)); err != nil {
			cfg.notify("stopping the %s cluster: %v", kind, err)
			return // the guardian stays, and stops it once consist has exited
		}
		if err := g.Release(); err != nil {
			cfg.notify("%v", err)
		}
	}
	return c, nil
}

// checkHolds refuses a bundled store that cannot keep the objects the
// workload acts on, saying why and which workloads it runs.
func checkHolds(name string, wl workloads.Workload) error {
	s, err := builtin.Lookup(name)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	ok, why := s.Holder().Holds(workloads.KindOf(wl))
	if ok {
		return nil
	}
	var fits []string
	for _, name := range workloads.Names() {
		if w, err := workloads.New(name, workloads.Options{}); err == nil && s.CanHold(workloads.KindOf(w)) {
			fits = append(fits, name)
		}
	}
	return fmt.Errorf("--store %s cannot run the %s workload: %s (it runs --workload %s)", s.Name, wl.Name(), why, strings.Join(fits, ", "))
}

// andList joins names as "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func kindList(kinds []nemesis.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ",")
}
