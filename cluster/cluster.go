// Package cluster starts real database servers as local processes on
// loopback and breaks them on the nemesis's orders: kill -9 and restart a
// member, SIGSTOP and SIGCONT it, cut it off from its peers. Each kind of
// server is a Layout its database's package registers (adapters/etcd: a
// 3-member etcd cluster; adapters/redis: a Redis primary with a replica;
// adapters/mysql: a MariaDB server); this package knows none of them.
//
// A cluster lives in a folder of its own: each member's data and log, and
// cluster.json, which records how each member was started and its process
// id, so that another process (consist cluster down, or a run reusing a
// cluster that consist cluster up started) can find and fault it.
//
// Partitions are nft rules in a table of the cluster's own (see
// firewall.go); they need root, and each member runs under a uid of its
// own so that the rules can tell its traffic from its peers'. Heal, Down
// and every exit path of a run delete the table; when the run itself is
// killed, its guardian does (see guard.go).
package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Kinds names the servers a cluster can be made of (every kind
// registered), sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Sorted(maps.Keys(layouts))
}

// Options configure Up.
type Options struct {
	// Dir is the cluster's folder; it must not hold a running cluster.
	// Empty means DefaultDir(kind).
	Dir string
	// BasePort numbers the members' ports from here (see each kind);
	// 0 picks free ports.
	BasePort int
	// Detach leaves the servers running when this process exits, for
	// consist cluster up; otherwise they are killed with it.
	Detach bool
}

// DefaultDir is where a kind's cluster lives unless told otherwise.
func DefaultDir(kind string) string {
	return filepath.Join(os.TempDir(), "consist-cluster-"+kind)
}

// Cluster is a set of running server processes of one kind.
type Cluster struct {
	state
	mu    sync.Mutex
	procs map[string]*proc // this process's children, by member name
	fw    *firewall
}

// state is what cluster.json holds.
type state struct {
	Kind    string    `json:"kind"`
	Dir     string    `json:"dir"`
	Detach  bool      `json:"detach"`
	Members []*Member `json:"members"`
}

// Member is one server process.
type Member struct {
	// Name is the member's short name (e1, primary, replica, db).
	Name string `json:"name"`
	// Addr is the host:port clients connect to; it is the node name the
	// nemesis and the histories use.
	Addr string `json:"addr"`
	// PeerPort is the port the member's peers connect to (etcd's peer
	// port, the Redis primary's port); a partition drops it.
	PeerPort int `json:"peer_port,omitempty"`
	// UID runs the member as this user (0: as consist's own).
	UID int `json:"uid,omitempty"`
	// Path and Args are the command line; RestartArgs, when set, replace
	// Args on a restart.
	Path        string   `json:"path"`
	Args        []string `json:"args"`
	RestartArgs []string `json:"restart_args,omitempty"`
	// Dir holds the member's data and its log.
	Dir string `json:"dir"`
	// PID is the running process's id (0: not running).
	PID int `json:"pid"`
	// Paused is set while the member is stopped by SIGSTOP.
	Paused bool `json:"paused,omitempty"`
}

// Log is the member's log file.
func (m *Member) Log() string { return filepath.Join(m.Dir, "server.log") }

// Layout is what a kind of server supplies to run as a local cluster:
// each database's package declares its own and registers it.
type Layout struct {
	// Kind names the kind (consist cluster up KIND).
	Kind string
	// Members lays out the members under dir with ports from base.
	Members func(dir string, base int) []*Member
	// BasePort is the first of the kind's fixed ports (DefaultPorts),
	// away from the server's usual ones; Ports is how many consecutive
	// ports the members take from the base.
	BasePort, Ports int
	// Binaries are the programs the kind needs.
	Binaries []string
	// Prepare, if set, runs before a member's first start (e.g.
	// MariaDB's install-db).
	Prepare func(ctx context.Context, m *Member) error
	// Ready returns nil once the member serves clients.
	Ready func(ctx context.Context, m *Member) error
}

var (
	registryMu sync.RWMutex
	layouts    = map[string]*Layout{}
)

