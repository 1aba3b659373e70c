package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// A run that dies mid-fault — SIGKILL, a crash, the OOM killer — cannot
// heal what it broke, so a guardian does it: a copy of the program in a
// session of its own, holding the read end of a pipe whose write end only
// the run holds. The kernel closes that end however the run ends, so the
// guardian learns of the run's death without polling and without trusting
// a pid that may be reused. A run that ends properly cleans up itself and
// tells the guardian to stand down first (Release).
//
// What a killed run leaves, by the guardian's rule:
//   - no nft drop rule (the cluster's table is deleted, or put back to
//     the connection marks alone when the cluster stays up), and no
//     paused member: each is sent SIGCONT;
//   - a cluster the run started itself is stopped, its members killed
//     and its folder removed, as the run would have done at its end;
//   - a cluster that was up before the run (consist cluster up) stays up,
//     healed: members the run killed are restarted on their data, and the
//     guardian waits until every member serves again.

// GuardEnv, set to "1" in a program's environment, makes it a guardian:
// a program that calls StartGuard must, at the top of main (and of
// TestMain in its tests), call RunGuard and exit when GuardEnv is set.
const GuardEnv = "CONSIST_CLUSTER_GUARD"

// guardOrder is the one line a guardian reads before it watches.
type guardOrder struct {
	Dir string `json:"dir"`
	// Stop: the run started the cluster, so its death stops it.
	Stop bool `json:"stop"`
	// PID is the run's, for the guardian's report.
	PID int `json:"pid"`
}

// releaseLine is what Release writes: the run has cleaned up.
const releaseLine = "release\n"

// Guard is a guardian watching this process on a cluster's behalf.
type Guard struct {
	cmd  *exec.Cmd
	w    *os.File
	done chan struct{}
}

// StartGuard starts a guardian for c (see GuardEnv for what the program
// must do): if this process dies without calling Release, the guardian
// heals c's faults and, when stop is set, stops c and removes its
// folder; otherwise it restarts the members this process killed. It
// returns once the guardian watches.
func StartGuard(ctx context.Context, c *Cluster, stop bool) (*Guard, error) {
	if os.Getenv(GuardEnv) != "" {
		// A copy started as a guardian that went on to be the program
		// again would start guardians without end.
		return nil, fmt.Errorf("cluster %s: this program was started as a guardian but did not run one: its main must call cluster.RunGuard when %s is set", c.Kind, GuardEnv)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: find this program to start its guardian: %w", c.Kind, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: start a guardian: %w", c.Kind, err)
	}
	defer r.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), GuardEnv+"=1")
	cmd.Stdin = r
	cmd.Stderr = os.Stderr // its report, if the run dies, goes where the run's went
	// Its own session: Ctrl-C at the terminal, or a signal to the run's
	// process group, does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	ready, err := cmd.StdoutPipe()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("cluster %s: start a guardian: %w", c.Kind, err)
	}
	order, _ := json.Marshal(guardOrder{Dir: c.Dir, Stop: stop, PID: os.Getpid()})
	if _, err := w.Write(append(order, '\n')); err != nil {
		w.Close()
		return nil, fmt.Errorf("cluster %s: start a guardian: %w", c.Kind, err)
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("cluster %s: start a guardian (%s): %w", c.Kind, exe, err)
	}
	g := &Guard{cmd: cmd, w: w, done: make(chan struct{})}
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(ready).ReadString('\n')
		answer <- line
		_, _ = io.Copy(io.Discard, ready) // until it exits, then Wait may close it
		_ = cmd.Wait()
		close(g.done)
	}()
	fail := func(err error) (*Guard, error) {
		w.Close()
		_ = cmd.Process.Kill()
		<-g.done
		return nil, fmt.Errorf("cluster %s: start a guardian: %w", c.Kind, err)
	}
	select {
	case line := <-answer:
		if line == "busy\n" {
			return fail(fmt.Errorf("another consist run is testing the cluster in %s, or its guardian is healing it: wait until it has ended", c.Dir))
		}
		if line != "watching\n" {
			return fail(fmt.Errorf("%s did not answer as a guardian (%q): its main must call cluster.RunGuard when %s is set", exe, strings.TrimSpace(line), GuardEnv))
		}
	case <-time.After(10 * time.Second):
		return fail(fmt.Errorf("%s did not answer as a guardian in 10 s", exe))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	return g, nil
}

// Release tells the guardian that this process has healed (and, if it
// started the cluster, stopped) the cluster itself, and waits until the
// guardian exits. It is safe to call more than once.
func (g *Guard) Release() error {
	if g.w == nil {
		return nil
	}
	_, err := io.WriteString(g.w, releaseLine)
	g.w.Close()
	g.w = nil
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
		return errors.New("the cluster's guardian did not exit within 10 s of its release; it was killed")
	}
	if err != nil {
		return fmt.Errorf("release the cluster's guardian: %w", err)
	}
	return nil
}

