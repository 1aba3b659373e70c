// Package txngen generates seeded transactional histories, list-append or
// rw-register, in consist's native JSON Lines (or Jepsen's EDN, to run
// Elle on the same history), from a simulated store, for the tests and
// benchmarks of the transactional checker (checker/txn).
//
// The workloads are Elle's (Kingsbury & Alvaro, "Elle: Inferring Isolation
// Anomalies from Experimental Observations", VLDB 2020, and its
// generators elle.list-append/gen and elle.rw-register/gen): a transaction is a list of
// micro-ops ["append",k,v] and ["r",k,[...]] (list-append) or ["w",k,v] and
// ["r",k,v] (rw-register); the values appended or written to a key are
// unique (1, 2, 3, ... per key); Config.Keys keys are active at a time, and
// once a key has been given Config.MaxWritesPerKey writes it is retired and
// a fresh key takes its place, as Elle's generator rotates keys so that
// list reads stay short.
//
// A run is a discrete-event simulation in virtual time. Config.Processes
// clients each run one transaction at a time, with random think times and
// latencies, so transactions overlap. Every transaction has a start (its
// snapshot) and a commit, in that order, strictly between its invocation
// and its completion; what its reads return depends on Config.Isolation:
//
//   - Serializable: start and commit are one instant; the transaction
//     reads and writes atomically there. Histories are strict
//     serializable.
//   - SnapshotIsolation: reads see the state committed before the start,
//     plus the transaction's own writes; writes become visible at the
//     commit; a transaction that writes a key another transaction
//     committed between its start and its commit aborts (fail):
//     first-committer-wins (Berenson et al., "A Critique of ANSI SQL
//     Isolation Levels", SIGMOD 1995, §4.2). Histories are snapshot
//     isolated (strong SI: the start follows the invocation and the commit
//     precedes the completion) and, in general, not serializable.
//   - ReadCommitted: each key's reads see the state committed either at
//     the start or at the commit (chosen per key), plus the transaction's
//     own writes; writes become visible at the commit, with no conflict
//     check. Reads never see uncommitted or aborted writes (no G1a, G1b,
//     G1c), but read skew and, on registers, lost updates happen. So that
//     a list read after the transaction's own append stays a prefix of the
//     key's version order, a list key the transaction appends to is read
//     at the commit.
//
// Like Jepsen, a fraction Config.CrashRate of transactions end with an info
// completion: such a transaction commits at its commit point with
// probability one half, or never, and its client continues under a fresh
// process id. A fraction Config.FailRate abort (fail) without effect. The
// reads of fail and info completions are written as null.
//
// Config.Inject adds known anomalies: each Injection runs a short script
// of transactions on keys of its own (never otherwise used), by processes
// of its own, when the normal transaction numbered At is invoked; see
// Anomaly for each script and the models it breaks.
//
// Events are written in time order, with times in nanoseconds that never
// go backwards. The same Config always yields the same bytes.
package txngen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"consist/history"
)

// Workload is the kind of transactions generated.
type Workload uint8

// The workloads.
const (
	// ListAppend: micro-ops ["append",k,v] and ["r",k,[v1,v2,...]].
	ListAppend Workload = iota
	// RWRegister: micro-ops ["w",k,v] and ["r",k,v] (null: never
	// written).
	RWRegister
)

// String returns "list-append" or "rw-register".
func (w Workload) String() string {
	switch w {
	case ListAppend:
		return "list-append"
	case RWRegister:
		return "rw-register"
	}
	return fmt.Sprintf("Workload(%d)", uint8(w))
}

// Isolation is the behaviour of the simulated store; see the package
// documentation.
type Isolation uint8

// The isolation levels simulated.
const (
	// Serializable executes each transaction atomically at one instant
	// between its invocation and its completion: strict serializable.
	Serializable Isolation = iota
	// SnapshotIsolation reads from a snapshot taken at the start and
	// commits at the end, first committer wins.
	SnapshotIsolation
	// ReadCommitted reads, per key, the latest committed state at the
	// start or at the commit.
	ReadCommitted
)

// String returns "serializable", "snapshot-isolation" or
// "read-committed".
func (i Isolation) String() string {
	switch i {
	case Serializable:
		return "serializable"
	case SnapshotIsolation:
		return "snapshot-isolation"
	case ReadCommitted:
		return "read-committed"
	}
	return fmt.Sprintf("Isolation(%d)", uint8(i))
}

