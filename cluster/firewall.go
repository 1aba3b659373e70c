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
// on the output hook. Members run under uids of their own, so a packet's
// socket owner tells which member sends it; but a member also receives
// over connections it opened to a peer's port (etcd's peers stream raft
// messages back over them, a Redis replica reads the replication stream
// over its own connection), and those packets carry the peer's uid. So
// each connection is marked, in conntrack, with the uid of the member
// that connects to a peer port; a cut between A and B then drops A's
// packets to B's port, and B's packets from its port on connections
// marked as A's — and the same the other way.
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

// cut is one direction of a cut link: the member of uid no longer
// reaches the peer port, nor hears back on connections it opened there.
type cut struct{ uid, port int }

// install replaces the table with one that marks every member's
// connections to peer ports and drops what cuts cut. The marks must be
// in place before a connection opens: a connection first seen during a
// partition would let through what arrives before its opener's next
// packet.
func (f *firewall) install(ctx context.Context, members []*Member, cuts []cut) error {
	var ports []string
	for _, m := range members {
		if m.PeerPort != 0 {
			ports = append(ports, fmt.Sprint(m.PeerPort))
		}
	}
	var b strings.Builder
	// Declaring the table first makes the delete succeed when it is absent.
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", f.table, f.table)
	fmt.Fprintf(&b, "table inet %s {\n chain out {\n  type filter hook output priority 0; policy accept;\n", f.table)
	for _, m := range members {
		if m.UID != 0 && len(ports) > 0 {
			fmt.Fprintf(&b, "  meta skuid %d tcp dport { %s } ct mark set %d\n", m.UID, strings.Join(ports, ", "), m.UID)
		}
	}
	for _, c := range cuts {
		fmt.Fprintf(&b, "  meta skuid %d tcp dport %d counter drop\n", c.uid, c.port)
		fmt.Fprintf(&b, "  ct mark %d tcp sport %d counter drop\n", c.uid, c.port)
	}
	b.WriteString(" }\n}\n")
	return f.nft(ctx, b.String())
}

// remove deletes the table.
func (f *firewall) remove(ctx context.Context) error {
	if !f.usable() {
		return nil // without nft, or root, no table can have been added
	}
	return f.nft(ctx, fmt.Sprintf("table inet %s\ndelete table inet %s\n", f.table, f.table))
}

// usable reports whether nft rules can be set here.
func (f *firewall) usable() bool {
	_, err := os.Stat(nftPath)
	return err == nil && os.Geteuid() == 0
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
func (c *Cluster) Partition(ctx context.Context, pairs [][2]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cuts []cut
	for _, pair := range pairs {
		a, err := c.Member(pair[0])
		if err != nil {
			return err
		}
		b, err := c.Member(pair[1])
		if err != nil {
			return err
		}
		if a.UID == 0 || b.UID == 0 {
			return fmt.Errorf("cluster %s: partitions need each member under a uid of its own, which needs root: run as root, or leave partition out of --nemesis", c.Kind)
		}
		cuts = append(cuts, cut{a.UID, b.PeerPort}, cut{b.UID, a.PeerPort})
	}
	return c.fw.install(ctx, c.Members, cuts)
}

// Heal restores every link.
func (c *Cluster) Heal(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fw.usable() || !c.partitionable() {
		return nil // no partition can have been made
	}
	return c.fw.install(ctx, c.Members, nil)
}