// Register makes a kind of cluster known; each database's package calls
// it once, from init. It panics on a kind registered twice or a layout
// missing Members, Ports or Ready, as database/sql's Register does.
func Register(l *Layout) {
	registryMu.Lock()
	defer registryMu.Unlock()
	switch {
	case l == nil || l.Kind == "" || l.Members == nil || l.Ports <= 0 || l.Ready == nil:
		panic("cluster: Register of an incomplete layout")
	case layouts[l.Kind] != nil:
		panic("cluster: Register called twice for " + l.Kind)
	}
	layouts[l.Kind] = l
}

// lookup returns the layout of a registered kind.
func lookup(kindName string) (*Layout, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	l, ok := layouts[kindName]
	return l, ok
}

// DefaultPorts are the fixed first ports of each kind's layout, away from
// the servers' usual ports; scripts/servers.sh uses them.
func DefaultPorts(kindName string) int {
	if k, ok := lookup(kindName); ok {
		return k.BasePort
	}
	return 0
}

// Binaries lists the programs a kind needs.
func Binaries(kindName string) []string {
	if k, ok := lookup(kindName); ok {
		return slices.Clone(k.Binaries)
	}
	return nil
}

// Up starts a cluster of the kind and waits until every member serves.
// On error it leaves nothing running.
func Up(ctx context.Context, kindName string, opts Options) (*Cluster, error) {
	k, ok := lookup(kindName)
	if !ok {
		return nil, fmt.Errorf("cluster %q: there is no such kind; use one of %v", kindName, Kinds())
	}
	for _, bin := range Binaries(kindName) {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("cluster %s: %s is not installed: run scripts/servers.sh install as root (it installs etcd-server, redis-server, mariadb-server and nftables from Debian's packages)", kindName, bin)
		}
	}
	dir := opts.Dir
	if dir == "" {
		dir = DefaultDir(kindName)
	}
	if old, err := Load(dir); err == nil {
		if old.Running() {
			return nil, fmt.Errorf("cluster %s: one is already running in %s: use it, or stop it with consist cluster down %s --dir %s", kindName, dir, old.Kind, dir)
		}
		_ = old.Down(ctx) // the remains of one that died
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("cluster %s: %s holds files and no cluster; give a --dir that is new or empty (the cluster's folder is removed when it stops)", kindName, dir)
	}
	base := opts.BasePort
	if base == 0 {
		var err error
		if base, err = FreePorts(k.Ports); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", kindName, err)
		}
	}
	c := &Cluster{state: state{Kind: kindName, Dir: dir, Detach: opts.Detach, Members: k.Members(dir, base)},
		procs: map[string]*proc{}}
	c.fw = newFirewall(dir)
	started := false
	defer func() {
		if !started {
			_ = c.Down(context.WithoutCancel(ctx))
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", kindName, err)
	}
	if err := traversable(dir); err != nil && os.Geteuid() == 0 {
		return nil, fmt.Errorf("cluster %s: members run under uids of their own and cannot reach %s: %w; choose a --dir others can enter", kindName, dir, err)
	}
	for _, m := range c.Members {
		if err := os.MkdirAll(m.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", kindName, err)
		}
		if m.UID != 0 && os.Geteuid() == 0 {
			if err := os.Chown(m.Dir, m.UID, m.UID); err != nil {
				return nil, fmt.Errorf("cluster %s: give %s to uid %d: %w", kindName, m.Dir, m.UID, err)
			}
		}
		if k.Prepare != nil {
			if err := k.Prepare(ctx, m); err != nil {
				return nil, fmt.Errorf("cluster %s: prepare %s: %w", kindName, m.Name, err)
			}
		}
	}
	if c.fw.usable() && c.partitionable() {
		if err := c.fw.install(ctx, c.Members, nil); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", kindName, err)
		}
	}
	for _, m := range c.Members {
		if err := c.start(m, m.Args); err != nil {
			return nil, err
		}
	}
	if err := c.save(); err != nil {
		return nil, err
	}
	for _, m := range c.Members {
		if err := c.waitReady(ctx, m, 30*time.Second); err != nil {
			return nil, err
		}
	}
	started = true
	return c, nil
}