// Anomaly is a scripted anomaly Config.Inject can add. Each script uses
// fresh keys x and y and two concurrent transactions A and B, followed,
// where the script says so, by an observer O invoked after both completed
// that reads the keys' final state (so a checker can see version orders).
// Written here in list-append form; rw-register scripts are the same with
// w for append and single values for lists.
type Anomaly uint8

// The anomalies.
const (
	// G1c (cyclic information flow; Adya, "Weak Consistency", MIT PhD
	// thesis, 1999, where G0, G1a, G1c, G-single and G2-item are defined):
	// A [append x 1][r y [1]], B [append y 1][r x [1]], both committed;
	// O [r x [1]][r y [1]]. Breaks read-committed and everything above.
	G1c Anomaly = iota + 1
	// GSingle (read skew, Adya's G-single):
	// A [append x 1][append y 1], B [r x []][r y [1]]; O [r x [1]][r y [1]].
	// Breaks snapshot isolation and serializability; read-committed holds.
	GSingle
	// LostUpdate: A [r x []][append x 1], B [r x []][append x 2];
	// O [r x [1 2]] (registers: O [r x 2]). Breaks snapshot isolation
	// and serializability.
	LostUpdate
	// AbortedRead (G1a): A [append x 1] fails, B [r x [1]] commits; no
	// observer. Breaks read-committed and everything above.
	AbortedRead
	// WriteSkew (G2-item with two adjacent anti-dependencies):
	// A [r x []][append y 1], B [r y []][append x 1]; O [r x [1]][r y [1]].
	// Snapshot isolation holds; serializability breaks.
	WriteSkew
	// G0 (write cycle): A [append x 1][append y 1], B [append x 2][append y 2];
	// O [r x [1 2]][r y [2 1]] (registers: O [r x 2][r y 1], which a
	// checker can only order with an assumption such as linearizable keys).
	// Breaks every model from read-uncommitted up.
	G0
)

var anomalyNames = [...]string{G1c: "G1c", GSingle: "G-single", LostUpdate: "lost-update", AbortedRead: "G1a", WriteSkew: "G2-item", G0: "G0"}

// String returns the anomaly's name as Elle spells it.
func (a Anomaly) String() string {
	if int(a) < len(anomalyNames) && anomalyNames[a] != "" {
		return anomalyNames[a]
	}
	return fmt.Sprintf("Anomaly(%d)", uint8(a))
}

// Injection asks for anomaly Anomaly when normal transaction number At
// (from 0) is invoked.
type Injection struct {
	Anomaly Anomaly
	At      int
}

// Config describes a generated history. The zero value of a field means
// its default, as documented on the field.
type Config struct {
	// Seed seeds every random choice.
	Seed uint64
	// Txns is the number of normal transactions (default 1000); injected
	// scripts add theirs.
	Txns int
	// Processes is the number of concurrent clients (default 5).
	Processes int
	// Keys is the number of active keys (default 10).
	Keys int
	// MaxWritesPerKey is how many appends or writes a key gets before it
	// is retired (default 32, Elle's).
	MaxWritesPerKey int
	// MinTxnLength and MaxTxnLength bound a transaction's micro-ops,
	// drawn uniformly (defaults 1 and 4).
	MinTxnLength, MaxTxnLength int
	// ReadFraction is the probability that a micro-op is a read (default
	// 0.5; negative means 0).
	ReadFraction float64
	// CrashRate is the fraction of transactions that end with info;
	// FailRate the fraction that abort (both default 0; negative is 0).
	CrashRate, FailRate float64
	// Workload is ListAppend (the default) or RWRegister.
	Workload Workload
	// Isolation is the store's behaviour (default Serializable).
	Isolation Isolation
	// Inject lists the anomalies to add.
	Inject []Injection
	// Format is history.JSONL (the default; Auto means it too) or
	// history.EDN: Jepsen's op maps one a line, as Elle reads them, with
	// :index, for running Elle on the same history.
	Format history.Format
}

