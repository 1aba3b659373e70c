package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/linearizable/porcbench"
	"consist/checker/linearizable/reggen"
	"consist/history"
)

type benchFlags struct {
	ops, procs, keys, count int
	crash, cas, invalid     float64
	seed                    uint64
	timeout                 time.Duration
	maxMemory               string
	porcupineMemory         string
	initial                 string
	inProcess               bool
	child                   string
}

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl benchFlags
	cmd := &cobra.Command{
		Use:   "bench [flags] [FILE...]",
		Short: "Time consist's linearizability checker beside Porcupine, history by history",
		Long: `Bench checks each history for linearizability with consist and with
Porcupine (github.com/anishathalye/porcupine), one after the other, and
prints side by side each one's time, memory and verdict, and the ratio of
consist's time to Porcupine's. Without files it generates --count register
histories of the shape the flags give (unique values per key, as consist's
workloads write them; --invalid of them with a violation injected, so their
verdict is known).

Each check runs in a child process of its own, which is killed when it
outgrows its memory cap (--max-memory for consist, --porcupine-max-memory
for Porcupine) or runs far past --timeout; MEM is then the child's peak
resident memory. --in-process runs both in this process instead and
reports the bytes each allocated — for small histories only, since nothing
stops Porcupine from exhausting the machine's memory before its timeout.

Porcupine is given consist's semantics: failed operations left out,
crashed writes and cas free to take effect at any time or never. Exit
code 1 means the two disagreed on some history both decided, or consist
disagreed with a generated history's known verdict.`,
		Example: `  consist bench --ops 5000 --processes 24 --crash 0.02
  consist bench --ops 100000 --keys 5 --count 4 --invalid 0.5 --timeout 60s
  consist bench ../shared/data/porcupine/test_data/jepsen/etcd_0*.log`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if fl.child != "" {
				return runBenchChild(cmd.Context(), stdout, fl, args)
			}
			return runBench(cmd.Context(), stdout, stderr, fl, args)
		},
	}
	f := cmd.Flags()
	f.IntVar(&fl.ops, "ops", 5000, "operations per generated history")
	f.IntVar(&fl.procs, "processes", 24, "concurrent clients of a generated history")
	f.IntVar(&fl.keys, "keys", 1, "keys of a generated history")
	f.Float64Var(&fl.crash, "crash", 0.02, "fraction of generated operations that crash (info)")
	f.Float64Var(&fl.cas, "cas", 0.2, "fraction of generated operations that are cas (the rest: half reads, half writes)")
	f.Float64Var(&fl.invalid, "invalid", 0, "fraction of generated histories with a violation injected")
	f.IntVar(&fl.count, "count", 1, "number of histories to generate (seeds --seed, --seed+1, ...)")
	f.Uint64Var(&fl.seed, "seed", 1, "seed of the first generated history")
	f.DurationVar(&fl.timeout, "timeout", 60*time.Second, "time each checker gets per history; past it the verdict is unknown")
	f.StringVar(&fl.maxMemory, "max-memory", "4GiB", "consist's memory budget (its --max-memory)")
	f.StringVar(&fl.porcupineMemory, "porcupine-max-memory", "8GiB", "Porcupine's child process is killed when its resident memory exceeds this")
	f.StringVar(&fl.initial, "initial", "null", "initial value of every register, as JSON")
	f.BoolVar(&fl.inProcess, "in-process", false, "run both checkers in this process (no memory cap on Porcupine)")
	f.StringVar(&fl.child, "child", "", "internal: check FILE with this engine (consist or porcupine) and print the measurement as JSON")
	_ = f.MarkHidden("child")
	return cmd
}

// benchChildCommand builds the command that runs a child measurement; tests
// replace it, since their executable is not consist.
var benchChildCommand = func(ctx context.Context, args []string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the consist executable to run the measurements in: %w", err)
	}
	return exec.CommandContext(ctx, exe, append([]string{"bench"}, args...)...), nil
}

