package etcd

import (
	"slices"

	"consist/cluster"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
)

const etcdPath = "/usr/bin/etcd"

// etcdKind is three members, e1..e3: client ports base..base+2, peer
// ports base+3..base+5. Elections are quick (50 ms heartbeats, 500 ms
// election timeout) and pre-vote keeps a healed member from deposing the
// leader.
var etcdKind = &cluster.Layout{
	Kind:     "etcd",
	Binaries: []string{etcdPath},
	BasePort: 23791,
	Ports:    6,
	Members: func(dir string, base int) []*cluster.Member {
		const n = 3
		var initial []string
		for i := range n {
			initial = append(initial, fmt.Sprintf("e%d=http://%s", i+1, cluster.Addr(base+n+i)))
		}
		var ms []*cluster.Member
		for i := range n {
			name := fmt.Sprintf("e%d", i+1)
			client, peer := base+i, base+n+i
			mdir := filepath.Join(dir, name)
			args := []string{"--name", name, "--data-dir", filepath.Join(mdir, "data"),
				"--listen-client-urls", "http://" + cluster.Addr(client), "--advertise-client-urls", "http://" + cluster.Addr(client),
				"--listen-peer-urls", "http://" + cluster.Addr(peer), "--initial-advertise-peer-urls", "http://" + cluster.Addr(peer),
				"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-token", fmt.Sprintf("consist-%d", base),
				"--initial-cluster-state", "new",
				"--heartbeat-interval", "50", "--election-timeout", "500", "--pre-vote",
				"--logger", "zap", "--log-level", "warn"}
			restart := slices.Clone(args)
			for j, a := range restart {
				if a == "new" && restart[j-1] == "--initial-cluster-state" {
					restart[j] = "existing"
				}
			}
			ms = append(ms, &cluster.Member{Name: name, Addr: cluster.Addr(client), PeerPort: peer, UID: cluster.UIDFor(client),
				Path: etcdPath, Args: args, RestartArgs: restart, Dir: mdir})
		}
		return ms
	},
	Ready: func(ctx context.Context, m *cluster.Member) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.Addr+"/health", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
			return fmt.Errorf("unhealthy: %s %s", resp.Status, strings.TrimSpace(string(body)))
		}
		return nil
	},
}

func init() { cluster.Register(etcdKind) }
