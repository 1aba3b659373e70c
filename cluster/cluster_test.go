package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"consist/internal/servertest"
)

// up starts a cluster of kind in a temporary folder for t and stops it
// when t ends, however it ends.
func up(t *testing.T, kindName string) *Cluster {
	t.Helper()
	for _, bin := range Binaries(kindName) {
		servertest.Binary(t, bin)
	}
	c, err := Up(t.Context(), kindName, Options{Dir: TempDir(t) + "/" + kindName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Down(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return c
}

func TestUpStatusDown(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k, func(t *testing.T) {
			c := up(t, k)
			for _, s := range c.Status(t.Context()) {
				if !s.Alive || s.Err != nil {
					t.Errorf("%s: alive %v, %v", s.Member.Name, s.Alive, s.Err)
				}
			}
			loaded, err := Load(c.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if !loaded.Running() {
				t.Fatal("the loaded cluster says it is not running")
			}
			pids := []int{}
			for _, m := range c.Members {
				pids = append(pids, m.PID)
			}
			if err := loaded.Down(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, pid := range pids {
				if alive(pid) {
					t.Errorf("pid %d is still alive after Down", pid)
				}
			}
			if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
				t.Errorf("%s is still there after Down: %v", c.Dir, err)
			}
		})
	}
}

func TestKillRestartPauseResume(t *testing.T) {
	c := up(t, testKind)
	m := c.Members[1]
	if err := c.Kill(t.Context(), m.Addr); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(t.Context())[1]; st.Alive {
		t.Fatal("a killed member is alive")
	}
	if err := c.Restart(t.Context(), m.Addr); err != nil {
		t.Fatal(err)
	}
	if err := c.waitReady(t.Context(), m, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(t.Context(), m.Addr); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(t.Context())[1]; !st.Paused || st.Err == nil {
		t.Fatalf("a paused member: %+v", st)
	}
	if err := c.Resume(t.Context(), m.Addr); err != nil {
		t.Fatal(err)
	}
	if err := c.waitReady(t.Context(), m, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestPartitionRulesAndHeal(t *testing.T) {
	servertest.Root(t)
	servertest.Binary(t, nftPath)
	c := up(t, testKind)
	if err := c.Partition(t.Context(), [][2]string{{c.Members[0].Addr, c.Members[1].Addr}}); err != nil {
		t.Fatal(err)
	}
	rules := nftTable(t, c.fw.table)
	primary, replica := c.Members[0], c.Members[1]
	for _, want := range []string{fmt.Sprintf("meta skuid %d tcp dport %d counter", replica.UID, primary.PeerPort),
		fmt.Sprintf("meta skuid %d tcp dport %d counter", primary.UID, replica.PeerPort)} {
		if !strings.Contains(rules, want) {
			t.Fatalf("table %s lacks %q:\n%s", c.fw.table, want, rules)
		}
	}
	if err := c.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rules := nftTable(t, c.fw.table); strings.Contains(rules, "drop") {
		t.Fatalf("table %s survived Heal:\n%s", c.fw.table, rules)
	}
	if err := c.Heal(t.Context()); err != nil {
		t.Fatalf("a second Heal: %v", err)
	}
}

func nftTable(t *testing.T, table string) string {
	out, err := exec.Command(nftPath, "list", "table", "inet", table).CombinedOutput()
	if err != nil {
		return ""
	}
	return string(out)
}

// TestRepair: a run killed mid-fault leaves a member paused, one dead and
// one cut off; Repair brings every member back to serving, with no drop
// rule left.
func TestRepair(t *testing.T) {
	c := up(t, testKind)
	n := c.Nodes()
	if err := c.Pause(t.Context(), n[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(t.Context(), n[1]); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := c.Partition(t.Context(), [][2]string{{n[2], n[0]}, {n[2], n[1]}}); err != nil {
			t.Fatal(err)
		}
	}
	loaded, err := Load(c.Dir) // as the next run finds it
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Repair(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, s := range loaded.Status(t.Context()) {
		if s.Err != nil {
			t.Errorf("%s after Repair: %v", s.Member.Name, s.Err)
		}
	}
	if rules := nftTable(t, c.fw.table); strings.Contains(rules, "drop") {
		t.Fatalf("a drop rule survived Repair:\n%s", rules)
	}
	c.Members = loaded.Members // the restarted member is the loaded cluster's to stop
}

// TestUpLeavesOtherFoldersAlone: a folder that holds files but no
// cluster is refused, and kept.
func TestUpLeavesOtherFoldersAlone(t *testing.T) {
	for _, bin := range Binaries(testKind) {
		servertest.Binary(t, bin)
	}
	dir := TempDir(t)
	keep := dir + "/notes.txt"
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Up(t.Context(), testKind, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "new or empty") {
		t.Fatalf("Up in a folder of files: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("Up removed the folder's files: %v", err)
	}
}
