package redis

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"consist/cluster"
	"consist/internal/servertest"
)

// TestLocalCluster: the redis layout starts members that all serve, a
// member killed -9 restarts on its data and serves again, and Down stops
// every member and removes the cluster's folder.
func TestLocalCluster(t *testing.T) {
	for _, bin := range cluster.Binaries("redis") {
		servertest.Binary(t, bin)
	}
	c, err := cluster.Up(t.Context(), "redis", cluster.Options{Dir: filepath.Join(cluster.TempDir(t), "redis")})
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

// FuzzReadReply: no reply from a server panics the readiness probe or
// makes it hold more than its bound.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"+PONG\r\n", "$5\r\nhello\r\n", "$-1\r\n", "$9223372036854775807\r\n",
		"$99999999999\r\nx", "$3\r\nab", "-ERR no\r\n", "$ 4\r\nabcd\r\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reply, err := readReply(bufio.NewReader(bytes.NewReader(data)), "PING")
		if err != nil {
			return
		}
		if len(reply) > len(data) || len(reply) > maxReply+len(data) {
			t.Fatalf("a reply of %d bytes from %d bytes of input", len(reply), len(data))
		}
		if !bytes.Contains(data, []byte(reply)) {
			t.Fatalf("the reply %q is not in the input", reply)
		}
	})
}
