package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a member process this process started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs m with args and records its pid.
func (c *Cluster) start(m *Member, args []string) error {
	log, err := os.OpenFile(m.Log(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("cluster %s: open %s's log: %w", c.Kind, m.Name, err)
	}
	defer log.Close()
	cmd := exec.Command(m.Path, args...)
	cmd.Dir = m.Dir
	cmd.Stdout, cmd.Stderr = log, log
	attr := &syscall.SysProcAttr{}
	if c.Detach {
		attr.Setsid = true // outlive this process and its terminal
	} else {
		attr.Setpgid = true              // Ctrl-C reaches consist, which heals and stops the members
		attr.Pdeathsig = syscall.SIGKILL // and the members die with consist however it ends
	}
	if m.UID != 0 {
		attr.Credential = &syscall.Credential{Uid: uint32(m.UID), Gid: uint32(m.UID)}
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cluster %s: start %s (%s): %w", c.Kind, m.Name, m.Path, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	c.procs[m.Name] = p
	m.PID, m.Paused = cmd.Process.Pid, false
	return nil
}

// kill sends SIGKILL to m (waking it first if paused) and waits until it
// is gone.
func (c *Cluster) kill(m *Member) error {
	pid := m.PID
	m.PID, m.Paused = 0, false
	if !c.ours(m, pid) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGCONT)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("cluster %s: kill %s (pid %d): %w", c.Kind, m.Name, pid, err)
	}
	if p, ok := c.procs[m.Name]; ok && p.cmd.Process.Pid == pid {
		<-p.done
		delete(c.procs, m.Name)
		return nil
	}
	for deadline := time.Now().Add(10 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster %s: %s (pid %d) survived SIGKILL for 10 s", c.Kind, m.Name, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// ours reports whether pid is alive and still runs m's program, so that a
// stale cluster.json never leads to signalling some other process.
func (c *Cluster) ours(m *Member, pid int) bool {
	if !alive(pid) {
		return false
	}
	exe, err := os.Readlink(filepath.Join("/proc", fmt.Sprint(pid), "exe"))
	if err != nil {
		return true // cannot tell (no /proc): trust the recorded pid
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	want, err := filepath.EvalSymlinks(m.Path)
	if err != nil {
		want = m.Path
	}
	if exe != want {
		return false
	}
	// A member under a uid of its own is told from another server of
	// the same program by that uid.
	return m.UID == 0 || procUID(pid) == m.UID
}

// procUID is pid's real uid, or -1 when /proc does not say.
func procUID(pid int) int {
	status, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "status"))
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if uid, err := strconv.Atoi(f[0]); err == nil {
					return uid
				}
			}
		}
	}
	return -1
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "stat"))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// Kill crashes the member at node with SIGKILL: whatever it had not
// written to disk is lost.
func (c *Cluster) Kill(_ context.Context, node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.Member(node)
	if err != nil {
		return err
	}
	if err := c.kill(m); err != nil {
		return err
	}
	return c.save()
}

// Restart starts a killed member again on its data and waits until it
// accepts connections.
func (c *Cluster) Restart(ctx context.Context, node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.Member(node)
	if err != nil {
		return err
	}
	if c.ours(m, m.PID) {
		return nil
	}
	args := m.Args
	if m.RestartArgs != nil {
		args = m.RestartArgs
	}
	if err := c.start(m, args); err != nil {
		return err
	}
	if err := c.save(); err != nil {
		return err
	}
	return waitListening(ctx, m, 10*time.Second)
}

// Pause stops the member at node with SIGSTOP: it holds its connections
// but answers nothing.
func (c *Cluster) Pause(_ context.Context, node string) error {
	return c.signal(node, syscall.SIGSTOP, true)
}

// Resume lets a paused member go on with SIGCONT.
func (c *Cluster) Resume(_ context.Context, node string) error {
	return c.signal(node, syscall.SIGCONT, false)
}

func (c *Cluster) signal(node string, sig syscall.Signal, paused bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.Member(node)
	if err != nil {
		return err
	}
	if !c.ours(m, m.PID) {
		return fmt.Errorf("cluster %s: %s is not running", c.Kind, m.Name)
	}
	if err := syscall.Kill(m.PID, sig); err != nil {
		return fmt.Errorf("cluster %s: %v %s: %w", c.Kind, sig, m.Name, err)
	}
	m.Paused = paused
	return c.save()
}

// waitListening waits until m accepts TCP connections.
func waitListening(ctx context.Context, m *Member, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", m.Addr)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not accept connections in %v after a restart (log: %s): %w", m.Name, timeout, m.Log(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Repair undoes whatever faults a run left behind — one killed before it
// could heal: it restores every link, resumes paused members, restarts
// dead ones, and waits until every member serves.
func (c *Cluster) Repair(ctx context.Context) error {
	if err := c.Heal(ctx); err != nil {
		return err
	}
	for _, m := range c.Members {
		if c.ours(m, m.PID) {
			if m.Paused {
				if err := c.Resume(ctx, m.Addr); err != nil {
					return err
				}
			}
			continue
		}
		if err := c.Restart(ctx, m.Addr); err != nil {
			return err
		}
	}
	for _, m := range c.Members {
		if err := c.waitReady(ctx, m, 30*time.Second); err != nil {
			return err
		}
	}
	return nil
}