// maxStateSize bounds cluster.json: a cluster's takes a few kilobytes.
const maxStateSize = 1 << 20

// Load finds the cluster whose folder is dir.
func Load(dir string) (*Cluster, error) {
	path := filepath.Join(dir, "cluster.json")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("no cluster in %s (start one with consist cluster up): %w", dir, err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%v): remove it and start the cluster again", path, info.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return decodeState(dir, data)
}

// decodeState reads cluster.json's data for the cluster in dir. Since
// consist signals, and restarts, what the file names, it accepts only
// the layout cluster up writes for the kind, folder and first port it
// records: the process ids and pause flags are all it takes from the
// file.
func decodeState(dir string, data []byte) (*Cluster, error) {
	path := filepath.Join(dir, "cluster.json")
	redo := fmt.Sprintf("stop any member still running yourself, remove %s, and start the cluster again", dir)
	if len(data) > maxStateSize {
		return nil, fmt.Errorf("%s: larger than %d bytes, which no cluster.json is: %s", path, maxStateSize, redo)
	}
	c := &Cluster{procs: map[string]*proc{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c.state); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", path, err, redo)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: more follows the cluster's state: %s", path, redo)
	}
	k, ok := lookup(c.Kind)
	if !ok {
		return nil, fmt.Errorf("%s: unknown kind %q (consist runs %v): %s", path, c.Kind, Kinds(), redo)
	}
	if c.Dir != dir && !sameDir(c.Dir, dir) {
		return nil, fmt.Errorf("%s: it records the folder %q, not %s: the folder was moved or copied; %s", path, c.Dir, dir, redo)
	}
	if len(c.Members) == 0 || c.Members[0] == nil {
		return nil, fmt.Errorf("%s: it names no members: %s", path, redo)
	}
	_, port, err := net.SplitHostPort(c.Members[0].Addr)
	base, perr := strconv.Atoi(port)
	if err != nil || perr != nil || base <= 0 || base+k.Ports > 65536 {
		return nil, fmt.Errorf("%s: the first member's address %q is not 127.0.0.1:PORT: %s", path, c.Members[0].Addr, redo)
	}
	want := k.Members(c.Dir, base)
	if len(c.Members) != len(want) {
		return nil, fmt.Errorf("%s: %d members, where a %s cluster has %d: %s", path, len(c.Members), c.Kind, len(want), redo)
	}
	for i, m := range c.Members {
		if m == nil {
			return nil, fmt.Errorf("%s: member %d is null: %s", path, i+1, redo)
		}
		w := *want[i]
		w.PID, w.Paused = m.PID, m.Paused
		if m.PID < 0 {
			return nil, fmt.Errorf("%s: member %s has pid %d: %s", path, m.Name, m.PID, redo)
		}
		if !reflect.DeepEqual(normalize(*m), normalize(w)) {
			return nil, fmt.Errorf("%s: member %d (%q) is not as consist cluster up starts a %s member at %s (path %q, args %q; want %q, %q): it was changed by hand, by another user, or by another version of consist; %s",
				path, i+1, m.Name, c.Kind, w.Addr, m.Path, m.Args, w.Path, w.Args, redo)
		}
	}
	c.Dir = dir
	c.fw = newFirewall(dir)
	return c, nil
}

// normalize makes empty and absent argument lists compare equal.
func normalize(m Member) Member {
	if len(m.Args) == 0 {
		m.Args = nil
	}
	if len(m.RestartArgs) == 0 {
		m.RestartArgs = nil
	}
	return m
}

// sameDir reports whether a and b name the same existing folder.
func sameDir(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	return err == nil && os.SameFile(ia, ib)
}

func (c *Cluster) save() error {
	data, err := json.MarshalIndent(&c.state, "", "  ")
	if err != nil {
		return fmt.Errorf("cluster %s: %w", c.Kind, err)
	}
	tmp := filepath.Join(c.Dir, "cluster.json.tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("cluster %s: save its state: %w", c.Kind, err)
	}
	if err := os.Rename(tmp, filepath.Join(c.Dir, "cluster.json")); err != nil {
		return fmt.Errorf("cluster %s: save its state: %w", c.Kind, err)
	}
	return nil
}

