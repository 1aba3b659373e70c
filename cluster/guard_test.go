package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"consist/internal/servertest"
)

func TestMain(m *testing.M) {
	if os.Getenv(GuardEnv) != "" { // StartGuard re-executes this binary
		if _, err := RunGuard(context.Background(), os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// detached starts a cluster of kind as consist cluster up does, one that
// outlives whoever started it, and stops it when t ends.
func detached(t *testing.T, kindName string) *Cluster {
	t.Helper()
	for _, bin := range Binaries(kindName) {
		servertest.Binary(t, bin)
	}
	c, err := Up(t.Context(), kindName, Options{Dir: filepath.Join(TempDir(t), kindName), Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := Load(c.Dir); err == nil {
			if err := c.Down(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	return c
}

// die ends the guard's run as a SIGKILL would: the pipe's write end
// closes with no release. It waits until the guardian has exited.
func (g *Guard) die(t *testing.T) {
	t.Helper()
	g.w.Close()
	g.w = nil
	select {
	case <-g.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the guardian did not exit within 2 minutes of its run's death")
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the guardian exited %d", code)
	}
}

// stopped reports whether pid is stopped by a signal (state T).
func stopped(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'T'
}

// faultAll pauses the first member, kills the last and, as root, cuts
// them apart.
func faultAll(t *testing.T, c *Cluster) {
	t.Helper()
	n := c.Nodes()
	if err := c.Pause(t.Context(), n[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(t.Context(), n[len(n)-1]); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := c.Partition(t.Context(), [][2]string{{n[0], n[len(n)-1]}}); err != nil {
			t.Fatal(err)
		}
		if rules := nftTable(t, c.fw.table); !strings.Contains(rules, "drop") {
			t.Fatalf("no drop rule after Partition:\n%s", rules)
		}
	}
}

// TestGuardHealsAClusterThatStaysUp: a run that dies with a member
// paused, one killed and a link cut, on a cluster that was up before it,
// leaves it up and healed: no drop rule, no paused member, every member
// serving.
func TestGuardHealsAClusterThatStaysUp(t *testing.T) {
	c := detached(t, testKind)
	g, err := StartGuard(t.Context(), c, false)
	if err != nil {
		t.Fatal(err)
	}
	faultAll(t, c)
	g.die(t)
	after, err := Load(c.Dir)
	if err != nil {
		t.Fatalf("the cluster's folder is gone: %v", err)
	}
	for _, s := range after.Status(t.Context()) {
		if s.Err != nil || stopped(s.Member.PID) {
			t.Errorf("%s after its run died: %v (stopped: %v)", s.Member.Name, s.Err, stopped(s.Member.PID))
		}
	}
	if rules := nftTable(t, c.fw.table); strings.Contains(rules, "drop") {
		t.Fatalf("a drop rule outlived the run:\n%s", rules)
	}
}

// TestGuardStopsTheClusterItsRunStarted: a run that dies with faults in
// force on a cluster it started leaves no member, no table, no folder.
func TestGuardStopsTheClusterItsRunStarted(t *testing.T) {
	c := detached(t, testKind)
	g, err := StartGuard(t.Context(), c, true)
	if err != nil {
		t.Fatal(err)
	}
	faultAll(t, c)
	pid := c.Members[0].PID
	g.die(t)
	if alive(pid) {
		t.Errorf("member pid %d outlived its run", pid)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("%s outlived its run: %v", c.Dir, err)
	}
	if rules := nftTable(t, c.fw.table); rules != "" {
		t.Fatalf("table %s outlived its run:\n%s", c.fw.table, rules)
	}
}

// TestGuardReleased: a run that ends properly releases its guardian,
// which then touches nothing.
func TestGuardReleased(t *testing.T) {
	c := detached(t, testKind)
	g, err := StartGuard(t.Context(), c, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(t.Context(), c.Nodes()[0]); err != nil {
		t.Fatal(err)
	}
	if err := g.Release(); err != nil {
		t.Fatal(err)
	}
	if err := g.Release(); err != nil {
		t.Fatalf("a second Release: %v", err)
	}
	if !stopped(c.Members[0].PID) {
		t.Fatal("a released guardian resumed a member")
	}
	if _, err := Load(c.Dir); err != nil {
		t.Fatalf("a released guardian stopped the cluster: %v", err)
	}
}

// TestGuardOfARunThatDiedAtOnce: a run killed before it reads its
// guardian's answer (so the answer meets a closed pipe) is still healed
// after.
func TestGuardOfARunThatDiedAtOnce(t *testing.T) {
	c := detached(t, testKind)
	if err := c.Pause(t.Context(), c.Nodes()[0]); err != nil {
		t.Fatal(err)
	}
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(w, `{"dir":%q,"pid":1}`+"\n", c.Dir); err != nil {
		t.Fatal(err)
	}
	w.Close() // the run has died
	gone, out, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	gone.Close() // and nobody reads the answer
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), GuardEnv+"=1")
	var stderr strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the guardian: %v\n%s", err, stderr.String())
	}
	in.Close()
	out.Close()
	if stopped(c.Members[0].PID) {
		t.Fatal("the paused member is still stopped")
	}
}

// TestOneGuardianAtATime: while a run's guardian watches a cluster, a
// second guardian is refused and AwaitGuardians waits; after the release
// both go ahead.
func TestOneGuardianAtATime(t *testing.T) {
	c := detached(t, testKind)
	g, err := StartGuard(t.Context(), c, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StartGuard(t.Context(), c, false); err == nil || !strings.Contains(err.Error(), "another consist run") {
		t.Fatalf("a second guardian: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	waited := false
	err = AwaitGuardians(ctx, c.Dir, func() { waited = true })
	cancel()
	if err == nil || !waited {
		t.Fatalf("AwaitGuardians while one watches: %v (waited: %v)", err, waited)
	}
	if err := g.Release(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := AwaitGuardians(ctx, c.Dir, nil); err != nil {
		t.Fatalf("AwaitGuardians after the release: %v", err)
	}
	g2, err := StartGuard(t.Context(), c, false)
	if err != nil {
		t.Fatalf("a guardian after the release: %v", err)
	}
	if err := g2.Release(); err != nil {
		t.Fatal(err)
	}
}