// measurement is one checker's run on one history.
type measurement struct {
	Verdict checker.Verdict `json:"verdict"`
	Engine  string          `json:"engine,omitempty"`
	Reason  string          `json:"reason,omitempty"`
	Nanos   int64           `json:"ns"`
	// Mem is the peak resident memory of a child process, or the bytes
	// allocated in process.
	Mem int64 `json:"mem"`
}

// benchInput is one history to measure.
type benchInput struct {
	name   string
	path   string // for the child processes
	h      *history.History
	expect checker.Verdict // known verdict of a generated history, or ""
	note   string
}

func runBench(ctx context.Context, stdout, stderr io.Writer, fl benchFlags, files []string) error {
	opts, err := benchOptions(fl)
	if err != nil {
		return err
	}
	porcCap, err := parseBytes(fl.porcupineMemory)
	if err != nil {
		return usageError("--porcupine-max-memory: %w", err)
	}
	tmp, err := os.MkdirTemp("", "consist-bench-")
	if err != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("bench: %w", err)}
	}
	defer os.RemoveAll(tmp)
	inputs, err := benchInputs(fl, files, tmp)
	if err != nil {
		return err
	}
	memLabel := "peak RSS"
	if fl.inProcess {
		memLabel = "bytes allocated"
	}
	table := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	table.Header([]string{"history", "ops", "consist time", "consist mem", "consist verdict", "porcupine time", "porcupine mem", "porcupine verdict", "time ratio"})
	var totalC, totalP time.Duration
	pUnfinished := false
	var problems []string
	for _, in := range inputs {
		if ctx.Err() != nil {
			break
		}
		var c, p measurement
		if fl.inProcess {
			c, p = measureInProcess(ctx, in.h, opts, fl.timeout)
		} else {
			c = measureChild(ctx, "consist", in.path, fl, opts.MaxMemory)
			p = measureChild(ctx, "porcupine", in.path, fl, porcCap)
		}
		totalC += time.Duration(c.Nanos)
		totalP += time.Duration(p.Nanos)
		ratio := ratioText(c, p)
		if p.Verdict == checker.Unknown {
			pUnfinished = true
		}
		if c.Verdict != checker.Unknown && p.Verdict != checker.Unknown && c.Verdict != p.Verdict {
			problems = append(problems, fmt.Sprintf("%s: consist says %s, Porcupine %s", in.name, c.Verdict, p.Verdict))
		}
		if in.expect != "" && c.Verdict != checker.Unknown && c.Verdict != in.expect {
			problems = append(problems, fmt.Sprintf("%s: consist says %s, but the generator made it %s (%s)", in.name, c.Verdict, in.expect, in.note))
		}
		if err := table.Append([]string{in.name, strconv.Itoa(len(in.h.Ops)),
			durationText(c.Nanos), bytesText(c.Mem), verdictText(c),
			durationText(p.Nanos), bytesText(p.Mem), verdictText(p), ratio}); err != nil {
			return &exitError{code: exitBad, err: fmt.Errorf("bench: %w", err)}
		}
	}
	if err := table.Render(); err != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("bench: %w", err)}
	}
	summary := fmt.Sprintf("total: consist %s, Porcupine %s", durationText(int64(totalC)), durationText(int64(totalP)))
	if totalP > 0 {
		bound := ""
		if pUnfinished {
			bound = "at most "
		}
		summary += fmt.Sprintf(", ratio %s%s", bound, ratioNumber(float64(totalC)/float64(totalP)))
	}
	fmt.Fprintf(stdout, "%s (mem: %s; time: the check alone, parsing excluded)\n", summary, memLabel)
	for _, p := range problems {
		fmt.Fprintf(stdout, "DISAGREEMENT %s\n", p)
	}
	if ctx.Err() != nil {
		return &exitError{code: exitUnknown, err: fmt.Errorf("bench interrupted: %w", ctx.Err())}
	}
	if len(problems) > 0 {
		return &exitError{code: exitInvalid}
	}
	return nil
}

