package redis

import (
	"bufio"
	"consist/cluster"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const redisPath = "/usr/bin/redis-server"

// redisKind is a primary on base and a replica of it on base+1, neither
// persisting anything: a killed primary comes back empty, and its replica
// then empties too. The replica links in about 50 ms (diskless sync with
// no delay). Cutting the two apart stops the replication stream.
var redisKind = &cluster.Layout{
	Kind:     "redis",
	Binaries: []string{redisPath},
	BasePort: 6390,
	Ports:    2,
	Members: func(dir string, base int) []*cluster.Member {
		var ms []*cluster.Member
		for i, name := range []string{"primary", "replica"} {
			port := base + i
			mdir := filepath.Join(dir, name)
			args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
				"--dir", mdir, "--logfile", "", "--repl-diskless-sync-delay", "0", "--protected-mode", "no"}
			if name == "replica" {
				args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(base))
			}
			ms = append(ms, &cluster.Member{Name: name, Addr: cluster.Addr(port), PeerPort: port, UID: cluster.UIDFor(port),
				Path: redisPath, Args: args, Dir: mdir})
		}
		return ms
	},
	Ready: func(ctx context.Context, m *cluster.Member) error {
		if err := redisCommand(ctx, m.Addr, "PING", "+PONG"); err != nil {
			return err
		}
		if m.Name == "replica" {
			return redisCommand(ctx, m.Addr, "INFO replication", "master_link_status:up")
		}
		return nil
	},
}

// redisCommand sends an inline command and checks that the reply holds
// want.
func redisCommand(ctx context.Context, address, command, want string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	} else {
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	}
	if _, err := fmt.Fprintf(conn, "%s\r\n", command); err != nil {
		return err
	}
	reply, err := readReply(bufio.NewReader(io.LimitReader(conn, 2*maxReply)), command)
	if err != nil {
		return err
	}
	if !strings.Contains(reply, want) {
		return fmt.Errorf("%s: no %q in the reply", command, want)
	}
	return nil
}

// maxReply bounds a reply's body: INFO replication takes a few hundred
// bytes.
const maxReply = 1 << 20

// readReply reads one reply to command: a line, or a bulk string's body.
func readReply(r *bufio.Reader, command string) (string, error) {
	first, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(first, "$") { // a simple string or an error
		return first, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(first[1:]))
	if err != nil || n < 0 || n > maxReply {
		return "", fmt.Errorf("%s: unexpected reply %q (is a Redis server listening there?)", command, first)
	}
	body := make([]byte, n+2)
	if _, err := io.ReadFull(r, body); err != nil {
		return "", fmt.Errorf("%s: the reply ends early: %w", command, err)
	}
	return string(body[:n]), nil
}

func init() { cluster.Register(redisKind) }
