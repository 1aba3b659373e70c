package redis

import (
	"bufio"
	"bytes"
	"consist/internal/clustertest"
	"testing"
)

// TestLocalCluster: the redis layout starts members that all serve, a
// member killed -9 restarts on its data and serves again, and Down stops
// every member and removes the cluster's folder.
func TestLocalCluster(t *testing.T) { clustertest.Lifecycle(t, "redis") }

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