// RunGuard is a guardian's body: it reads its order from in, writes
// "watching" to ready, and waits. When in reaches its end without the
// release — the run died — it heals the cluster as the rule above says
// and returns what it did; after the release, or when ctx ends, it
// returns "" and does nothing. ready is closed once written, if it is a
// Closer. It makes the process ignore SIGPIPE: a run that dies before
// reading the answer must not take its guardian with it.
func RunGuard(ctx context.Context, in io.Reader, ready io.Writer) (string, error) {
	signal.Ignore(syscall.SIGPIPE)
	br := bufio.NewReader(in)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return "", fmt.Errorf("guardian: read its order: %w (a guardian is started by cluster.StartGuard, not by hand)", err)
	}
	var order guardOrder
	if err := json.Unmarshal(line, &order); err != nil || order.Dir == "" {
		return "", fmt.Errorf("guardian: its order %q is not one cluster.StartGuard writes (%v)", strings.TrimSpace(string(line)), err)
	}
	// One guardian, so one run, at a time on a cluster: the lock lasts
	// as long as this process, so until it has healed what a dead run
	// left.
	lock, err := lockDir(order.Dir)
	if err != nil {
		if !errors.Is(err, errGuarded) {
			return "", fmt.Errorf("guardian: %w", err)
		}
		_, _ = io.WriteString(ready, "busy\n") // the run says so
		return "", nil
	}
	defer lock.Close()
	// An answer that cannot be written means the run has died already;
	// the end of in says so next.
	_, _ = io.WriteString(ready, "watching\n")
	if c, ok := ready.(io.Closer); ok {
		_ = c.Close()
	}
	ended := make(chan string, 1)
	go func() {
		rest, _ := br.ReadString('\n') // blocks until the release or the end
		ended <- rest
	}()
	select {
	case <-ctx.Done():
		return "", nil
	case rest := <-ended:
		if rest == releaseLine {
			return "", nil
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return Recover(ctx, order.Dir, order.Stop, order.PID)
}

// Recover heals the cluster in dir after the run (pid) that faulted it
// died: see the rule at the top of this file. It is what a guardian does,
// and works as well from any other process.
func Recover(ctx context.Context, dir string, stop bool, pid int) (string, error) {
	c, err := Load(dir)
	if err != nil {
		// Nothing to stop; a table may still be there.
		if err := newFirewall(dir).remove(ctx); err != nil {
			return "", fmt.Errorf("guardian: run %d died; %w", pid, err)
		}
		return fmt.Sprintf("run %d died; no cluster was left in %s", pid, dir), nil
	}
	if stop {
		if err := c.Down(ctx); err != nil {
			return "", fmt.Errorf("guardian: run %d died; stop the %s cluster it started in %s: %w", pid, c.Kind, dir, err)
		}
		return fmt.Sprintf("run %d died; its guardian healed the %s cluster the run had started and stopped it (%s removed)", pid, c.Kind, dir), nil
	}
	// The members it restarts must outlive it.
	c.Detach = true
	var errs []error
	if err := c.Heal(ctx); err != nil {
		errs = append(errs, err)
	}
	// Every member, not only those marked paused: the run may have died
	// between its SIGSTOP and recording it.
	for _, m := range c.Members {
		if c.ours(m, m.PID) {
			_ = syscall.Kill(m.PID, syscall.SIGCONT)
			m.Paused = false
		}
	}
	if err := c.save(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Repair(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("guardian: run %d died; heal the %s cluster in %s: %w (stop it with consist cluster down %s --dir %s)", pid, c.Kind, dir, err, c.Kind, dir)
	}
	return fmt.Sprintf("run %d died; its guardian healed the %s cluster in %s, which stays up", pid, c.Kind, dir), nil
}

// FirewallTable names the nft table (family inet) that holds the
// partitions of the cluster in dir.
func FirewallTable(dir string) string { return newFirewall(dir).table }

// errGuarded is lockDir's answer while a guardian holds the folder.
var errGuarded = errors.New("a guardian holds it")

// lockDir takes the guardians' lock on the cluster folder dir, without
// waiting; closing the file releases it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", dir, errGuarded)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

// AwaitGuardians waits until no guardian watches the cluster in dir:
// until a run testing it has ended and, if that run died, its guardian
// has healed (or stopped) the cluster. waiting, if not nil, is called
// once if it has to wait. It returns at once when dir does not exist.
func AwaitGuardians(ctx context.Context, dir string, waiting func()) error {
	for {
		f, err := lockDir(dir)
		if err == nil {
			return f.Close()
		}
		if !errors.Is(err, errGuarded) {
			return nil // no folder, or one no guardian can have locked
		}
		if waiting != nil {
			waiting()
			waiting = nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("another consist run is testing the cluster in %s, or its guardian is healing it, and did not end in time: wait until it has ended, or give another folder: %w", dir, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