// Bench returns the configuration of issue 15's benchmark history: n
// list-append transactions of 3 to 5 micro-ops (4 on average), 50 active
// keys, 10 processes, 1% crashed and 1% aborted, serializable.
func Bench(n int) Config {
	return Config{Seed: 1, Txns: n, Processes: 10, Keys: 50, MinTxnLength: 3, MaxTxnLength: 5, CrashRate: 0.01, FailRate: 0.01}
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Txns, 1000)
	def(&c.Processes, 5)
	def(&c.Keys, 10)
	def(&c.MaxWritesPerKey, 32)
	def(&c.MinTxnLength, 1)
	def(&c.MaxTxnLength, 4)
	if c.ReadFraction == 0 {
		c.ReadFraction = 0.5
	}
	switch {
	case c.Txns < 0, c.Processes < 0, c.Keys < 0, c.MaxWritesPerKey < 0, c.MinTxnLength < 0:
		return c, errors.New("txngen: a negative count in Config: use 0 for the default or a positive number")
	case c.MaxTxnLength < c.MinTxnLength:
		return c, fmt.Errorf("txngen: MaxTxnLength %d is below MinTxnLength %d: raise MaxTxnLength", c.MaxTxnLength, c.MinTxnLength)
	case c.Workload > RWRegister:
		return c, fmt.Errorf("txngen: unknown %v: use ListAppend or RWRegister", c.Workload)
	case c.Format != history.Auto && c.Format != history.JSONL && c.Format != history.EDN:
		return c, fmt.Errorf("txngen: cannot write format %v: use history.JSONL or history.EDN", c.Format)
	case c.Isolation > ReadCommitted:
		return c, fmt.Errorf("txngen: unknown %v: use Serializable, SnapshotIsolation or ReadCommitted", c.Isolation)
	}
	for _, in := range c.Inject {
		if in.Anomaly < G1c || in.Anomaly > G0 {
			return c, fmt.Errorf("txngen: unknown %v in Inject: use one of the Anomaly constants", in.Anomaly)
		}
		if in.At < 0 || in.At >= c.Txns {
			return c, fmt.Errorf("txngen: injection of %v at transaction %d is outside 0..%d: lower At or raise Txns", in.Anomaly, in.At, c.Txns-1)
		}
	}
	return c, nil
}

// Stats describes a generated history.
type Stats struct {
	// Txns counts every transaction written, injected ones included; OK,
	// Fail and Info count them by outcome.
	Txns, OK, Fail, Info int
	// Conflicts counts the transactions snapshot isolation aborted for a
	// write conflict (included in Fail).
	Conflicts int
	// Keys counts the distinct keys used; Events the lines written.
	Keys, Events int
	// Bytes is the size of what was written.
	Bytes int64
	// Injected lists the injected anomalies in the order they were
	// injected.
	Injected []Injected
}

// Injected is where an injected anomaly's transactions landed.
type Injected struct {
	Anomaly Anomaly
	// Ops are the IDs of the script's operations in the parsed history
	// (history.Op.ID: the order of invocation), the observer's last, and
	// Keys its keys x and y.
	Ops  []int
	Keys [2]int
}

// Outcome of a transaction, as planned at its invocation.
const (
	outOK uint8 = iota
	outFail
	outInfo
)

// Process phases: the event a process waits for next.
const (
	phInvoke uint8 = iota
	phStart
	phCommit
	phComplete
	phDone
)

type mop struct {
	write bool
	// key is the key's number (also its name in the history).
	key int
	// val is the value written or appended.
	val int64
	// obsStart and obsCommit are what a read observed at the start and
	// at the commit: a list's length or a register's value (0: null).
	obsStart, obsCommit int64
	// atCommit says which of the two the read returns.
	atCommit bool
	// forced is a scripted read's result: a list, or one value for a
	// register (none: null).
	forced []int64
}

type keyState struct {
	vals       []int64 // list-append: the committed list
	cur        int64   // rw-register: the committed value, 0 for none
	next       int64   // the last value given out
	lastCommit int64   // the commit sequence number of the last write
}

type proc struct {
	id       int64
	phase    uint8
	t        int64
	outcome  uint8
	commits  bool // an info transaction that takes effect
	mops     []mop
	startSeq int64
	scripted bool
	// injected is a scripted transaction's index in Stats.Injected.
	injected int
	// ord is the transaction's number in order of invocation, which is
	// its operation's ID in the parsed history.
	ord int
	// script: the events of a scripted transaction.
	invokeAt, completeAt int64
}

type gen struct {
	cfg     Config
	r       *rand.Rand
	keys    []keyState
	active  []int
	procs   []*proc
	heap    []int // indexes into procs, ordered by (t, index)
	seq     int64
	nextID  int64
	invoked int
	injects map[int][]Anomaly
	buf     []byte
	sx      *syntax
	w       *bufio.Writer
	st      Stats
	invokes int
	// trace, when not nil, records starts and commits for the tests.
	trace *[]traceEvent
}

