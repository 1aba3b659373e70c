package etcd

import (
	"testing"

	"consist/internal/clustertest"
)

// TestLocalCluster: the etcd layout starts members that all serve, a
// member killed -9 restarts on its data and serves again, and Down stops
// every member and removes the cluster's folder.
func TestLocalCluster(t *testing.T) { clustertest.Lifecycle(t, "etcd") }
