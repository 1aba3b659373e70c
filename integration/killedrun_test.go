package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"consist/cluster"
	"consist/internal/servertest"
)

// buildConsist builds the consist command into a folder of t's.
func buildConsist(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		servertest.Missing(t, "no go command to build consist with")
	}
	bin := filepath.Join(t.TempDir(), "consist")
	out, err := exec.Command(gobin, "build", "-o", bin, "consist/cmd/consist").CombinedOutput()
	if err != nil {
		t.Fatalf("build consist: %v\n%s", err, out)
	}
	return bin
}

// etcdFaultPrereqs skips t (fails it under CONSIST_REQUIRE_SERVERS=1)
// unless etcd, nft and root are there.
func etcdFaultPrereqs(t *testing.T) {
	t.Helper()
	servertest.Root(t)
	servertest.Binary(t, "/usr/sbin/nft")
	for _, bin := range cluster.Binaries("etcd") {
		servertest.Binary(t, bin)
	}
}

// startRun starts bin run on the etcd cluster in dir, its output in a
// file, and returns it with a function that reads that output.
func startRun(t *testing.T, bin, dir, nemesis string) (*exec.Cmd, func() string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "run.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(bin, "run", "--target", "etcd", "--cluster", "local", "--cluster-dir", dir,
		"--nemesis", nemesis, "--nemesis-interval", "2s", "--duration", "5m", "--rate", "200", "--store-dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, func() string { data, _ := os.ReadFile(logPath); return string(data) }
}

// await polls cond every 20 ms until it returns nil, failing t with its
// last error, and what the run said, after timeout.
func await(t *testing.T, timeout time.Duration, said func() string, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v\nthe run said:\n%s", what, timeout, err, said())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dropRules returns an error while the nft table holds a drop rule.
func dropRules(table string) error {
	out, err := exec.Command("/usr/sbin/nft", "list", "table", "inet", table).CombinedOutput()
	if err == nil && strings.Contains(string(out), "drop") {
		return fmt.Errorf("table %s drops packets:\n%s", table, out)
	}
	return nil
}

// procState is the state letter of pid in /proc (R, S, T, Z...), or 0
// when there is no such process.
func procState(pid int) byte {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) {
		return 0
	}
	return stat[i+2]
}

// killRun sends SIGKILL to the run and reaps it.
func killRun(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// TestKilledRunStopsTheClusterItStarted: consist run starts an etcd
// cluster for itself and is SIGKILLed while a partition is in force. Its
// guardian deletes the nft table and stops the cluster: no drop rule, no
// member process, no folder is left.
func TestKilledRunStopsTheClusterItStarted(t *testing.T) {
	etcdFaultPrereqs(t)
	bin := buildConsist(t)
	dir := filepath.Join(cluster.TempDir(t), "etcd")
	table := cluster.FirewallTable(dir)
	t.Cleanup(func() {
		if c, err := cluster.Load(dir); err == nil {
			_ = c.Down(context.Background())
		}
		_ = exec.Command("/usr/sbin/nft", "delete", "table", "inet", table).Run()
	})
	cmd, said := startRun(t, bin, dir, "partition")
	await(t, 90*time.Second, said, "a partition in force", func() error {
		if dropRules(table) == nil {
			return errors.New("no drop rule yet")
		}
		return nil
	})
	c, err := cluster.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	killRun(t, cmd)
	await(t, time.Minute, said, "no drop rule left", func() error { return dropRules(table) })
	for _, m := range c.Members {
		await(t, time.Minute, said, m.Name+" gone", func() error {
			if s := procState(m.PID); s != 0 && s != 'Z' {
				return fmt.Errorf("pid %d is in state %c", m.PID, s)
			}
			return nil
		})
	}
	await(t, time.Minute, said, "the cluster's folder removed", func() error {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			return fmt.Errorf("%s is still there (%v)", dir, err)
		}
		return nil
	})
}

// TestKilledRunHealsAClusterThatWasUp: consist run tests an etcd cluster
// that was up before it and is SIGKILLed while a member is paused. Its
// guardian heals the cluster, which stays up: no drop rule, no stopped
// process, every member serving, the folder kept.
func TestKilledRunHealsAClusterThatWasUp(t *testing.T) {
	etcdFaultPrereqs(t)
	bin := buildConsist(t)
	dir := filepath.Join(cluster.TempDir(t), "etcd")
	if _, err := cluster.Up(t.Context(), "etcd", cluster.Options{Dir: dir, Detach: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := cluster.Load(dir); err == nil {
			if err := c.Down(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	cmd, said := startRun(t, bin, dir, "pause,partition,kill")
	var paused int
	await(t, 90*time.Second, said, "a member paused", func() error {
		c, err := cluster.Load(dir) // the run restarts the members it kills
		if err != nil {
			return err
		}
		for _, m := range c.Members {
			if procState(m.PID) == 'T' {
				paused = m.PID
				return nil
			}
		}
		return errors.New("no member stopped yet")
	})
	killRun(t, cmd)
	await(t, time.Minute, said, "the paused member resumed", func() error {
		if s := procState(paused); s == 'T' {
			return fmt.Errorf("pid %d is still stopped", paused)
		}
		return nil
	})
	await(t, time.Minute, said, "no drop rule left", func() error { return dropRules(cluster.FirewallTable(dir)) })
	await(t, time.Minute, said, "every member serving", func() error {
		after, err := cluster.Load(dir)
		if err != nil {
			return err
		}
		for _, s := range after.Status(t.Context()) {
			if s.Err != nil {
				return fmt.Errorf("%s: %w", s.Member.Name, s.Err)
			}
			if procState(s.Member.PID) == 'T' {
				return fmt.Errorf("%s (pid %d) is stopped", s.Member.Name, s.Member.PID)
			}
		}
		return nil
	})
}