// Write generates the history cfg describes and writes it to w as JSON
// Lines. It returns what it wrote, or the first error of w or of ctx.
func Write(ctx context.Context, w io.Writer, cfg Config) (Stats, error) {
	return write(ctx, w, cfg, nil)
}

// traceEvent is a start (snapshot) or commit of the transaction numbered
// ord, at virtual time t.
type traceEvent struct {
	ord    int
	commit bool
	t      int64
}

func write(ctx context.Context, w io.Writer, cfg Config, trace *[]traceEvent) (Stats, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	g := &gen{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x7478_6e67_656e)), w: bufio.NewWriterSize(w, 1<<16), buf: make([]byte, 0, 4096), trace: trace}
	g.sx = &jsonSyntax
	if cfg.Format == history.EDN {
		g.sx = &ednSyntax
	}
	g.injects = map[int][]Anomaly{}
	for _, in := range cfg.Inject {
		g.injects[in.At] = append(g.injects[in.At], in.Anomaly)
	}
	for range cfg.Keys {
		g.active = append(g.active, g.newKey())
	}
	for i := range cfg.Processes {
		g.procs = append(g.procs, &proc{id: int64(i), t: g.r.Int64N(1000)})
		g.push(i)
	}
	g.nextID = int64(cfg.Processes)
	for len(g.heap) > 0 {
		if g.st.Events&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return g.st, fmt.Errorf("txngen: generation stopped after %d events: %w", g.st.Events, err)
			}
		}
		i := g.pop()
		p := g.procs[i]
		if p.scripted {
			g.stepScripted(p)
		} else {
			g.step(p)
		}
		if p.phase != phDone {
			g.push(i)
		}
	}
	if err := g.w.Flush(); err != nil {
		return g.st, fmt.Errorf("txngen: writing the history: %w", err)
	}
	g.st.Keys = len(g.keys)
	return g.st, nil
}

// WriteFile writes the history cfg describes to the file at path.
func WriteFile(ctx context.Context, path string, cfg Config) (Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return Stats{}, fmt.Errorf("txngen: %w", err)
	}
	st, err := Write(ctx, f, cfg)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("txngen: closing %s: %w", path, cerr)
	}
	return st, err
}

// History generates the history cfg describes in memory and parses it
// with history.Parse, as a checker would read it from a file.
func History(ctx context.Context, cfg Config) (*history.History, Stats, error) {
	var b bytes.Buffer
	st, err := Write(ctx, &b, cfg)
	if err != nil {
		return nil, st, err
	}
	name := fmt.Sprintf("txngen-%s-%s-seed%d.jsonl", cfg.Workload, cfg.Isolation, cfg.Seed)
	format := history.JSONL
	if cfg.Format == history.EDN {
		format, name = history.EDN, name[:len(name)-len(".jsonl")]+".edn"
	}
	h, err := history.Parse(b.Bytes(), name, format)
	if err != nil {
		return nil, st, fmt.Errorf("txngen: the generated history does not parse (a bug in txngen): %w", err)
	}
	return h, st, nil
}

func (g *gen) newKey() int {
	g.keys = append(g.keys, keyState{})
	return len(g.keys) - 1
}

func (g *gen) less(a, b int) bool {
	pa, pb := g.procs[a], g.procs[b]
	return pa.t < pb.t || pa.t == pb.t && a < b
}

func (g *gen) push(i int) {
	h := append(g.heap, i)
	j := len(h) - 1
	for j > 0 {
		parent := (j - 1) / 2
		if !g.less(h[j], h[parent]) {
			break
		}
		h[j], h[parent] = h[parent], h[j]
		j = parent
	}
	g.heap = h
}

func (g *gen) pop() int {
	h := g.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	j := 0
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && g.less(h[r], h[l]) {
			m = r
		}
		if !g.less(h[m], h[j]) {
			break
		}
		h[j], h[m] = h[m], h[j]
		j = m
	}
	g.heap = h
	return top
}

// latency draws a delay in nanoseconds: 50µs to 2ms.
func (g *gen) latency() int64 { return 50_000 + g.r.Int64N(1_950_000) }

func (g *gen) chance(p float64) bool { return p > 0 && g.r.Float64() < p }

