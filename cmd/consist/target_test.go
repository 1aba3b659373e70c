package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"consist/cluster"
	"consist/internal/servertest"
)

// TestTargetUsageErrors: faults against a database consist does not run,
// a partition of a lone server, and a workload the targets cannot run are
// refused before anything starts.
func TestTargetUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--target", "etcd", "--endpoints", "127.0.0.1:1", "--nemesis", "kill"}, "add --cluster local"},
		{[]string{"--target", "mysql", "--cluster", "local", "--nemesis", "partition"}, "no peers"},
		{[]string{"--target", "redis", "--workload", "bank"}, "runs the register, counter, set, list-append, rw-register and on-call workloads"},
		{[]string{"--target", "cassandra"}, "use etcd, redis or mysql"},
		{[]string{"--target", "etcd", "--store", "paxos"}, "give one of them"},
		{[]string{"--target", "etcd", "--cluster", "remote"}, "only cluster consist runs is local"},
		{[]string{"--target", "etcd", "--cluster", "local", "--endpoints", "127.0.0.1:1"}, "leave out --endpoints"},
	} {
		code, _, stderr := runCLI(t, append([]string{"run", "--store-dir", t.TempDir()}, tc.args...)...)
		if code != exitBad || !strings.Contains(stderr, tc.want) {
			t.Errorf("run %v: exit %d, %q; want exit 3 saying %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestRunTargetOnLocalCluster: consist cluster up starts Redis, consist
// run --cluster local tests it (killing and pausing members), status
// reports it serving, and down removes it; run.json names the nodes
// tested.
func TestRunTargetOnLocalCluster(t *testing.T) {
	for _, bin := range cluster.Binaries("redis") {
		servertest.Binary(t, bin)
	}
	dir := filepath.Join(cluster.TempDir(t), "redis")
	base, err := cluster.FreePorts(2) // the primary's and the replica's
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(base)
	code, stdout, stderr := runCLI(t, "cluster", "up", "redis", "--dir", dir, "--base-port", port)
	if code != exitValid {
		t.Fatalf("cluster up: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Cleanup(func() { runCLI(t, "cluster", "down", "redis", "--dir", dir) })
	if code, stdout, _ := runCLI(t, "cluster", "status", "redis", "--dir", dir); code != exitValid || strings.Count(stdout, "serving") != 2 {
		t.Fatalf("cluster status: exit %d\n%s", code, stdout)
	}
	storeDir := t.TempDir()
	code, stdout, stderr = runCLI(t, "run", "--target", "redis", "--cluster", "local", "--cluster-dir", dir,
		"--nemesis", "kill,pause", "--nemesis-interval", "200ms", "--duration", "1s", "--store-dir", storeDir)
	if code != exitValid && code != exitInvalid {
		t.Fatalf("run: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "testing the redis cluster in "+dir) || !strings.Contains(stdout, "linearizable") {
		t.Fatalf("run did not test the cluster that was up:\n%s%s", stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(storeDir, "latest", "run.json"))
	if err != nil || !strings.Contains(string(data), `"127.0.0.1:`+port+`"`) {
		t.Fatalf("run.json does not name the primary: %v\n%s", err, data)
	}
	if code, stdout, _ := runCLI(t, "cluster", "down", "redis", "--dir", dir); code != exitValid || !strings.Contains(stdout, "removed") {
		t.Fatalf("cluster down: exit %d\n%s", code, stdout)
	}
	if code, _, _ := runCLI(t, "cluster", "status", "redis", "--dir", dir); code != exitInvalid {
		t.Fatalf("cluster status after down: exit %d, want 1", code)
	}
}
