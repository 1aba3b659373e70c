// Package clustertest holds the test every kind of local cluster passes:
// each database's package runs it on its own layout.
package clustertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"consist/cluster"
	"consist/internal/servertest"
)

// Lifecycle checks the layout of kind: its members start and all serve,
// a member killed -9 restarts on its data and serves again, and Down
// stops every member and removes the cluster's folder. It skips (or
// fails, under CONSIST_REQUIRE_SERVERS) when the servers' binaries are
// missing.
func Lifecycle(t *testing.T, kind string) {
	t.Helper()
	for _, bin := range cluster.Binaries(kind) {
		servertest.Binary(t, bin)
	}
	c, err := cluster.Up(t.Context(), kind, cluster.Options{Dir: filepath.Join(cluster.TempDir(t), kind)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Down(context.Background())
	serving(t, c)
	last := c.Members[len(c.Members)-1]
	if err := c.Kill(t.Context(), last.Addr); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(t.Context(), last.Addr); err != nil {
		t.Fatal(err)
	}
	if err := c.Repair(t.Context()); err != nil { // waits until every member serves
		t.Fatal(err)
	}
	serving(t, c)
	if err := c.Down(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Fatalf("%s is still there after Down: %v", c.Dir, err)
	}
	if c.Running() {
		t.Fatal("a member runs after Down")
	}
}

func serving(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	for _, s := range c.Status(t.Context()) {
		if !s.Alive || s.Err != nil {
			t.Fatalf("%s: alive %v, %v", s.Member.Name, s.Alive, s.Err)
		}
	}
}