// partitionable reports whether the members run under uids of their own,
// which partitions need.
func (c *Cluster) partitionable() bool {
	for _, m := range c.Members {
		if m.UID != 0 && m.PeerPort != 0 {
			return true
		}
	}
	return false
}

// Nodes returns the members' client addresses.
func (c *Cluster) Nodes() []string {
	nodes := make([]string, len(c.Members))
	for i, m := range c.Members {
		nodes[i] = m.Addr
	}
	return nodes
}

// Member returns the member whose address or name is node.
func (c *Cluster) Member(node string) (*Member, error) {
	for _, m := range c.Members {
		if m.Addr == node || m.Name == node {
			return m, nil
		}
	}
	return nil, fmt.Errorf("cluster %s has no member %q; its members are %v", c.Kind, node, c.Nodes())
}

// Running reports whether any member's process is alive.
func (c *Cluster) Running() bool {
	for _, m := range c.Members {
		if alive(m.PID) {
			return true
		}
	}
	return false
}

// MemberStatus is what Status says of a member.
type MemberStatus struct {
	Member *Member
	// Alive: the process exists. Paused: it is stopped by SIGSTOP.
	Alive, Paused bool
	// Err is why the member does not serve clients, nil when it does.
	Err error
}

// Status checks every member.
func (c *Cluster) Status(ctx context.Context) []MemberStatus {
	k, _ := lookup(c.Kind)
	var out []MemberStatus
	for _, m := range c.Members {
		s := MemberStatus{Member: m, Alive: alive(m.PID), Paused: m.Paused}
		switch {
		case !s.Alive:
			s.Err = errors.New("not running")
		case s.Paused:
			s.Err = errors.New("paused")
		default:
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			s.Err = k.Ready(rctx, m)
			cancel()
		}
		out = append(out, s)
	}
	return out
}

// Down heals every fault, kills every member and removes the cluster's
// folder. It is safe to call more than once.
func (c *Cluster) Down(ctx context.Context) error {
	var errs []error
	if err := c.fw.remove(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, m := range c.Members {
		if err := c.kill(m); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("cluster %s: remove %s: %w", c.Kind, c.Dir, err))
	}
	return errors.Join(errs...)
}

// waitReady polls the member until it serves clients or timeout passes.
func (c *Cluster) waitReady(ctx context.Context, m *Member, timeout time.Duration) error {
	k, _ := lookup(c.Kind)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		rctx, rcancel := context.WithTimeout(ctx, time.Second)
		err := k.Ready(rctx, m)
		rcancel()
		if err == nil {
			return nil
		}
		if !alive(m.PID) {
			return fmt.Errorf("cluster %s: %s exited while starting; its log is %s: %w", c.Kind, m.Name, m.Log(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster %s: %s did not become ready in %v (log: %s): %w", c.Kind, m.Name, timeout, m.Log(), err)
		case <-tick.C:
		}
	}
}

// traversable checks that every user may enter dir and its parents.
func traversable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := abs; ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s is not open to others (mode %v)", d, info.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// FreePorts finds n consecutive free ports on loopback and returns the
// first.
func FreePorts(n int) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if base+n > 65535 {
			continue
		}
		free := true
		for p := base + 1; p < base+n && free; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base, nil
		}
	}
	return 0, errors.New("found no run of free ports on 127.0.0.1: give a --base-port")
}

// UIDFor gives the member listening on port a uid of its own, so that
// partition rules can tell its traffic apart; ports are unique among live
// clusters, so the uids are too. Without root every member runs as the
// caller and partitions are refused.
func UIDFor(port int) int {
	if os.Geteuid() != 0 {
		return 0
	}
	return 200000 + port
}

// Addr is the loopback address of port, where members listen.
func Addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// TempDir makes a folder for a test's cluster that the members, running
// under uids of their own, can enter, and removes it when t ends.
func TempDir(t interface {
	Helper()
	Fatal(...any)
	Cleanup(func())
}) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "consist-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
