package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// testKind is the kind of cluster this package's tests start: three
// Redis servers on their own, each the others' peer, which start in
// milliseconds. The databases' own layouts (adapters/etcd, adapters/redis,
// adapters/mysql) are tested in their packages; these tests are of the
// machinery every layout shares: start, stop, kill, pause, partition,
// repair and the guardian.
const testKind = "test"

const redisServer = "/usr/bin/redis-server"

var testLayout = &Layout{
	Kind:     testKind,
	Binaries: []string{redisServer},
	Ports:    3,
	Members: func(dir string, base int) []*Member {
		var ms []*Member
		for i := range 3 {
			port := base + i
			name := fmt.Sprintf("r%d", i+1)
			mdir := filepath.Join(dir, name)
			args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
				"--dir", mdir, "--logfile", "", "--protected-mode", "no"}
			ms = append(ms, &Member{Name: name, Addr: Addr(port), PeerPort: port, UID: UIDFor(port),
				Path: redisServer, Args: args, Dir: mdir})
		}
		return ms
	},
	Ready: func(ctx context.Context, m *Member) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", m.Addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = time.Now().Add(2 * time.Second)
		}
		_ = conn.SetDeadline(deadline)
		if _, err := fmt.Fprint(conn, "PING\r\n"); err != nil {
			return err
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+PONG") {
			return fmt.Errorf("PING: %q", line)
		}
		return nil
	},
}

func init() { Register(testLayout) }
