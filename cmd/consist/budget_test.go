package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// searchHeavyHistory writes a register history that defeats the
// read-mapping engine (values 0..4 repeat) and makes the search's memo of
// configurations grow without bound: 24 concurrent processes, one key,
// 2% of writes crashed.
func searchHeavyHistory(t *testing.T, ops int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0))
	var b bytes.Buffer
	procs := make([]int, 24)
	for i := range procs {
		procs[i] = i
	}
	next, state, now, done := 24, 0, int64(0), 0
	type pending struct {
		f string
		v int
	}
	open := map[int]pending{}
	for done < ops {
		slot := rng.IntN(len(procs))
		p := procs[slot]
		now += 1000
		op, isOpen := open[p]
		switch {
		case !isOpen && rng.IntN(2) == 0:
			open[p] = pending{f: "read"}
			fmt.Fprintf(&b, `{"type":"invoke","process":%d,"f":"read","value":null,"time":%d}`+"\n", p, now)
		case !isOpen:
			v := rng.IntN(5)
			open[p] = pending{f: "write", v: v}
			fmt.Fprintf(&b, `{"type":"invoke","process":%d,"f":"write","value":%d,"time":%d}`+"\n", p, v, now)
		case op.f == "write" && rng.IntN(50) == 0:
			delete(open, p)
			fmt.Fprintf(&b, `{"type":"info","process":%d,"f":"write","value":%d,"time":%d}`+"\n", p, op.v, now)
			procs[slot], next = next, next+1
			done++
		default:
			delete(open, p)
			if op.f == "write" {
				state = op.v
			}
			fmt.Fprintf(&b, `{"type":"ok","process":%d,"f":"%s","value":%d,"time":%d}`+"\n", p, op.f, state, now)
			done++
		}
	}
	path := filepath.Join(t.TempDir(), "search-heavy.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runChild runs consist with args in a child process and returns its exit
// code, its output and its peak resident memory in bytes.
func runChild(t *testing.T, args ...string) (int, string, int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join(args, "\n"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no resource usage of child processes on this system")
	}
	return code, out.String(), ru.Maxrss << 10
}

// TestMaxMemoryBoundsTheProcess runs a search that would grow to
// gigabytes under a 200 MiB budget: the child's peak resident memory must
// stay within 25% of the budget, and the verdict be unknown, saying why.
func TestMaxMemoryBoundsTheProcess(t *testing.T) {
	const budget = 200 << 20
	path := searchHeavyHistory(t, 20_000, 1)
	code, out, peak := runChild(t, "check", "--model", "linearizable", "--initial", "0", "--max-memory", "200MiB", "--timeout", "2m", path)
	t.Logf("peak RSS %.1f MiB under a 200 MiB budget", float64(peak)/(1<<20))
	if code != exitUnknown || !strings.Contains(out, "memory budget of 200MiB") {
		t.Fatalf("exit %d, want 2 (unknown) for want of memory; output:\n%s", code, out)
	}
	if peak > budget*5/4 {
		t.Fatalf("peak RSS %d bytes, over 125%% of the %d-byte budget", peak, budget)
	}
}

// TestMaxMemoryRefusesAHistoryTooBigToRead: a file whose reading alone
// would pass the budget is answered unknown before it is read.
func TestMaxMemoryRefusesAHistoryTooBigToRead(t *testing.T) {
	path := searchHeavyHistory(t, 5_000, 2)
	code, stdout, stderr := runCLI(t, "check", "--model", "linearizable", "--max-memory", "1MiB", path)
	if code != exitUnknown || !strings.Contains(stdout, "raise --max-memory to at least") {
		t.Fatalf("exit %d, want 2 and the budget the file needs\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestTimeoutBoundsAPipeNobodyWrites: a named pipe without a writer ends
// at --timeout with unknown, not a hang.
func TestTimeoutBoundsAPipeNobodyWrites(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	start := time.Now()
	code, stdout, stderr := runCLI(t, "check", "--timeout", "500ms", fifo)
	if code != exitUnknown || !strings.Contains(stdout, "did not finish within --timeout") {
		t.Fatalf("exit %d, want 2 and the timeout's reason\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("took %v for a 500ms timeout", took)
	}
}

// TestMaxMemoryBoundsStandardInput: standard input, whose size is not
// known in advance, is refused once it passes what the budget can check.
func TestMaxMemoryBoundsStandardInput(t *testing.T) {
	data, err := os.ReadFile(searchHeavyHistory(t, 5_000, 3))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runWithStdin(t, string(data), "check", "--max-memory", "1MiB", "-")
	if code != exitUnknown || !strings.Contains(stdout, "raise --max-memory") {
		t.Fatalf("exit %d, want 2 and the budget's reason\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
