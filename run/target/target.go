// Package target describes a real database consist can test: how to
// connect to it, the local cluster that runs it, the faults that cluster
// takes and the workloads it runs. Each database declares one Database in
// its own package (adapters/etcd, adapters/redis, adapters/mysql), and
// package run lists it in one line (run/databases.go); the CLI, the
// matrix and the tests find it there by name.
package target

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"consist/adapters"
	"consist/cluster"
	"consist/nemesis"
)

// Database is a real database consist can test.
type Database struct {
	// Name is the database's name on the command line (--target).
	Name string
	// Summary says what it is, in a few words.
	Summary string
	// Cluster is the kind of local cluster that runs it (see package
	// cluster).
	Cluster string
	// Faults are the faults its local cluster takes; NoFault says why the
	// others are refused.
	Faults  []nemesis.Kind
	NoFault string
	// Workloads are the workloads it runs.
	Workloads []string
	// Settings are the settings only this database takes, each a flag of
	// consist run, e.g. --isolation.
	Settings []Setting
	// Open connects to the database.
	Open func(ctx context.Context, c Conn) (adapters.Store, error)
	// Env is the local cluster c's addresses as the environment variables
	// the integration tests read (see internal/servertest).
	Env func(c *cluster.Cluster) []string
}

// Setting is a setting of one database, given to consist run as
// --Name.
type Setting struct {
	Name, Usage string
	// Default is its value when not given ("true" or "false" for Bool).
	Default string
	// Bool makes it a switch, "true" when given without a value.
	Bool bool
	// Address says it tells where the database is, as a DSN does: a local
	// cluster gives that itself.
	Address bool
	// Redact, if set, returns the value fit to write into run.json (a
	// DSN without its password; "" to leave it out).
	Redact func(value string) string
}

// Conn says how to reach a database.
type Conn struct {
	// Endpoints are its addresses, host:port (when Cluster is nil).
	Endpoints []string
	// Username and Password authenticate, for the databases that take
	// them apart from the DSN.
	Username, Password string
	// Settings are the database's own settings, by name (see
	// Database.Settings), as text ("true" for a switch that is on);
	// a setting missing takes its Default.
	Settings map[string]string
	// Cluster, when set, is the local cluster to test: its addresses
	// replace Endpoints and DSN.
	Cluster *cluster.Cluster
}

// Setting returns the named setting as given, or "".
func (c Conn) Setting(name string) string { return c.Settings[name] }

// Given reports whether an Address setting is set: the database's place
// is given apart from its endpoints.
func (d *Database) Given(c Conn) (string, bool) {
	for _, s := range d.Settings {
		if s.Address && c.Settings[s.Name] != "" {
			return s.Name, true
		}
	}
	return "", false
}

// WithDefaults returns settings with every setting of the database it
// lacks at its Default.
func (d *Database) WithDefaults(settings map[string]string) map[string]string {
	out := make(map[string]string, len(d.Settings))
	for _, s := range d.Settings {
		out[s.Name] = s.Default
		if v, ok := settings[s.Name]; ok {
			out[s.Name] = v
		}
	}
	return out
}

// Addresses returns the addresses to connect to: the local cluster's, or
// Endpoints.
func (c Conn) Addresses() []string {
	if c.Cluster != nil {
		return c.Cluster.Nodes()
	}
	return c.Endpoints
}

// Takes reports whether the database's local cluster takes fault k.
func (d *Database) Takes(k nemesis.Kind) bool { return slices.Contains(d.Faults, k) }

// Runs reports whether the database runs the named workload.
func (d *Database) Runs(workload string) bool { return slices.Contains(d.Workloads, workload) }

// FaultList is the faults the database's cluster takes, comma-separated.
func (d *Database) FaultList() string {
	names := make([]string, len(d.Faults))
	for i, k := range d.Faults {
		names[i] = string(k)
	}
	return strings.Join(names, ",")
}

// Check refuses a database with a missing field.
func (d *Database) Check() error {
	switch {
	case d.Name == "" || d.Cluster == "" || d.Open == nil:
		return fmt.Errorf("target: a database needs a name, a cluster kind and Open (got %q)", d.Name)
	case len(d.Workloads) == 0:
		return fmt.Errorf("target %s: name the workloads it runs", d.Name)
	}
	return nil
}