func (g *gen) step(p *proc) {
	switch p.phase {
	case phInvoke:
		if g.invoked >= g.cfg.Txns {
			p.phase = phDone
			return
		}
		for _, a := range g.injects[g.invoked] {
			g.inject(a, p.t)
		}
		g.invoked++
		g.plan(p)
		g.emit(p, history.Invoke, p.t)
		p.phase = phStart
		p.t += g.latency()
	case phStart:
		p.startSeq = g.seq
		if g.trace != nil && g.cfg.Isolation != Serializable {
			*g.trace = append(*g.trace, traceEvent{ord: p.ord, t: p.t})
		}
		g.observe(p, true)
		if g.cfg.Isolation == Serializable {
			g.commit(p)
			p.phase = phComplete
		} else {
			p.phase = phCommit
		}
		p.t += g.latency()
	case phCommit:
		g.commit(p)
		p.phase = phComplete
		p.t += g.latency()
	case phComplete:
		typ := history.OK
		switch p.outcome {
		case outFail:
			typ = history.Fail
			g.st.Fail++
		case outInfo:
			typ = history.Info
			g.st.Info++
		default:
			g.st.OK++
		}
		g.st.Txns++
		g.emit(p, typ, p.t)
		if p.outcome == outInfo {
			p.id = g.nextID
			g.nextID++
		}
		p.phase = phInvoke
		p.t += g.r.Int64N(1_000_000)
	}
}

// plan draws p's next transaction.
func (g *gen) plan(p *proc) {
	cfg := &g.cfg
	n := cfg.MinTxnLength + g.r.IntN(cfg.MaxTxnLength-cfg.MinTxnLength+1)
	p.mops = p.mops[:0]
	for range n {
		slot := g.r.IntN(len(g.active))
		k := g.active[slot]
		m := mop{key: k}
		if !g.chance(cfg.ReadFraction) {
			ks := &g.keys[k]
			ks.next++
			m.write, m.val = true, ks.next
			if ks.next >= int64(cfg.MaxWritesPerKey) {
				g.active[slot] = g.newKey()
			}
		}
		p.mops = append(p.mops, m)
	}
	p.outcome, p.commits = outOK, true
	switch {
	case g.chance(cfg.CrashRate):
		p.outcome, p.commits = outInfo, g.r.IntN(2) == 0
	case g.chance(cfg.FailRate):
		p.outcome, p.commits = outFail, false
	}
	if cfg.Isolation != ReadCommitted {
		return
	}
	// Read committed: each key's reads come from the start or the
	// commit, chosen at its first read; list keys the transaction
	// appends to are read at the commit.
	for i := range p.mops {
		m := &p.mops[i]
		if m.write {
			continue
		}
		m.atCommit = g.r.IntN(2) == 0
		for j := range p.mops {
			o := &p.mops[j]
			if o.key != m.key {
				continue
			}
			if o.write && cfg.Workload == ListAppend {
				m.atCommit = true
				break
			}
			if j < i && !o.write {
				m.atCommit = o.atCommit
				break
			}
		}
	}
}

// observe records what p's reads see of the committed state, at the start
// or at the commit.
func (g *gen) observe(p *proc, start bool) {
	for i := range p.mops {
		m := &p.mops[i]
		if m.write {
			continue
		}
		ks := &g.keys[m.key]
		v := ks.cur
		if g.cfg.Workload == ListAppend {
			v = int64(len(ks.vals))
		}
		if start {
			m.obsStart = v
		} else {
			m.obsCommit = v
		}
	}
}

func (g *gen) commit(p *proc) {
	if g.cfg.Isolation == Serializable {
		for i := range p.mops {
			p.mops[i].obsCommit = p.mops[i].obsStart
		}
	} else {
		g.observe(p, false)
	}
	if !p.commits {
		return
	}
	if g.cfg.Isolation == SnapshotIsolation {
		for _, m := range p.mops {
			if m.write && g.keys[m.key].lastCommit > p.startSeq {
				// First committer wins: p aborts.
				p.commits = false
				if p.outcome == outOK {
					p.outcome = outFail
					g.st.Conflicts++
				}
				return
			}
		}
	}
	g.seq++
	if g.trace != nil {
		*g.trace = append(*g.trace, traceEvent{ord: p.ord, commit: true, t: p.t})
	}
	for _, m := range p.mops {
		if !m.write {
			continue
		}
		ks := &g.keys[m.key]
		if g.cfg.Workload == ListAppend {
			ks.vals = append(ks.vals, m.val)
		} else {
			ks.cur = m.val
		}
		ks.lastCommit = g.seq
	}
}

