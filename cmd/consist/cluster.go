package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"consist/cluster"
	"consist/run/databases"
)

func newClusterCmd(stdout, stderr io.Writer) *cobra.Command {
	var dir string
	var basePort int
	var env bool
	dirFor := func(kind string) string {
		if dir != "" {
			return dir
		}
		return cluster.DefaultDir(kind)
	}
	kindArg := func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError("name one kind of cluster: %s", strings.Join(clusterKinds(), ", "))
		}
		for _, k := range clusterKinds() {
			if args[0] == k {
				return nil
			}
		}
		return usageError("no cluster kind %q: use %s", args[0], strings.Join(clusterKinds(), ", "))
	}
	cmd := &cobra.Command{
		Use:   "cluster up|down|status etcd|redis|mariadb",
		Short: "Start, stop and inspect local clusters of real servers to test under faults",
		Long: `cluster starts real servers as processes on loopback, on ports away from
their usual ones, with their data in a folder of their own:

  etcd     three members: clients on 23791-23793, peers on 23794-23796
  redis    a primary on 6390 and its replica on 6391
  mariadb  one server on 3390, user root without a password, database consist

consist run --target KIND --cluster local tests the cluster that is up (or
starts one for the run) and can kill, pause and partition its members.
Partitions need root: each member then runs under a uid of its own, and
nft rules in a table of consist's own cut its links.`,
		Example: `  consist cluster up etcd
  consist run --target etcd --cluster local --nemesis kill,pause,partition
  consist cluster status etcd
  consist cluster down etcd`,
	}
	up := &cobra.Command{
		Use:   "up KIND",
		Short: "Start a local cluster and wait until it serves",
		Args:  kindArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			port := basePort
			if port == 0 {
				port = cluster.DefaultPorts(args[0])
			}
			start := time.Now()
			c, err := cluster.Up(cmd.Context(), args[0], cluster.Options{Dir: dirFor(args[0]), BasePort: port, Detach: true})
			if err != nil {
				return &exitError{code: exitBad, err: err}
			}
			if env {
				for _, line := range clusterEnv(c) {
					fmt.Fprintf(stdout, "export %s\n", line)
				}
				return nil
			}
			fmt.Fprintf(stdout, "%s cluster up in %s (%v)\n", c.Kind, c.Dir, time.Since(start).Round(time.Millisecond))
			writeMembers(stdout, c.Status(cmd.Context()))
			fmt.Fprintf(stdout, "\ntest it:  consist run --target %s --cluster local --nemesis %s\n", targetOf(c.Kind), clusterFaults(c.Kind))
			fmt.Fprintf(stdout, "stop it:  consist cluster down %s\n", c.Kind)
			return nil
		},
	}
	up.Flags().IntVar(&basePort, "base-port", 0, "first port of the cluster's layout (default: the fixed ports above)")
	up.Flags().BoolVar(&env, "env", false, "print only export lines naming the cluster's addresses (CONSIST_ETCD_ENDPOINTS, ...)")
	down := &cobra.Command{
		Use:   "down KIND",
		Short: "Stop a local cluster, heal its faults and remove its data",
		Args:  kindArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cluster.Load(dirFor(args[0]))
			if err != nil {
				fmt.Fprintf(stderr, "no %s cluster in %s: nothing to stop\n", args[0], dirFor(args[0]))
				return nil
			}
			if err := c.Down(cmd.Context()); err != nil {
				return &exitError{code: exitBad, err: err}
			}
			fmt.Fprintf(stdout, "%s cluster down; %s removed\n", c.Kind, c.Dir)
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status KIND",
		Short: "Say whether each member of a local cluster serves (exit 1 if one does not)",
		Args:  kindArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cluster.Load(dirFor(args[0]))
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			states := c.Status(cmd.Context())
			fmt.Fprintf(stdout, "%s cluster in %s\n", c.Kind, c.Dir)
			writeMembers(stdout, states)
			for _, s := range states {
				if s.Err != nil {
					return &exitError{code: exitInvalid}
				}
			}
			return nil
		},
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "the cluster's folder (default: consist-cluster-KIND in the temporary folder)")
	cmd.AddCommand(up, down, status)
	return cmd
}

func writeMembers(w io.Writer, states []cluster.MemberStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range states {
		state := "serving"
		if s.Err != nil {
			state = s.Err.Error()
		}
		pid := "-"
		if s.Alive {
			pid = fmt.Sprint(s.Member.PID)
		}
		fmt.Fprintf(tw, "  %s\t%s\tpid %s\t%s\n", s.Member.Name, s.Member.Addr, pid, state)
	}
	tw.Flush()
}

// clusterKinds are the kinds of local cluster, in the order of the
// databases that run on them.
func clusterKinds() []string {
	var kinds []string
	for _, d := range databases.All() {
		kinds = append(kinds, d.Cluster)
	}
	return kinds
}

// targetOf names the run target that tests a cluster kind.
func targetOf(kind string) string {
	if d, err := databases.OfCluster(kind); err == nil {
		return d.Name
	}
	return kind
}

// clusterFaults lists the faults a cluster kind takes.
func clusterFaults(kind string) string {
	if d, err := databases.OfCluster(kind); err == nil {
		return d.FaultList()
	}
	return "none"
}

// clusterEnv is the cluster's addresses as the environment variables the
// integration tests read (see internal/servertest).
func clusterEnv(c *cluster.Cluster) []string {
	if d, err := databases.OfCluster(c.Kind); err == nil && d.Env != nil {
		return d.Env(c)
	}
	return nil
}

// runGuard is the body of a run's guardian (cluster.StartGuard starts
// it with cluster.GuardEnv set): it says what it did only if the run died
// without healing its cluster, and returns the exit code.
func runGuard(in io.Reader, ready io.Writer, stderr io.Writer) int {
	report, err := cluster.RunGuard(signalContext(), in, ready)
	if err != nil {
		fmt.Fprintf(stderr, "consist: %v\n", err)
		return exitBad
	}
	if report != "" {
		fmt.Fprintf(stderr, "consist: %s\n", report)
	}
	return exitValid
}