func benchOptions(fl benchFlags) (checker.Options, error) {
	opts := checker.Options{Timeout: fl.timeout}
	var err error
	if opts.Initial, err = parseInitial(fl.initial); err != nil {
		return opts, err
	}
	if opts.MaxMemory, err = parseBytes(fl.maxMemory); err != nil {
		return opts, usageError("--max-memory: %w", err)
	}
	return opts, nil
}

// benchInputs reads the files, or generates the histories the flags
// describe and writes them under dir for the child processes.
func benchInputs(fl benchFlags, files []string, dir string) ([]benchInput, error) {
	var inputs []benchInput
	for _, file := range files {
		h, err := history.ReadFile(file, history.Auto)
		if err != nil {
			return nil, &exitError{code: exitBad, err: err}
		}
		inputs = append(inputs, benchInput{name: filepath.Base(file), path: file, h: h})
	}
	if len(files) > 0 {
		return inputs, nil
	}
	if fl.count < 1 || fl.ops < 1 || fl.procs < 1 || fl.keys < 1 {
		return nil, usageError("--count, --ops, --processes and --keys must be positive")
	}
	if fl.invalid < 0 || fl.invalid > 1 {
		return nil, usageError("--invalid %v: use a fraction from 0 to 1", fl.invalid)
	}
	for i := range fl.count {
		invalid := math.Floor(float64(i+1)*fl.invalid) > math.Floor(float64(i)*fl.invalid)
		g, err := reggen.Generate(reggen.Config{Seed: fl.seed + uint64(i), Processes: fl.procs, Ops: fl.ops, Keys: fl.keys,
			CrashRate: fl.crash, CAS: fl.cas, Invalid: invalid})
		if err != nil {
			return nil, usageError("%w", err)
		}
		in := benchInput{name: fmt.Sprintf("seed %d", fl.seed+uint64(i)), h: g.History, expect: checker.Valid}
		if !g.Linearizable {
			in.name += " (" + g.Violation + ")"
			in.expect, in.note = checker.Invalid, g.Violation+" injected"
		}
		in.path = filepath.Join(dir, fmt.Sprintf("history-%d.jsonl", i))
		var buf bytes.Buffer
		if err := history.WriteJSONL(&buf, g.History.Events); err != nil {
			return nil, &exitError{code: exitBad, err: fmt.Errorf("bench: write %s: %w", in.path, err)}
		}
		if err := os.WriteFile(in.path, buf.Bytes(), 0o644); err != nil {
			return nil, &exitError{code: exitBad, err: fmt.Errorf("bench: %w", err)}
		}
		inputs = append(inputs, in)
	}
	return inputs, nil
}

// measureInProcess runs both checkers here, measuring the bytes each
// allocated.
func measureInProcess(ctx context.Context, h *history.History, opts checker.Options, timeout time.Duration) (c, p measurement) {
	mc := porcbench.Measure(func() { c = runConsist(ctx, h, opts) })
	mp := porcbench.Measure(func() { p = runPorcupine(h, opts, timeout) })
	c.Mem, p.Mem = int64(mc.Allocated), int64(mp.Allocated)
	return c, p
}

func runConsist(ctx context.Context, h *history.History, opts checker.Options) measurement {
	start := time.Now()
	res := linearizable.Check(ctx, h, opts)
	return measurement{Verdict: res.Verdict, Engine: res.Stats.Engine, Reason: res.Reason, Nanos: int64(time.Since(start))}
}

func runPorcupine(h *history.History, opts checker.Options, timeout time.Duration) measurement {
	start := time.Now()
	r, err := porcbench.Check(h, opts.Initial, opts.NilRead, timeout)
	m := measurement{Nanos: int64(time.Since(start)), Engine: "porcupine"}
	switch {
	case err != nil:
		m.Verdict, m.Reason = checker.Unknown, err.Error()
	case r == porcupine.Ok:
		m.Verdict = checker.Valid
	case r == porcupine.Illegal:
		m.Verdict = checker.Invalid
	default:
		m.Verdict, m.Reason = checker.Unknown, "timed out after "+timeout.String()
	}
	return m
}