// syntax holds the tokens of an output format.
type syntax struct {
	open, process, value, sep, appendOp, writeOp, readOp, null, close string
	index                                                             bool
}

var (
	jsonSyntax = syntax{open: `{"type":"`, process: `","process":`, value: `,"f":"txn","value":[`, sep: ",",
		appendOp: `["append",`, writeOp: `["w",`, readOp: `["r",`, null: "null", close: `],"time":`}
	ednSyntax = syntax{open: `{:type :`, process: `, :process `, value: `, :f :txn, :value [`, sep: " ",
		appendOp: `[:append `, writeOp: `[:w `, readOp: `[:r `, null: "nil", close: `], :time `, index: true}
)

// emit writes one event of p's transaction: reads are null except in an
// ok completion.
func (g *gen) emit(p *proc, typ history.Type, t int64) {
	sx := g.sx
	if typ == history.Invoke {
		p.ord = g.invokes
		g.invokes++
		if p.scripted {
			in := &g.st.Injected[p.injected]
			in.Ops = append(in.Ops, p.ord)
		}
	}
	b := append(g.buf[:0], sx.open...)
	b = append(b, typ.String()...)
	b = append(b, sx.process...)
	b = strconv.AppendInt(b, p.id, 10)
	b = append(b, sx.value...)
	list := g.cfg.Workload == ListAppend
	for i := range p.mops {
		m := &p.mops[i]
		if i > 0 {
			b = append(b, sx.sep...)
		}
		switch {
		case m.write && list:
			b = append(b, sx.appendOp...)
		case m.write:
			b = append(b, sx.writeOp...)
		default:
			b = append(b, sx.readOp...)
		}
		b = strconv.AppendInt(b, int64(m.key), 10)
		b = append(b, sx.sep...)
		switch {
		case m.write:
			b = strconv.AppendInt(b, m.val, 10)
		case typ != history.OK:
			b = append(b, sx.null...)
		case p.scripted:
			b = g.appendForced(b, m)
		case list:
			b = g.appendList(b, p, i)
		default:
			b = g.appendRegister(b, p, i)
		}
		b = append(b, ']')
	}
	b = append(b, sx.close...)
	b = strconv.AppendInt(b, t, 10)
	if sx.index {
		b = append(b, ", :index "...)
		b = strconv.AppendInt(b, int64(g.st.Events), 10)
	}
	b = append(b, "}\n"...)
	g.buf = b
	g.st.Events++
	g.st.Bytes += int64(len(b))
	g.w.Write(b) // a write error sticks in the bufio.Writer; Flush reports it
}

func (g *gen) appendList(b []byte, p *proc, i int) []byte {
	m := &p.mops[i]
	n := m.obsStart
	if m.atCommit {
		n = m.obsCommit
	}
	b = append(b, '[')
	first := true
	for _, v := range g.keys[m.key].vals[:n] {
		if !first {
			b = append(b, g.sx.sep...)
		}
		first = false
		b = strconv.AppendInt(b, v, 10)
	}
	for _, o := range p.mops[:i] {
		if o.write && o.key == m.key {
			if !first {
				b = append(b, g.sx.sep...)
			}
			first = false
			b = strconv.AppendInt(b, o.val, 10)
		}
	}
	return append(b, ']')
}

func (g *gen) appendRegister(b []byte, p *proc, i int) []byte {
	m := &p.mops[i]
	v := m.obsStart
	if m.atCommit {
		v = m.obsCommit
	}
	for _, o := range p.mops[:i] {
		if o.write && o.key == m.key {
			v = o.val
		}
	}
	if v == 0 {
		return append(b, g.sx.null...)
	}
	return strconv.AppendInt(b, v, 10)
}

func (g *gen) appendForced(b []byte, m *mop) []byte {
	if g.cfg.Workload == RWRegister {
		if len(m.forced) == 0 {
			return append(b, g.sx.null...)
		}
		return strconv.AppendInt(b, m.forced[0], 10)
	}
	b = append(b, '[')
	for j, v := range m.forced {
		if j > 0 {
			b = append(b, g.sx.sep...)
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return append(b, ']')
}

// BenchFile writes Bench(n) to dir/txngen-bench-<n>.jsonl, for a checker's
// benchmark, and returns the file's path.
func BenchFile(ctx context.Context, dir string, n int) (string, Stats, error) {
	path := filepath.Join(dir, fmt.Sprintf("txngen-bench-%d.jsonl", n))
	st, err := WriteFile(ctx, path, Bench(n))
	return path, st, err
}
