package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"strings"
)

// nftPath is where Debian's nftables puts nft.
const nftPath = "/usr/sbin/nft"

// firewall holds a cluster's partitions: nft rules in a table of its own,
// on the output hook, dropping the packets a member's uid sends to a cut
// peer's port. Loopback traffic passes the output hook once, so one rule
// per direction cuts a link both ways.
type firewall struct {
	table string
}

// TablePrefix begins the name of every nft table consist creates;
// scripts/servers.sh stop deletes any left behind.
const TablePrefix = "consist_"

func newFirewall(dir string) *firewall {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return &firewall{table: fmt.Sprintf("%s%08x", TablePrefix, h.Sum32())}
}

// rule drops what the process of uid sends to port.
type rule struct{ uid, port int }

// cut replaces the table's rules with rules.
func (f *firewall) cut(ctx context.Context, rules []rule) error {
	var b strings.Builder
	// Declaring the table first makes the delete succeed when it is absent.
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", f.table, f.table)
	fmt.Fprintf(&b, "table inet %s {\n chain out {\n  type filter hook output priority 0; policy accept;\n", f.table)
	for _, r := range rules {
		fmt.Fprintf(&b, "  meta skuid %d tcp dport %d drop\n", r.uid, r.port)
	}
	b.WriteString(" }\n}\n")
	return f.nft(ctx, b.String())
}

// heal deletes the table, restoring every link.
func (f *firewall) heal(ctx context.Context) error {
	if _, err := os.Stat(nftPath); err != nil {
		return nil // without nft no rule can have been added
	}
	if os.Geteuid() != 0 {
		return nil // nor without root
	}
	return f.nft(ctx, fmt.Sprintf("table inet %s\ndelete table inet %s\n", f.table, f.table))
}

func (f *firewall) nft(ctx context.Context, script string) error {
	if os.Geteuid() != 0 {
		return errors.New("partitions need root: consist cuts links with nft rules; run as root, or leave partition out of --nemesis")
	}
	cmd := exec.CommandContext(ctx, nftPath, "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("nft (table inet %s): %w: %s (is nftables installed? scripts/servers.sh install)", f.table, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Partition cuts each pair of members given from each other, in both
// directions, and restores every other link. Clients still reach every
// member.
func (c *Cluster) Partition(ctx context.Context, cuts [][2]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var rules []rule
	for _, cut := range cuts {
		a, err := c.Member(cut[0])
		if err != nil {
			return err
		}
		b, err := c.Member(cut[1])
		if err != nil {
			return err
		}
		if a.UID == 0 || b.UID == 0 {
			return fmt.Errorf("cluster %s: partitions need each member under a uid of its own, which needs root: run as root, or leave partition out of --nemesis", c.Kind)
		}
		rules = append(rules, rule{a.UID, b.PeerPort}, rule{b.UID, a.PeerPort})
	}
	return c.fw.cut(ctx, rules)
}

// Heal restores every link.
func (c *Cluster) Heal(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fw.heal(ctx)
}