// runBenchChild is the child side: check one file with one engine and
// print the measurement as JSON.
func runBenchChild(ctx context.Context, stdout io.Writer, fl benchFlags, files []string) error {
	if len(files) != 1 {
		return usageError("--child takes one history file")
	}
	opts, err := benchOptions(fl)
	if err != nil {
		return err
	}
	h, err := history.ReadFile(files[0], history.Auto)
	if err != nil {
		return &exitError{code: exitBad, err: err}
	}
	var m measurement
	switch fl.child {
	case "consist":
		m = runConsist(ctx, h, opts)
	case "porcupine":
		m = runPorcupine(h, opts, fl.timeout)
	default:
		return usageError("--child %q: use consist or porcupine", fl.child)
	}
	m.Mem = peakRSS(os.Getpid(), "VmHWM")
	if err := json.NewEncoder(stdout).Encode(m); err != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("bench: %w", err)}
	}
	return nil
}

// measureChild runs one checker on one file in a child process, killing it
// when its resident memory exceeds memCap or it outlives the timeout by a
// wide margin.
func measureChild(ctx context.Context, engine, path string, fl benchFlags, memCap int64) measurement {
	ctx, cancel := context.WithTimeout(ctx, 2*fl.timeout+30*time.Second)
	defer cancel()
	args := []string{"--child", engine, "--timeout", fl.timeout.String(), "--max-memory", fl.maxMemory, "--initial", fl.initial, path}
	cmd, err := benchChildCommand(ctx, args)
	if err != nil {
		return measurement{Verdict: checker.Unknown, Reason: err.Error()}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return measurement{Verdict: checker.Unknown, Reason: fmt.Sprintf("start the child: %v", err)}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var seen int64
	overCap := false
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			var m measurement
			if jerr := json.Unmarshal(lastLine(out.Bytes()), &m); jerr != nil || err != nil {
				m = measurement{Verdict: checker.Unknown, Nanos: int64(time.Since(start)), Mem: seen}
				switch {
				case overCap:
					m.Reason = fmt.Sprintf("killed above %s of memory", bytesText(memCap))
				case ctx.Err() != nil:
					m.Reason = "killed: it ran far past its timeout"
				default:
					m.Reason = strings.TrimSpace(fmt.Sprintf("child failed: %v %s", err, errOut.String()))
				}
			}
			m.Mem = max(m.Mem, seen)
			return m
		case <-tick.C:
			rss := peakRSS(cmd.Process.Pid, "VmRSS")
			seen = max(seen, rss)
			if memCap > 0 && rss > memCap && !overCap {
				overCap = true
				_ = cmd.Process.Kill()
			}
		}
	}
}

func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}

// peakRSS reads a memory figure (VmRSS, VmHWM) of a process from
// /proc/PID/status, in bytes; 0 where /proc is not available.
func peakRSS(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

func durationText(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func bytesText(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

func verdictText(m measurement) string {
	s := string(m.Verdict)
	if m.Engine != "" && m.Verdict != checker.Unknown && m.Engine != "porcupine" {
		s += " (" + m.Engine + ")"
	}
	if m.Verdict == checker.Unknown && m.Reason != "" {
		s += ": " + clipText(m.Reason, 60)
	}
	return s
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// ratioText is consist's time over Porcupine's; when Porcupine did not
// finish, its time is a lower bound and the ratio an upper one.
func ratioText(c, p measurement) string {
	if p.Nanos <= 0 {
		return "-"
	}
	r := ratioNumber(float64(c.Nanos) / float64(p.Nanos))
	if p.Verdict == checker.Unknown {
		return "< " + r
	}
	return r
}

func ratioNumber(r float64) string {
	if r < 0.001 {
		return fmt.Sprintf("%.1e", r)
	}
	return fmt.Sprintf("%.4f", r)
}
